// The metrics endpoint: its own node:http listener, off unless FRONTDESK_METRICS_PORT is set, so
// /metrics is never reachable on the public port. It binds FRONTDESK_METRICS_HOST (127.0.0.1 by
// default); when it must listen more widely (a container scraped by Prometheus), set
// FRONTDESK_METRICS_TOKEN and the scraper sends it as a bearer token (compared in constant time).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { constantTimeEqual } from "@/lib/crypto/hash";
import { env } from "@/lib/env";
import { log } from "@/lib/log";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics";

export interface MetricsServerOptions {
  host: string;
  port: number;
  token?: string;
}

export function startMetricsServer(opts: MetricsServerOptions): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" || path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    if (opts.token) {
      const header = req.headers.authorization ?? "";
      const presented = header.startsWith("Bearer ") ? header.slice(7) : "";
      if (!constantTimeEqual(presented, opts.token)) {
        res.writeHead(401, { "content-type": "text/plain", "www-authenticate": 'Bearer realm="metrics"' }).end("unauthorized\n");
        return;
      }
    }
    renderMetrics().then(
      (text) => res.writeHead(200, { "content-type": METRICS_CONTENT_TYPE, "cache-control": "no-store" }).end(text),
      () => res.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n"),
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      const address = server.address() as AddressInfo;
      log.info("metrics listening", { host: address.address, port: address.port, bearer: Boolean(opts.token) });
      resolve(server);
    });
  });
}

/** Starts the metrics listener when configured; null when metrics are off. */
export async function startConfiguredMetricsServer(): Promise<Server | null> {
  const e = env();
  if (e.FRONTDESK_METRICS_PORT === undefined) return null;
  // Metrics name providers and show traffic: beyond loopback they need the bearer token.
  const loopback = ["127.0.0.1", "::1", "localhost"].includes(e.FRONTDESK_METRICS_HOST);
  if (!loopback && !e.FRONTDESK_METRICS_TOKEN) {
    throw new Error("FRONTDESK_METRICS_HOST is not a loopback address: set FRONTDESK_METRICS_TOKEN too");
  }
  return startMetricsServer({ host: e.FRONTDESK_METRICS_HOST, port: e.FRONTDESK_METRICS_PORT, token: e.FRONTDESK_METRICS_TOKEN });
}
