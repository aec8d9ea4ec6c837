// Compiles what production runs outside Next.js into plain JavaScript (ES modules, Node 20):
//   dist/server.js  the production server (server.ts)
//   dist/cli.js     the admin CLI, including the migrator (`node dist/cli.js db migrate`)
//   dist/launch.js  `npm start`: the compiled server, or the demo launcher
// Frontdesk's own code (lib/, server.ts, next.config.ts, the generated Prisma client) is bundled;
// packages stay in node_modules (imports left as they are), so the result needs only the
// production dependencies next to it. Runs before `next build` in `npm run build`: Next's page-data
// collection already requires dist/lib (next.config.ts), so a clean tree cannot build the other way round.
import { rm } from "node:fs/promises";
import { relative } from "node:path";
import { build } from "esbuild";
import { libSources } from "./lib-modules.mjs";

// Every lib module is an entry (dist/lib/<path>.js): Next's server bundle requires them by path
// (next.config.ts), and code shared between entries lives in shared chunks, so the server and
// Next's routes run the same module instances.
const libEntries = Object.fromEntries(libSources(process.cwd()).map((file) => [relative(process.cwd(), file).replace(/\.ts$/, ""), file]));

await rm("dist", { recursive: true, force: true });
await build({
  entryPoints: { server: "server.ts", cli: "lib/cli/main.ts", launch: "launch.ts", ...libEntries },
  outdir: "dist",
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  tsconfig: "tsconfig.json",
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
  // Some bundled code (and packages it loads through it) calls require(); ESM has none.
  banner: { js: 'import { createRequire as __frontdeskRequire } from "node:module"; const require = __frontdeskRequire(import.meta.url);' },
});
