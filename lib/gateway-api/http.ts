// Request parsing and response helpers for the gateway API: bounded body reads, content-type
// checks, and the two error shapes (RFC 6749 for the token endpoint, `{error:{code,message,
// requestId}}` elsewhere). No framework types: handlers take an ApiRequest and answer a Reply,
// which server.ts builds from and writes to node:http directly (a web Request and Response cost
// more than the rest of a resolve's request handling); fromWebRequest/toWebResponse serve the
// same handlers under Next.js and in tests.
import { isUtf8 } from "node:buffer";
import { AppError, retryAfterFor, toAppError } from "@/lib/errors";
import type { HeaderReader } from "@/lib/http-edge/raw-headers";
import { retryAfterOf } from "@/lib/rate-limit/limited";

export const MAX_BODY_BYTES = 64 * 1024;

export const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" } as const;

/** One gateway API request, as much of it as the handlers read. */
export interface ApiRequest {
  readonly method: string;
  /** The request target: path and query, e.g. `/api/v1/elicitations/eli_x?wait=5`. */
  readonly target: string;
  /** Repeated headers joined with ", ", as web Headers does (lib/http-edge/raw-headers.ts). */
  readonly headers: HeaderReader;
  /** The body, read up to one byte past MAX_BODY_BYTES; null without one (GET). */
  readonly body: Buffer | null;
  /** More than MAX_BODY_BYTES was sent (the body holds the first MAX_BODY_BYTES + 1). */
  readonly truncated: boolean;
  /** Aborted when the client goes away (long-polls stop waiting). */
  readonly signal: AbortSignal;
}

/** A gateway API answer: written as is (plus security headers) by server.ts, or by toWebResponse. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer | null;
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Reply {
  return { status, headers: { "Content-Type": "application/json", ...NO_STORE, ...headers }, body: JSON.stringify(body) };
}

/** A web Request as an ApiRequest: the body read with the same bound server.ts applies. */
export async function fromWebRequest(req: Request): Promise<ApiRequest> {
  const url = new URL(req.url);
  let body: Buffer | null = null;
  let truncated = false;
  if (req.body) {
    const reader = req.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
      if (size > MAX_BODY_BYTES) {
        truncated = true;
        await reader.cancel().catch(() => undefined);
        break;
      }
    }
    body = Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES + 1);
  }
  return { method: req.method, target: `${url.pathname}${url.search}`, headers: req.headers, body, truncated, signal: req.signal };
}

export function toWebResponse(reply: Reply): Response {
  const body = typeof reply.body === "string" || reply.body === null ? reply.body : new Uint8Array(reply.body);
  return new Response(body, { status: reply.status, headers: reply.headers });
}

function mediaType(req: ApiRequest): string {
  return (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
}

/** The body as text, refusing anything over `limit` bytes (by declared length or as read). */
export function readBodyText(req: ApiRequest, limit = MAX_BODY_BYTES): string {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (Number.isFinite(declared) && declared > limit) throw new AppError("payload_too_large", `Body larger than ${limit} bytes`);
  if (!req.body) return "";
  if (req.truncated || req.body.length > limit) throw new AppError("payload_too_large", `Body larger than ${limit} bytes`);
  if (!isUtf8(req.body)) throw new AppError("invalid_body", "Body is not valid UTF-8");
  // A leading byte order mark is dropped, as TextDecoder does.
  const bom = req.body[0] === 0xef && req.body[1] === 0xbb && req.body[2] === 0xbf ? 3 : 0;
  return req.body.toString("utf8", bom);
}

/** application/x-www-form-urlencoded body as ordered pairs (repeats preserved). */
export function readForm(req: ApiRequest): URLSearchParams {
  if (mediaType(req) !== "application/x-www-form-urlencoded") {
    throw new AppError("unsupported_media_type", "Content-Type must be application/x-www-form-urlencoded");
  }
  const text = readBodyText(req);
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

export function readJson(req: ApiRequest): unknown {
  if (mediaType(req) !== "application/json") throw new AppError("unsupported_media_type", "Content-Type must be application/json");
  const text = readBodyText(req);
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
export function apiError(error: unknown, requestId: string): Reply {
  // A database outage becomes service_unavailable here; other unknown errors internal_error.
  const e = toAppError(error);
  const headers: Record<string, string> = {};
  if (e.code === "invalid_client") headers["WWW-Authenticate"] = 'Basic realm="frontdesk", charset="UTF-8"';
  const retryAfter = retryAfterFor(e.code);
  if (retryAfter) headers["Retry-After"] = retryAfter;
  if (e.code === "rate_limited") headers["Retry-After"] = retryAfterOf(e);
  return json({ error: { code: e.code, message: e.message, requestId } }, e.status, headers);
}
