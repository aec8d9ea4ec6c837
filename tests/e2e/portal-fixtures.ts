// Runs portal-fixtures-cli.ts in a child process with a Frontdesk environment (see fixture-process.ts).
import path from "node:path";
import { runFixture } from "../helpers/fixture-process";

export function fixture<T = Record<string, unknown>>(env: Record<string, string>, command: string, input: Record<string, unknown> = {}): Promise<T> {
  return runFixture<T>(path.join("tests", "e2e", "portal-fixtures-cli.ts"), env, command, input);
}
