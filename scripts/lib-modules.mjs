// Which of lib/'s modules run as compiled JavaScript (dist/lib, built by scripts/build-server.mjs)
// and which Next.js bundles. One copy of each lib module per process: the production server
// (dist/server.js) imports dist/lib, and Next's server bundle requires the same files instead of
// bundling its own copies (next.config.ts, webpack `externals`). Node loads each file once, so
// both share one database client, one keyring, one audit queue, one set of long-poll waiters.
//
// Next bundles only the modules that need Next.js itself: those importing next/*, next-auth or
// react (request headers, redirects, React's per-request cache), and every lib module importing
// one of those. They hold no process state.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

const NEXT_ONLY_PACKAGE = /^(next|next-auth|react|react-dom)(\/|$)/;
// `import type` / `export type` are erased by the compilers, so they do not count.
const IMPORT_SPECIFIER = /(?:^|[\s;])(?:import|export)\s(?!type\s)[^"';]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

// The CLI's entry script runs main() when it is the process's script (import.meta.url): it is
// compiled as dist/cli.js only, never as a shared module.
const ENTRY_SCRIPTS = ["lib/cli/main.ts"];

/** Every TypeScript module under lib/ (absolute paths), the generated Prisma client included. */
export function libSources(root) {
  const out = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(path);
    }
  };
  walk(join(root, "lib"));
  const scripts = new Set(ENTRY_SCRIPTS.map((file) => join(root, file)));
  return out.filter((file) => !scripts.has(file)).sort();
}

export function resolveLibImport(root, fromFile, specifier) {
  let target;
  if (specifier.startsWith("@/")) target = join(root, specifier.slice(2));
  else if (specifier.startsWith(".")) target = resolve(dirname(fromFile), specifier);
  else return null;
  for (const candidate of [target, `${target}.ts`, join(target, "index.ts")]) {
    if (candidate.endsWith(".ts") && candidate.startsWith(join(root, "lib") + sep)) {
      try {
        readFileSync(candidate);
        return candidate;
      } catch {
        // not this candidate
      }
    }
  }
  return null;
}

/** The lib modules Next.js must bundle (absolute paths): they need Next itself, directly or through an import. */
export function nextOnlyLibModules(root) {
  const sources = libSources(root);
  const importers = new Map(sources.map((file) => [file, new Set()]));
  const nextOnly = new Set(ENTRY_SCRIPTS.map((file) => join(root, file)));
  for (const file of sources) {
    for (const match of readFileSync(file, "utf8").matchAll(IMPORT_SPECIFIER)) {
      const specifier = match[1] ?? match[2];
      if (NEXT_ONLY_PACKAGE.test(specifier)) nextOnly.add(file);
      const target = resolveLibImport(root, file, specifier);
      if (target) importers.get(target)?.add(file);
    }
  }
  const queue = [...nextOnly];
  while (queue.length > 0) {
    for (const importer of importers.get(queue.pop()) ?? []) {
      if (!nextOnly.has(importer)) {
        nextOnly.add(importer);
        queue.push(importer);
      }
    }
  }
  return nextOnly;
}

/** The package name under which Next's server bundle requires dist/lib (a symlink in its distDir). */
export const LIB_PACKAGE = "@frontdesk/lib";

/** `lib/a/b.ts` -> `@frontdesk/lib/a/b.js`: what the bundle requires, resolved through `<distDir>/node_modules`. */
export function externalRequest(root, file) {
  return `${LIB_PACKAGE}/${relative(join(root, "lib"), file).split(sep).join("/").replace(/\.ts$/, ".js")}`;
}
