// The admin CLI's command registry. A command module calls defineCommand() at import time;
// lib/cli/main.ts imports each module with one line. Handlers return their result instead of
// printing or exiting, so tests call them directly and runCli decides how to render.

export type OptionSpec = { type: "string" | "boolean"; description: string; placeholder?: string };

export interface CommandContext {
  /** Positional arguments after the command words. */
  args: string[];
  /** Parsed options (names as declared, without dashes). */
  options: Record<string, string | boolean | undefined>;
  /** `--json`: the handler's `data` is printed as JSON instead of `text`. */
  json: boolean;
}

export interface CommandResult {
  /** 0 success, 1 failure (the operation ran and found a problem). 2 is reserved for usage errors. */
  exitCode: number;
  /** Human-readable output (stdout). */
  text: string;
  /** Machine-readable output (stdout with --json). */
  data: unknown;
  /** Extra guidance for humans, printed on stderr so stdout stays scriptable. */
  note?: string;
}

export interface CliCommand {
  /** Command words, e.g. ["keys", "rotate"]. */
  path: string[];
  summary: string;
  /** Positional arguments, for help (e.g. "<slug>"); without it the command takes none. */
  args?: { usage: string; min: number; max: number };
  options?: Record<string, OptionSpec>;
  /** Longer explanation shown by `<command> --help`. */
  description?: string;
  run(ctx: CommandContext): Promise<CommandResult>;
}

/** Bad command line: printed with a hint to --help, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const commands = new Map<string, CliCommand>();

export function defineCommand(command: CliCommand): CliCommand {
  const key = command.path.join(" ");
  if (command.path.length === 0 || command.path.some((w) => !/^[a-z][a-z0-9-]*$/.test(w))) {
    throw new Error(`invalid command name "${key}"`);
  }
  if (commands.has(key)) throw new Error(`command "${key}" is defined twice`);
  for (const name of Object.keys(command.options ?? {})) {
    if (name === "json" || name === "help") throw new Error(`command "${key}" may not redefine --${name}`);
  }
  commands.set(key, command);
  return command;
}

export function listCommands(): CliCommand[] {
  return [...commands.values()].sort((a, b) => a.path.join(" ").localeCompare(b.path.join(" ")));
}

/** The command whose words are the longest prefix of `words`. */
export function findCommand(words: string[]): CliCommand | undefined {
  for (let n = words.length; n > 0; n--) {
    const found = commands.get(words.slice(0, n).join(" "));
    if (found) return found;
  }
  return undefined;
}
