// Liveness and readiness for load balancers and orchestrators (HAProxy health checks, Kubernetes
// probes). Live: the process is up and its event loop answers (no dependency is consulted, so a
// database outage never gets the process restarted). Ready: send it traffic: the database
// answers, every committed migration is applied, the key-encryption keys are loaded, and no
// shutdown has begun. Bodies name the failing check, never hosts, URLs or error text.
import { isKeyringLoaded } from "@/lib/crypto/keyring";
import { getDb } from "@/lib/db/client";
import { getHotPool } from "@/lib/db/hot-pool";
import { committedMigrationNames } from "@/lib/db/migrate";
import { log } from "@/lib/log";
import { isShuttingDown } from "./lifecycle";

const CHECK_TIMEOUT_MS = 2_000;

export interface Readiness {
  ready: boolean;
  checks: {
    database: "ok" | "unreachable";
    migrations: "current" | "pending" | "unknown";
    keys: "loaded" | "not_loaded";
    shutdown: "no" | "draining";
  };
}

let committed: Promise<string[]> | undefined;

function withTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("readiness check timed out")), CHECK_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Applied migration names; the query doubles as the database reachability check. */
async function appliedMigrations(): Promise<string[]> {
  const sql = `SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;
  const pool = getHotPool();
  if (pool) return (await pool.query<{ migration_name: string }>(sql)).rows.map((r) => r.migration_name);
  const db = await getDb();
  return (await db.$queryRawUnsafe<{ migration_name: string }[]>(sql)).map((r) => r.migration_name);
}

export async function checkReadiness(): Promise<Readiness> {
  const checks: Readiness["checks"] = {
    database: "unreachable",
    migrations: "unknown",
    keys: isKeyringLoaded() ? "loaded" : "not_loaded",
    shutdown: isShuttingDown() ? "draining" : "no",
  };
  try {
    committed ??= committedMigrationNames().catch((e: unknown) => {
      committed = undefined;
      throw e;
    });
    const [applied, names] = await withTimeout(Promise.all([appliedMigrations(), committed]));
    checks.database = "ok";
    const done = new Set(applied);
    // More applied than this build knows is fine (a newer instance migrated during a roll).
    checks.migrations = names.every((n) => done.has(n)) ? "current" : "pending";
  } catch (e) {
    log.warn("readiness check failed", { error: e instanceof Error ? e.name : "unknown" });
  }
  const ready = checks.database === "ok" && checks.migrations === "current" && checks.keys === "loaded" && checks.shutdown === "no";
  return { ready, checks };
}

const NO_STORE = { "Content-Type": "application/json", "Cache-Control": "no-store" };

// GET /api/health/live
export function handleLive(): Response {
  return new Response(JSON.stringify({ status: "ok" }), { status: 200, headers: NO_STORE });
}

// GET /api/health/ready
export async function handleReady(): Promise<Response> {
  const { ready, checks } = await checkReadiness();
  return new Response(JSON.stringify({ status: ready ? "ready" : "not_ready", ...checks }), {
    status: ready ? 200 : 503,
    headers: { ...NO_STORE, ...(ready ? {} : { "Retry-After": "1" }) },
  });
}
