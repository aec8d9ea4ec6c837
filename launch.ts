// `npm start` after the build (compiled to dist/launch.js). A configured installation (an
// identity provider or a database set, FRONTDESK_DEMO not true) runs the compiled production
// server in this very process: plain node, no tsx, signals straight to the server. Otherwise it
// runs the demo launcher (demo/start.ts, through tsx: the demo is a development convenience and
// stays TypeScript).
import { spawn } from "node:child_process";
import { EnvError, isDemoLaunch, parseEnv } from "@/lib/env";

function runDemo(): void {
  const child = spawn(process.execPath, ["--import", "tsx", "demo/start.ts"], { stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
  child.once("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

let demo: boolean;
try {
  demo = isDemoLaunch(parseEnv(process.env));
} catch (e) {
  process.stderr.write(`Frontdesk cannot start: ${e instanceof EnvError ? e.message : String(e)}\n`);
  process.exit(1);
}
// A computed specifier: the server stays its own bundle (dist/server.js), loaded only here.
if (demo) runDemo();
else await import(new URL("./server.js", import.meta.url).href);
