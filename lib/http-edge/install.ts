// Wires the edge checks into a node:http server (server.ts): every request passes
// checkRequestEdge before any handler, and loses tampered next-auth cookies (auth-input.ts);
// CONNECT and requests Node's parser refuses get a structured answer instead of a destroyed
// socket or a bodiless 400.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { dropTamperedAuthCookies } from "./auth-input";
import { ALLOWED_METHODS, checkRequestEdge } from "./check-request";
import { stampClientAddress } from "./client-address";
import { sendRejection, sendServerOptions, writeRawRejection } from "./respond";

/**
 * Runs the edge checks on one request. Returns true when the request was answered here (the
 * caller must not handle it further); otherwise the request may have had its target rewritten
 * to origin-form, and carries its client address (client-address.ts).
 */
export function rejectAtEdge(req: IncomingMessage, res: ServerResponse, securityHeaders: [string, string][]): boolean {
  const verdict = checkRequestEdge({ method: req.method ?? "GET", url: req.url ?? "/", rawHeaders: req.rawHeaders });
  if (verdict.ok) {
    req.url = verdict.url;
    stampClientAddress(req);
    dropTamperedCookies(req);
    return false;
  }
  if ("serverOptions" in verdict) sendServerOptions(req, res, securityHeaders);
  else sendRejection(req, res, verdict.rejection, securityHeaders);
  return true;
}

/** Rewrites the Cookie header (both views Node keeps of it) when next-auth cookies had to be dropped. */
function dropTamperedCookies(req: IncomingMessage): void {
  const cookie = req.headers.cookie;
  const kept = cookie === undefined ? null : dropTamperedAuthCookies(cookie);
  if (kept === null) return;
  const raw: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() !== "cookie") raw.push(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  }
  if (kept === "") delete req.headers.cookie;
  else {
    req.headers.cookie = kept;
    raw.push("Cookie", kept);
  }
  req.rawHeaders.splice(0, req.rawHeaders.length, ...raw);
}

function onConnect(_req: IncomingMessage, socket: Duplex): void {
  writeRawRejection(socket, { status: 405, code: "method_not_allowed", message: "CONNECT is not supported", headers: { Allow: ALLOWED_METHODS } });
}

function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
  const message = status === 431 ? "Request headers are too large" : status === 408 ? "The request took too long" : "The request is not valid HTTP";
  writeRawRejection(socket, { status, code: status === 408 ? "request_timeout" : "invalid_request", message });
}

export function installEdgeListeners(server: Server): void {
  server.on("connect", onConnect);
  server.on("clientError", onClientError);
}
