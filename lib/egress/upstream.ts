// One upstream HTTP exchange for the egress proxy, on a connection to the address the SSRF guard
// pinned (lib/egress/address-guard.ts): node:http/https with the IP as the connect target and
// the registered hostname kept for Host, TLS SNI and the certificate check. Redirects are never
// followed (node:http does not), bodies stream both ways with backpressure, and silence longer
// than the timeout ends the exchange.
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import { AppError } from "@/lib/errors";
import type { PinnedAddress } from "./address-guard";

// Keep-alive pools. A pooled socket is keyed by the pinned IP, port and TLS servername, so a
// connection is only ever reused for the same pinned address it was opened to.
const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: "lifo" }),
  https: new https.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: "lifo" }),
};

/** Longest one exchange may take in total, however steadily the upstream trickles. */
export const MAX_EXCHANGE_MS = 10 * 60_000;

export interface UpstreamCall {
  url: URL;
  pinned: PinnedAddress;
  method: string;
  headers: Record<string, string>;
  /** Buffered (retryable) or streamed body; null for none. */
  body: Uint8Array | ReadableStream<Uint8Array> | null;
  maxRequestBytes: number;
  /** Longest silence, waiting for headers or between body chunks. */
  idleTimeoutMs: number;
  signal: AbortSignal;
}

export interface UpstreamExchange {
  response: IncomingMessage;
  /** Request body bytes sent so far (final once the response has ended). */
  bytesSent: () => number;
}

function failure(e: unknown, what: string): AppError {
  if (e instanceof AppError) return e;
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const reason = code ?? (e instanceof Error ? e.name : "unknown");
  return new AppError("upstream_unavailable", `The provider's API ${what} (${reason}); retry later`, { egress: "upstream_failed", reason });
}

async function writeStreamed(req: http.ClientRequest, body: ReadableStream<Uint8Array>, max: number, count: (n: number) => void): Promise<void> {
  const reader = body.getReader();
  let sent = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      sent += value.byteLength;
      count(value.byteLength);
      if (sent > max) throw new AppError("payload_too_large", `Request body larger than ${max} bytes`);
      if (!req.write(value)) await new Promise<void>((resolve) => {
        const done = () => {
          req.off("drain", done);
          req.off("close", done);
          resolve();
        };
        req.once("drain", done);
        req.once("close", done);
      });
      if (req.destroyed) return;
    }
    req.end();
  } catch (e) {
    await reader.cancel().catch(() => undefined);
    req.destroy(e instanceof Error ? e : new Error("request body failed"));
    throw e;
  }
}

/** Sends the request; resolves with the upstream's response head (the body streams from it). */
export function callUpstream(call: UpstreamCall): Promise<UpstreamExchange> {
  const isHttps = call.url.protocol === "https:";
  const bareHost = call.url.hostname.replace(/^\[|\]$/g, "");
  let sent = 0;
  return new Promise<UpstreamExchange>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (!settled) {
        settled = true;
        fn();
      }
    };
    const req = (isHttps ? https : http).request({
      host: call.pinned.address,
      family: call.pinned.family,
      port: call.url.port || (isHttps ? 443 : 80),
      method: call.method,
      path: `${call.url.pathname}${call.url.search}`,
      headers: { ...call.headers, host: call.url.host },
      agent: isHttps ? agents.https : agents.http,
      // SNI and the certificate check are for the registered name, not the pinned IP.
      ...(isHttps && !isIP(bareHost) ? { servername: bareHost } : {}),
      signal: call.signal,
    });
    const deadline = setTimeout(() => req.destroy(new AppError("upstream_unavailable", "The provider's API took too long; retry later", { egress: "upstream_timeout" })), MAX_EXCHANGE_MS);
    deadline.unref();
    req.setTimeout(call.idleTimeoutMs, () =>
      req.destroy(new AppError("upstream_unavailable", "The provider's API did not answer in time; retry later", { egress: "upstream_timeout" })),
    );
    req.once("close", () => clearTimeout(deadline));
    req.once("error", (e) => settle(() => reject(failure(e, "could not be reached"))));
    req.once("response", (response) => {
      // The same idle limit while the body streams.
      response.once("error", () => undefined);
      settle(() => resolve({ response, bytesSent: () => sent }));
    });
    const body = call.body;
    if (body === null) req.end();
    else if (body instanceof Uint8Array) {
      sent = body.byteLength;
      req.end(body);
    } else {
      writeStreamed(req, body, call.maxRequestBytes, (n) => (sent += n)).catch((e: unknown) => settle(() => reject(failure(e, "request failed"))));
    }
  });
}
