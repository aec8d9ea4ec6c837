// Test fixtures that use lib/ (seeding, reading sealed rows) run in a child process with the
// Frontdesk server's environment, so lib/ singletons (parsed env, database client, keyring)
// never leak from one spec file into the next inside one Playwright worker.
//   parent:  await runFixture<T>("tests/helpers/x-cli.ts", env, "command", { ...input })
//   child:   serveFixtureCommands({ command: async (input) => result })   prints one JSON line
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";

export type FixtureInput = Record<string, unknown>;
export type FixtureCommands = Record<string, (input: FixtureInput) => Promise<unknown>>;

const run = promisify(execFile);

export async function runFixture<T>(
  script: string,
  env: Record<string, string>,
  command: string,
  input: FixtureInput = {},
  opts: { timeoutMs?: number } = {},
): Promise<T> {
  const { stdout } = await run(path.join("node_modules", ".bin", "tsx"), [script, command, JSON.stringify(input)], {
    env: { ...process.env, NODE_ENV: "test", LOG_LEVEL: "warn", ...env },
    maxBuffer: 256 * 1024 * 1024,
    timeout: opts.timeoutMs ?? 60_000,
  });
  return JSON.parse(stdout.trim().split("\n").pop() ?? "null") as T;
}

export function serveFixtureCommands(commands: FixtureCommands): void {
  const [name, raw] = process.argv.slice(2);
  const command = name ? commands[name] : undefined;
  const main = async () => {
    if (!command) throw new Error(`unknown fixture command ${name}`);
    const result = await command(raw ? (JSON.parse(raw) as FixtureInput) : {});
    process.stdout.write(`${JSON.stringify(result, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}\n`);
  };
  main()
    .catch((e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
      process.exitCode = 1;
    })
    // Imported lazily so that this module itself never reads configuration.
    .finally(async () => (await import("@/lib/db/client")).closeDb());
}
