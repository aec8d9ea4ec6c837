// What every request must satisfy before any handler (gateway API or Next.js) sees it. One
// function, framework-free, run by server.ts on every request. Each rule closes a class of
// failure that otherwise ended as a 500, a reset or a redirect to a foreign host:
//  - TRACE / TRACK echo the request (cookies included) and are never used here; CONNECT is a
//    proxy method (server.ts answers it from the `connect` event, see respond.ts);
//  - exactly one Host header, of valid syntax (Node keeps the first of two, a proxy may use the
//    other: the request would be routed and authorised under different names);
//  - the request target is origin-form ("/path?query"), "*" for OPTIONS (answered here with the
//    allowed methods, RFC 9110 9.3.7: Next.js answered it with 500), or absolute-form naming
//    this same host, which RFC 9112 3.2.2 requires a server to accept: it is rewritten to
//    origin-form. An absolute target naming another host is refused (Next.js answered it with a
//    308 to that host: an open redirect);
//  - the path's percent-escapes are well formed and decode to UTF-8 without control characters
//    (Next.js's route matcher threw URIError -> 500 on `/connect/%ZZ`);
//  - an /api/auth/* callbackUrl that next-auth would answer with 500 (auth-input.ts);
//  - a possible server action (Next.js treats a POST with a Next-Action header, or any
//    multipart/form-data POST to a page, as one): same-origin (Next.js refuses a cross-origin one
//    correctly but as a 500, and throws on an unparsable Origin), a body in one of the two
//    encodings Next's client sends actions in (multipart for forms; text/plain for an action
//    called without form data, such as Sign out; the actions check their own arguments),
//    a declared length (chunked bodies would pass the size check below) within Next's 1 MB
//    action limit (over it, Next answers 500).
import { httpStatus, type ErrorCode } from "@/lib/errors";
import { hasUnusableAuthCallbackUrl } from "./auth-input";

export interface EdgeRejection {
  status: number;
  code: ErrorCode;
  message: string;
  headers?: Record<string, string>;
}

export interface EdgeRequest {
  method: string;
  url: string;
  /** Node's rawHeaders: [name, value, name, value, ...] as received. */
  rawHeaders: string[];
}

/** `serverOptions`: `OPTIONS *`, a question about the server as a whole, answered at the edge. */
export type EdgeVerdict = { ok: true; url: string } | { ok: false; rejection: EdgeRejection } | { ok: false; serverOptions: true };

/** Next.js's default serverActions.bodySizeLimit (next.config.ts does not change it). */
export const SERVER_ACTION_MAX_BODY_BYTES = 1024 * 1024;

export const ALLOWED_METHODS = "GET, HEAD, POST, OPTIONS";
const REFUSED_METHODS = new Set(["TRACE", "TRACK", "CONNECT"]);

// RFC 3986 host (IP-literal, IPv4 or reg-name without percent-encoding) and optional port.
const HOST = /^(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9._~-]{1,253})(?::\d{1,5})?$/;
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)([^#]*)$/;
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function reject(code: ErrorCode, message: string, headers?: Record<string, string>): EdgeVerdict {
  return { ok: false, rejection: { status: httpStatus(code), code, message, headers } };
}

function headerValues(rawHeaders: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) out.push(rawHeaders[i + 1]!);
  return out;
}

function isValidPath(path: string): boolean {
  if (!path.includes("%")) return true;
  if (BAD_ESCAPE.test(path)) return false;
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return false; // not UTF-8
  }
  return !CONTROL.test(decoded);
}

/** The origin Next.js compares a server action's Origin with: X-Forwarded-Host's first value, else Host. */
function actionHost(rawHeaders: string[], host: string): string {
  const forwarded = headerValues(rawHeaders, "x-forwarded-host")[0]?.split(",")[0]?.trim();
  return forwarded || host;
}

function checkServerAction(req: EdgeRequest, path: string, host: string): EdgeVerdict | null {
  if (req.method !== "POST" || path.startsWith("/api/") || path.startsWith("/oauth/")) return null;
  const contentType = (headerValues(req.rawHeaders, "content-type")[0] ?? "").trim().toLowerCase();
  const isMultipart = contentType.startsWith("multipart/form-data");
  const isFetchAction = headerValues(req.rawHeaders, "next-action").length > 0;
  const isActionEncoding = isMultipart || (isFetchAction && contentType.startsWith("text/plain"));
  if (!isMultipart && !isFetchAction) return null;

  const origin = headerValues(req.rawHeaders, "origin");
  if (origin.length > 1) return reject("invalid_request", "Exactly one Origin header is allowed");
  if (origin.length === 1) {
    let originHost: string | null = null;
    try {
      originHost = new URL(origin[0]!).host;
    } catch {
      // "null" (sandboxed or privacy-sensitive contexts) and garbage are not this origin.
    }
    if (originHost !== actionHost(req.rawHeaders, host)) return reject("forbidden", "Cross-origin form submissions are refused");
  }
  if (!isActionEncoding) return reject("unsupported_media_type", "Forms must be sent as multipart/form-data");
  const length = headerValues(req.rawHeaders, "content-length");
  if (length.length !== 1) return reject("length_required", "A form submission needs a Content-Length");
  if (Number(length[0]) > SERVER_ACTION_MAX_BODY_BYTES) {
    return reject("payload_too_large", `Form submissions are limited to ${SERVER_ACTION_MAX_BODY_BYTES} bytes`);
  }
  return null;
}

export function checkRequestEdge(req: EdgeRequest): EdgeVerdict {
  const method = req.method.toUpperCase();
  if (REFUSED_METHODS.has(method)) return reject("method_not_allowed", `${method} is not supported`, { Allow: ALLOWED_METHODS });

  const hosts = headerValues(req.rawHeaders, "host");
  if (hosts.length > 1) return reject("invalid_request", "Exactly one Host header is allowed");
  const host = hosts[0]?.trim() ?? "";
  if (hosts.length === 1 && !HOST.test(host)) return reject("invalid_request", "The Host header is malformed");

  let url = req.url;
  if (url === "*") {
    return method === "OPTIONS" ? { ok: false, serverOptions: true } : reject("invalid_request", "The request target * is only for OPTIONS");
  }
  if (!url.startsWith("/")) {
    const absolute = ABSOLUTE_FORM.exec(url);
    if (!absolute) return reject("invalid_request", "The request target is malformed");
    if (absolute[1]!.toLowerCase() !== host.toLowerCase()) return reject("invalid_request", "The request target names another host");
    url = absolute[2] || "/";
    if (!url.startsWith("/")) url = `/${url}`;
  }
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  if (!isValidPath(path)) return reject("invalid_request", "The request path has a malformed percent-escape");
  if (q !== -1 && hasUnusableAuthCallbackUrl(path, url.slice(q + 1))) {
    return reject("invalid_request", "callbackUrl must be an http(s) URL or a path on this site");
  }

  return checkServerAction(req, path, host) ?? { ok: true, url };
}
