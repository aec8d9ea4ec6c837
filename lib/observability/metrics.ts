// Prometheus metrics (prom-client), one registry per process: the gateway API and the portal
// count into the same series (one copy of lib/ per process, scripts/lib-modules.mjs). Labels are closed sets (route names, error codes, outcome
// kinds, provider slugs, pool names): never ids, users or anything a caller chooses freely.
// Served by lib/observability/metrics-server.ts, which is off unless configured.
import client from "prom-client";
import { withSpan } from "./tracing";

export interface PoolStats {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

interface Metrics {
  registry: client.Registry;
  requests: client.Counter<"route" | "decision" | "status">;
  requestDuration: client.Histogram<"route" | "decision">;
  refreshes: client.Counter<"provider" | "outcome">;
  refreshDuration: client.Histogram<"provider">;
  upstreamDuration: client.Histogram<"provider" | "operation" | "result">;
  elicitations: client.Counter<"event">;
  auditQueueDepth: client.Gauge;
  auditCommitDuration: client.Histogram<"result">;
  auditBatchEvents: client.Histogram;
  rateLimitRejections: client.Counter<"limit">;
  pools: Map<string, () => PoolStats>;
  auditQueue: { depth: () => number };
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function createMetrics(): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: "frontdesk_" });
  const pools = new Map<string, () => PoolStats>();
  const auditQueue = { depth: () => 0 };
  const m: Metrics = {
    registry,
    pools,
    auditQueue,
    requests: new client.Counter({
      name: "frontdesk_gateway_requests_total",
      help: "Gateway API requests by route, decision (allow, elicitation, or the error code) and HTTP status",
      labelNames: ["route", "decision", "status"],
      registers: [registry],
    }),
    requestDuration: new client.Histogram({
      name: "frontdesk_gateway_request_duration_seconds",
      help: "Gateway API request latency by route and decision",
      labelNames: ["route", "decision"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    refreshes: new client.Counter({
      name: "frontdesk_refresh_total",
      help: "Token refresh attempts by provider and outcome (refreshed, not_needed, needs_reauth, upstream_failed, gone, refreshed_unaudited, error)",
      labelNames: ["provider", "outcome"],
      registers: [registry],
    }),
    refreshDuration: new client.Histogram({
      name: "frontdesk_refresh_duration_seconds",
      help: "Time for one refresh flight (lock, upstream call, store, audit) by provider",
      labelNames: ["provider"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    upstreamDuration: new client.Histogram({
      name: "frontdesk_upstream_request_duration_seconds",
      help: "Calls to providers' token endpoints by provider, operation (refresh, code_exchange, id_jag_redeem) and result (ok, error)",
      labelNames: ["provider", "operation", "result"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    elicitations: new client.Counter({
      name: "frontdesk_elicitations_total",
      help: "Elicitation lifecycle events (created, completed, declined, failed, expired)",
      labelNames: ["event"],
      registers: [registry],
    }),
    auditQueueDepth: new client.Gauge({
      name: "frontdesk_audit_queue_events",
      help: "Audit events waiting in the group-commit queue",
      registers: [registry],
      collect() {
        this.set(auditQueue.depth());
      },
    }),
    auditCommitDuration: new client.Histogram({
      name: "frontdesk_audit_commit_duration_seconds",
      help: "Group-commit batch latency (one transaction) by result (ok, error)",
      labelNames: ["result"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    auditBatchEvents: new client.Histogram({
      name: "frontdesk_audit_batch_events",
      help: "Events per group-commit batch",
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers: [registry],
    }),
    rateLimitRejections: new client.Counter({
      name: "frontdesk_rate_limit_rejections_total",
      help: "Requests refused by a rate limit, by limit name",
      labelNames: ["limit"],
      registers: [registry],
    }),
  };
  new client.Gauge({
    name: "frontdesk_db_pool_connections",
    help: "Database pool connections by pool and state (total, idle, waiting clients)",
    labelNames: ["pool", "state"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [pool, read] of pools) {
        const s = read();
        this.set({ pool, state: "total" }, s.totalCount);
        this.set({ pool, state: "idle" }, s.idleCount);
        this.set({ pool, state: "waiting" }, s.waitingCount);
      }
    },
  });
  return m;
}

let registry: Metrics | undefined;

export function metrics(): Metrics {
  registry ??= createMetrics();
  return registry;
}

/** The text exposition of every metric (what /metrics serves). */
export function renderMetrics(): Promise<string> {
  return metrics().registry.metrics();
}

export const METRICS_CONTENT_TYPE = client.Registry.PROMETHEUS_CONTENT_TYPE;

/** Exposes a pg pool's connection counts as frontdesk_db_pool_connections{pool=name}. */
export function registerPool(name: string, pool: PoolStats): void {
  metrics().pools.set(name, () => ({ totalCount: pool.totalCount, idleCount: pool.idleCount, waitingCount: pool.waitingCount }));
}

/** Lets the audit group commit report its queue depth at scrape time. */
export function registerAuditQueue(depth: () => number): void {
  metrics().auditQueue.depth = depth;
}

export function recordGatewayRequest(route: string, decision: string, status: number, seconds: number): void {
  const m = metrics();
  m.requests.inc({ route, decision, status: String(status) });
  m.requestDuration.observe({ route, decision }, seconds);
}

export function recordElicitation(event: "created" | "completed" | "declined" | "failed" | "expired"): void {
  metrics().elicitations.inc({ event });
}

/** The hook lib/rate-limit calls when it refuses a request. */
export function recordRateLimitRejection(limit: string): void {
  metrics().rateLimitRejections.inc({ limit });
}

export function recordAuditBatch(events: number, seconds: number, ok: boolean): void {
  const m = metrics();
  m.auditCommitDuration.observe({ result: ok ? "ok" : "error" }, seconds);
  if (ok) m.auditBatchEvents.observe(events);
}

/** Times one refresh flight and counts its outcome (`outcomeOf` names the result's kind). */
export async function observeRefresh<T>(provider: string, flight: Promise<T>, outcomeOf: (result: T) => string): Promise<T> {
  const m = metrics();
  const end = m.refreshDuration.startTimer({ provider });
  try {
    const result = await flight;
    m.refreshes.inc({ provider, outcome: outcomeOf(result) });
    return result;
  } catch (e) {
    m.refreshes.inc({ provider, outcome: "error" });
    throw e;
  } finally {
    end();
  }
}

/** Times one call to a provider's token endpoint (a metric and an `upstream.<operation>` span). */
export function timeUpstream<T>(provider: string, operation: "refresh" | "code_exchange" | "id_jag_redeem", call: () => Promise<T>): Promise<T> {
  return withSpan(`upstream.${operation}`, { "frontdesk.provider": provider }, async () => {
    const end = metrics().upstreamDuration.startTimer({ provider, operation });
    try {
      const result = await call();
      end({ result: "ok" });
      return result;
    } catch (e) {
      end({ result: "error" });
      throw e;
    }
  });
}
