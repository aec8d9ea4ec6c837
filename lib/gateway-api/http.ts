// Request parsing and response helpers for the gateway API: bounded body reads, content-type
// checks, and the two error shapes (RFC 6749 for the token endpoint, `{error:{code,message,
// requestId}}` elsewhere). No framework types, so a plain node:http server can use them too.
import { AppError } from "@/lib/errors";

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
  return new URLSearchParams(await readBodyText(req));
}

export async function readJson(req: Request): Promise<unknown> {
  if (mediaType(req) !== "application/json") throw new AppError("unsupported_media_type", "Content-Type must be application/json");
  const text = await readBodyText(req);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AppError("invalid_body", "Body is not valid JSON");
  }
}

/** Message and status for an API error; unknown errors never show internals. */
export function apiError(e: unknown, requestId: string): Response {
  if (e instanceof AppError) {
    const headers: Record<string, string> = {};
    if (e.code === "invalid_client") headers["WWW-Authenticate"] = 'Basic realm="frontdesk", charset="UTF-8"';
    if (e.code === "upstream_unavailable") headers["Retry-After"] = "5";
    return json({ error: { code: e.code, message: e.message, requestId } }, e.status, headers);
  }
  return json({ error: { code: "internal_error", message: "Internal error", requestId } }, 500);
}
