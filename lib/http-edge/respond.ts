// Answers at the HTTP edge without resetting the connection. A client still sending its body
// when the server answers and closes sees a reset instead of the answer (about a third of
// clients did, for the gateway API's 413 on a 5 MB body): so the answer is written first, the
// rest of the body is read and discarded (bounded in bytes and time), and only then is the
// connection closed. Used for edge rejections and for the gateway API's oversized bodies.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { newId } from "@/lib/ids";
import { ALLOWED_METHODS, type EdgeRejection } from "./check-request";

/** How much of an unwanted body is read and discarded so that the client sees the answer. */
export const DRAIN_MAX_BYTES = 16 * 1024 * 1024;
export const DRAIN_MAX_MS = 10_000;

const BASE_HEADERS = { "Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" };

export function rejectionBody(rejection: EdgeRejection, requestId = newId("req")): string {
  return JSON.stringify({ error: { code: rejection.code, message: rejection.message, requestId } });
}

/**
 * Writes the whole response, then discards the rest of the request body before ending it (and,
 * with Connection: close, the connection). A body beyond DRAIN_MAX_BYTES or DRAIN_MAX_MS is cut
 * off: that client has been answered and is sending what it was told is refused.
 */
export function sendThenDrain(req: IncomingMessage, res: ServerResponse, status: number, headers: [string, string][], body: Buffer): void {
  for (const [key, value] of headers) res.setHeader(key, value);
  res.setHeader("Content-Length", body.length);
  res.setHeader("Connection", "close");
  res.shouldKeepAlive = false;
  res.writeHead(status);
  res.write(body);
  if (req.readableEnded || req.destroyed) {
    res.end();
    return;
  }
  let drained = 0;
  const timer = setTimeout(() => res.destroy(), DRAIN_MAX_MS);
  timer.unref();
  const done = () => {
    clearTimeout(timer);
    req.off("data", onData);
    if (!res.writableEnded) res.end();
  };
  const onData = (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_MAX_BYTES) {
      clearTimeout(timer);
      res.destroy();
    }
  };
  req.on("data", onData);
  req.once("end", done);
  req.once("error", done);
  req.resume();
}

/** An edge rejection on a live request: structured JSON body, the given security headers. */
export function sendRejection(req: IncomingMessage, res: ServerResponse, rejection: EdgeRejection, securityHeaders: [string, string][]): void {
  const headers: [string, string][] = [...securityHeaders, ...Object.entries(BASE_HEADERS), ...Object.entries(rejection.headers ?? {})];
  sendThenDrain(req, res, rejection.status, headers, Buffer.from(rejectionBody(rejection)));
}

/** `OPTIONS *` (RFC 9110 9.3.7): the methods this server supports, no content. */
export function sendServerOptions(req: IncomingMessage, res: ServerResponse, securityHeaders: [string, string][]): void {
  sendThenDrain(req, res, 200, [...securityHeaders, ["Allow", ALLOWED_METHODS], ["Cache-Control", "no-store"]], Buffer.alloc(0));
}

const REASONS: Record<number, string> = { 400: "Bad Request", 405: "Method Not Allowed", 408: "Request Timeout", 431: "Request Header Fields Too Large" };

/**
 * An answer written straight to the socket, where Node gives no response object: a CONNECT
 * request (the `connect` event; without a listener Node destroys the socket) or a request Node's
 * parser refused (the `clientError` event; Node's own answer has no body).
 */
export function writeRawRejection(socket: Duplex, rejection: EdgeRejection): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = rejectionBody(rejection);
  const head = [
    `HTTP/1.1 ${rejection.status} ${REASONS[rejection.status] ?? "Error"}`,
    ...Object.entries({ ...BASE_HEADERS, ...(rejection.headers ?? {}) }).map(([k, v]) => `${k}: ${v}`),
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Connection: close",
  ];
  socket.end(`${head.join("\r\n")}\r\n\r\n${body}`);
}
