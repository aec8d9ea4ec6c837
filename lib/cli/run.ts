// Command-line parsing, help and rendering for the admin CLI. runCli never prints or exits:
// it returns the exit code and both output streams, so tests assert on them directly.
// Exit codes: 0 success, 1 the command ran and failed (or configuration is bad), 2 usage error.
import { parseArgs } from "node:util";
import { KeySpecError } from "@/lib/crypto/key-spec";
import { EnvError } from "@/lib/env";
import { findCommand, listCommands, UsageError, type CliCommand, type CommandContext } from "./registry";

export interface CliOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

const INVOCATION = "npm run frontdesk --";

function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}

function line(text: string): string {
  return text === "" || text.endsWith("\n") ? text : `${text}\n`;
}

function table(rows: [string, string][]): string {
  const width = Math.max(0, ...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`).join("\n");
}

export function renderHelp(prefix: string[] = []): string {
  const shown = listCommands().filter((c) => prefix.every((w, i) => c.path[i] === w));
  return [
    "Frontdesk admin CLI",
    "",
    `Usage: ${INVOCATION} ${prefix.length ? prefix.join(" ") + " " : ""}<command> [options]`,
    "",
    "Commands:",
    table(shown.map((c) => [c.path.join(" "), c.summary])),
    "",
    "Global options:",
    table([
      ["--json", "machine-readable output on stdout (errors as JSON on stderr)"],
      ["-h, --help", "show help; `<command> --help` shows a command's options"],
    ]),
    "",
    "Exit codes: 0 success, 1 failure or bad configuration, 2 bad command line.",
    "",
  ].join("\n");
}

export function renderCommandHelp(command: CliCommand): string {
  const options = Object.entries(command.options ?? {}).map(([name, spec]): [string, string] => [
    `--${name}${spec.type === "string" ? ` <${spec.placeholder ?? "value"}>` : ""}`,
    spec.description,
  ]);
  options.push(["--json", "machine-readable output"]);
  return [
    `Usage: ${INVOCATION} ${command.path.join(" ")}${command.args ? ` ${command.args.usage}` : ""}${options.length > 1 ? " [options]" : ""}`,
    "",
    command.summary,
    ...(command.description ? ["", command.description] : []),
    "",
    "Options:",
    table(options),
    "",
  ].join("\n");
}

function splitGlobalFlags(argv: string[]): { rest: string[]; json: boolean; help: boolean } {
  const rest: string[] = [];
  let json = false;
  let help = false;
  let passthrough = false;
  for (const arg of argv) {
    if (passthrough) rest.push(arg);
    else if (arg === "--") {
      passthrough = true;
      rest.push(arg);
    } else if (arg === "--json") json = true;
    else if (arg === "--help" || arg === "-h") help = true;
    else rest.push(arg);
  }
  return { rest, json, help };
}

function errorOutput(json: boolean, exitCode: number, code: string, message: string, hint?: string): CliOutput {
  const stderr = json ? toJson({ error: { code, message } }) : `frontdesk: ${message}${hint ? `\n${hint}` : ""}`;
  return { exitCode, stdout: "", stderr: line(stderr) };
}

export async function runCli(argv: string[]): Promise<CliOutput> {
  const { rest, json, help } = splitGlobalFlags(argv);
  let words: string[] = [];
  for (const arg of rest) {
    if (arg.startsWith("-")) break;
    words.push(arg);
  }
  if (words[0] === "help") {
    words = words.slice(1);
    if (words.length === 0) return { exitCode: 0, stdout: renderHelp(), stderr: "" };
    const command = findCommand(words);
    if (command && command.path.length === words.length) return { exitCode: 0, stdout: renderCommandHelp(command), stderr: "" };
    if (listCommands().some((c) => words.every((w, i) => c.path[i] === w))) return { exitCode: 0, stdout: renderHelp(words), stderr: "" };
    return errorOutput(json, 2, "usage_error", `unknown command "${words.join(" ")}"`, `Run: ${INVOCATION} --help`);
  }
  if (words.length === 0) {
    if (help) return { exitCode: 0, stdout: renderHelp(), stderr: "" };
    const unexpected = rest[0];
    return errorOutput(
      json,
      2,
      "usage_error",
      unexpected ? `expected a command before ${unexpected}` : "missing command",
      renderHelp().trimEnd(),
    );
  }

  const command = findCommand(words);
  if (!command) {
    const isGroup = listCommands().some((c) => words.every((w, i) => c.path[i] === w));
    if (isGroup && help) return { exitCode: 0, stdout: renderHelp(words), stderr: "" };
    if (isGroup) return errorOutput(json, 2, "usage_error", `"${words.join(" ")}" needs a subcommand`, renderHelp(words).trimEnd());
    return errorOutput(json, 2, "usage_error", `unknown command "${words.join(" ")}"`, `Run: ${INVOCATION} --help`);
  }
  if (help) return { exitCode: 0, stdout: renderCommandHelp(command), stderr: "" };

  const hint = `Run: ${INVOCATION} ${command.path.join(" ")} --help`;
  let ctx: CommandContext;
  try {
    ctx = parseCommandLine(command, rest.slice(command.path.length), json);
  } catch (e) {
    return errorOutput(json, 2, "usage_error", e instanceof Error ? e.message : String(e), hint);
  }

  try {
    const result = await command.run(ctx);
    return {
      exitCode: result.exitCode,
      stdout: line(json ? toJson(result.data) : result.text),
      stderr: !json && result.note ? line(result.note) : "",
    };
  } catch (e) {
    if (e instanceof UsageError) return errorOutput(json, 2, "usage_error", e.message, hint);
    if (e instanceof EnvError || e instanceof KeySpecError) {
      return errorOutput(json, 1, "config_error", `configuration error: ${e.message}`);
    }
    // Operators see the message (ours never carry secrets), not a stack trace.
    return errorOutput(json, 1, "failed", `${command.path.join(" ")} failed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function parseCommandLine(command: CliCommand, tokens: string[], json: boolean): CommandContext {
  const specs = command.options ?? {};
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: tokens,
      options: Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, { type: spec.type }])),
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    // Node's messages are precise ("Unknown option '--x'", "Option '--y <value>' argument missing");
    // keep their first sentence only.
    throw new UsageError((e instanceof Error ? e.message : String(e)).split(". ")[0] ?? "invalid arguments");
  }
  const args = parsed.positionals;
  const min = command.args?.min ?? 0;
  const max = command.args?.max ?? 0;
  if (args.length > max) throw new UsageError(`unexpected argument "${args[max]}"`);
  if (args.length < min) throw new UsageError(`missing argument ${command.args?.usage ?? ""}`.trim());
  return { args, options: parsed.values as CommandContext["options"], json };
}
