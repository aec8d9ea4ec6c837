// Frontdesk admin CLI: `npm run frontdesk -- <command> [options]` (`--help` lists commands).
// Each command module registers itself; add a module with one import line below.
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import "./commands/agent";
import "./commands/audit";
import "./commands/db";
import "./commands/gateway";
import "./commands/keys";
import "./commands/policy";
import "./commands/provider";
import { runCli } from "./run";

export { runCli } from "./run";

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const out = await runCli(process.argv.slice(2));
  process.stdout.write(out.stdout);
  process.stderr.write(out.stderr);
  // Set the code rather than exit(): exit() can cut off output still queued for a pipe.
  process.exitCode = out.exitCode;
  // Commands may have opened the database; close it so the process can end.
  const { closeDb } = await import("@/lib/db/client");
  await closeDb();
}

if (isEntryPoint()) {
  main().catch((e: unknown) => {
    process.stderr.write(`frontdesk: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
