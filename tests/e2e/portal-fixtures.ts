// Runs portal-fixtures-cli.ts in a child process with a Frontdesk environment (see there why).
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export async function fixture<T = Record<string, unknown>>(env: Record<string, string>, command: string, input: Record<string, unknown> = {}): Promise<T> {
  const { stdout } = await run(
    path.join("node_modules", ".bin", "tsx"),
    [path.join("tests", "e2e", "portal-fixtures-cli.ts"), command, JSON.stringify(input)],
    { env: { ...process.env, NODE_ENV: "test", LOG_LEVEL: "warn", ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
  );
  const last = stdout.trim().split("\n").pop() ?? "null";
  return JSON.parse(last) as T;
}
