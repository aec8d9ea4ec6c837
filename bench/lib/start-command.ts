// How `npm start` starts the server once the build is current: the last command of package.json's
// "start" script (after `node scripts/build-if-changed.mjs &&`). The benchmark runs that very
// command through sh (its `exec` leaves one node process, as under npm), so the instances run with
// the node options that ship (the heap limit among them: docs/operations.md "Memory") and their
// RSS is what a deployment sees. A script of another shape stops the run instead of being guessed at.
import { readFileSync } from "node:fs";

export function productionStartCommand(packageJson = "package.json"): string {
  const start = (JSON.parse(readFileSync(packageJson, "utf8")) as { scripts?: Record<string, string> }).scripts?.start ?? "";
  const last = start.split("&&").pop()!.trim();
  if (!/\bexec node\b.*\bdist\/launch\.js$/.test(last)) {
    throw new Error(`package.json "start" does not end in "exec node ... dist/launch.js" (got: ${start}); update bench/lib/start-command.ts`);
  }
  return last;
}

/**
 * `sh -c` arguments that run the start command with `args` appended (passed as "$@", not re-parsed).
 * `nodeFlags` go on node's own command line, for flags NODE_OPTIONS refuses (--cpu-prof).
 */
export function startCommandArgs(args: string[], opts: { packageJson?: string; nodeFlags?: string[] } = {}): string[] {
  const command = productionStartCommand(opts.packageJson).replace(/\bexec node\b/, ["exec node", ...(opts.nodeFlags ?? [])].join(" "));
  return ["-c", `${command} "$@"`, "sh", ...args];
}
