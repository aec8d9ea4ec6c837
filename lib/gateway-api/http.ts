// Request parsing and response helpers for the gateway API: bounded body reads, content-type
// checks, and the two error shapes (RFC 6749 for the token endpoint, `{error:{code,message,
// requestId}}` elsewhere). No framework types, so a plain node:http server can use them too.
import { AppError, retryAfterFor, toAppError } from "@/lib/errors";
import { retryAfterOf } from "@/lib/rate-limit/limited";

export const MAX_BODY_BYTES = 64 * 1024;

export const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" } as const;

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...NO_STORE, ...headers },
  });
}

function mediaType(req: Request): string {
  return (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
}

/** Reads the body as text, refusing anything over `limit` bytes without buffering it all. */
export async function readBodyText(req: Request, limit = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (Number.isFinite(declared) && declared > limit) throw new AppError("payload_too_large", `Body larger than ${limit} bytes`);
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new AppError("payload_too_large", `Body larger than ${limit} bytes`);
    }
    chunks.push(value);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new AppError("invalid_body", "Body is not valid UTF-8");
  }
}

/** application/x-www-form-urlencoded body as ordered pairs (repeats preserved). */
export async function readForm(req: Request): Promise<URLSearchParams> {
  if (mediaType(req) !== "application/x-www-form-urlencoded") {
    throw new AppError("unsupported_media_type", "Content-Type must be application/x-www-form-urlencoded");
  }
  const text = await readBodyText(req);
  const form = new URLSearchParams(text);
  // PostgreSQL text cannot hold NUL: a parameter carrying one would fail its query as a 500.
  // URLSearchParams decodes invalid UTF-8 to U+FFFD, so NUL is the only unstorable character.
  if (text.includes("\0") || text.includes("%00")) {
    for (const [k, v] of form) if (k.includes("\0") || v.includes("\0")) throw new AppError("invalid_body", "Body contains a NUL character");
  }
  return form;
}

/** Whether a parsed JSON value holds a string (or key) PostgreSQL text cannot store: NUL or a lone surrogate. */
function hasUnstorableText(value: unknown, depth = 0): boolean {
  if (typeof value === "string") return value.includes("\0") || !value.isWellFormed();
  if (value === null || typeof value !== "object" || depth > 64) return false;
  for (const [k, v] of Object.entries(value)) if (hasUnstorableText(k) || hasUnstorableText(v, depth + 1)) return true;
  return false;
}

export async function readJson(req: Request): Promise<unknown> {
  if (mediaType(req) !== "application/json") throw new AppError("unsupported_media_type", "Content-Type must be application/json");
  const text = await readBodyText(req);
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    throw new AppError("invalid_body", "Body is not valid JSON");
  }
  // Valid UTF-8 JSON can carry NUL or a lone surrogate only through a \u escape; either would
  // fail a PostgreSQL query later as a 500, so it is bad input here (no cost without escapes).
  if (text.includes("\\u") && hasUnstorableText(value)) throw new AppError("invalid_body", "Body contains a NUL or an unpaired surrogate");
  return value;
}

/** Message and status for an API error; unknown errors never show internals. */
export function apiError(error: unknown, requestId: string): Response {
  // A database outage becomes service_unavailable here; other unknown errors internal_error.
  const e = toAppError(error);
  const headers: Record<string, string> = {};
  if (e.code === "invalid_client") headers["WWW-Authenticate"] = 'Basic realm="frontdesk", charset="UTF-8"';
  const retryAfter = retryAfterFor(e.code);
  if (retryAfter) headers["Retry-After"] = retryAfter;
  if (e.code === "rate_limited") headers["Retry-After"] = retryAfterOf(e);
  return json({ error: { code: e.code, message: e.message, requestId } }, e.status, headers);
}
