// Structured JSON logs through pino. Only ids and outcomes are logged; two layers keep secrets
// out by construction, so a careless call cannot leak a token:
//   1. every field whose name suggests a secret is replaced, at any depth (SECRET_KEY);
//   2. pino's `redact` paths censor the well-known carriers (authorization and cookie headers,
//      set-cookie) wherever a request or response object ends up in a field.
// Lines inside a gateway request carry its `requestId` (lib/observability/request-context).
// Output goes through process.stdout / process.stderr (warn and error to stderr), so whatever
// captures those streams (tests, supervisors) sees every line.
import pino, { type Logger } from "pino";
import { env } from "@/lib/env";
import { currentRequest } from "@/lib/observability/request-context";

type Level = "debug" | "info" | "warn" | "error";
type Fields = Record<string, unknown>;

const SECRET_KEY = /token|secret|password|authorization|cookie|assertion|code|key|verifier|state/i;
export const REDACTED = "[redacted]";

/** Known places a secret travels when someone logs a whole request or response. */
export const REDACT_PATHS = [
  "headers.authorization",
  "headers.cookie",
  'headers["set-cookie"]',
  "*.headers.authorization",
  "*.headers.cookie",
  '*.headers["set-cookie"]',
];

/** Whether a field name suggests a secret (logs redact it; traces drop it). */
export function isSecretFieldName(name: string): boolean {
  return SECRET_KEY.test(name);
}

export function redactFields(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object") return value;
  // Deeper than anyone logs on purpose: drop it rather than walk an arbitrary object graph.
  if (depth > 4) return "[truncated]";
  if (Array.isArray(value)) return value.map((v) => redactFields(v, depth + 1));
  if (value instanceof Error) return { name: value.name, message: value.message };
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, isSecretFieldName(k) ? REDACTED : redactFields(v, depth + 1)]),
  );
}

function configuredLevel(): Level | "silent" {
  try {
    return env().LOG_LEVEL;
  } catch {
    // Configuration errors are reported by whoever parses env; logging must still work.
    return "info";
  }
}

/** A pino logger writing JSON lines to the given streams (tests pass their own). */
export function createLogger(level: Level | "silent", out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactFields(object) as Record<string, unknown>,
      },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      mixin: () => {
        const request = currentRequest();
        return request ? { requestId: request.requestId } : {};
      },
    },
    pino.multistream(
      [
        { level: "debug", stream: out },
        { level: "warn", stream: err },
      ],
      { dedupe: true },
    ),
  );
}

let logger: Logger | undefined;
let loggerLevel: string | undefined;

function current(): Logger {
  // The level is read at each call (tests and the CLI change LOG_LEVEL after start-up).
  const level = configuredLevel();
  if (!logger || loggerLevel !== level) {
    logger = createLogger(level);
    loggerLevel = level;
  }
  return logger;
}

function write(level: Level, msg: string, fields?: Fields) {
  current()[level](fields ?? {}, msg);
}

export const log = {
  debug: (msg: string, fields?: Fields) => write("debug", msg, fields),
  info: (msg: string, fields?: Fields) => write("info", msg, fields),
  warn: (msg: string, fields?: Fields) => write("warn", msg, fields),
  error: (msg: string, fields?: Fields) => write("error", msg, fields),
};
