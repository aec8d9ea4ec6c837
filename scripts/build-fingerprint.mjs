// The fingerprint of what `npm run build` reads (see build-if-changed.mjs).
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

// Never read by `next build` or scripts/build-server.mjs (tsconfig.build.json excludes tests and
// bench), or written by the build itself (the Prisma client, Next's type stub).
const ignoredPaths = new Set([
  "node_modules", ".git", "dist", ".data", "tests", "bench", "docs", "deploy", "test-results", "playwright-report",
  "lib/generated", "next-env.d.ts",
]);

function* inputFiles(root, dir) {
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (ignoredPaths.has(path) || (!dir && entry.name.startsWith(".next"))) continue;
      yield* inputFiles(root, path);
    } else if (entry.isFile() && !ignoredPaths.has(path) && !entry.name.endsWith(".md") && !entry.name.endsWith(".tsbuildinfo")) {
      yield path;
    }
  }
}

/** SHA-256 over every build input under `root` and the build-time environment. */
export function buildFingerprint(root, env) {
  const hash = createHash("sha256");
  for (const path of inputFiles(root, "")) hash.update(`${path}\0`).update(readFileSync(join(root, path))).update("\0");
  for (const name of Object.keys(env).filter((n) => n.startsWith("NEXT_PUBLIC_") || n === "NODE_ENV").sort()) {
    hash.update(`env:${name}=${env[name]}\0`);
  }
  return hash.digest("hex");
}

