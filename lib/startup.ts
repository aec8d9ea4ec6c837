// Process start-up checks shared by the web server and the CLI, and what a server process
// hands on before it exits.
import { flushFailureWindows } from "@/lib/audit/failure-windows";
import { env } from "@/lib/env";
import { getAuthSecret } from "@/lib/auth/auth-secret";
import { ensureKeyring } from "@/lib/crypto/keyring";
import { getDb, isEmbedded } from "@/lib/db/client";
import { log } from "@/lib/log";
import { startRefreshRecovery } from "@/lib/grants/refresh-recovery";
import { stopTracing } from "@/lib/observability/tracing";
import { startOutboxWorker } from "@/lib/outbox/worker";

// server.ts and Next's instrumentation hook both call this in one process; the checks run once.
let started: Promise<void> | undefined;

export function startFrontdesk(): Promise<void> {
  started ??= runStartupChecks();
  return started;
}

async function runStartupChecks(): Promise<void> {
  try {
    env();
    // Keys before the database: without a usable key-encryption key nothing may be stored.
    const keyring = await ensureKeyring();
    // Sessions and CSRF tokens depend on it; a replica without it must not come up half-working.
    getAuthSecret();
    await getDb();
    log.info("frontdesk started", { database: isEmbedded() ? "embedded" : "postgresql", kekVersion: keyring.activeVersion });
  } catch (e) {
    // Fail closed: a process that cannot read its configuration or keys must not serve.
    process.stderr.write(`Frontdesk cannot start: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}

/**
 * Work a serving process does besides answering requests: the outbox delivery worker (gateway
 * webhooks, revocation events, user notices) and the recovery of interrupted token refreshes.
 * Server processes only (Next's instrumentation hook, which also runs inside server.ts); the CLI
 * never delivers. Idempotent per process.
 */
export function startBackgroundWork(): void {
  startOutboxWorker();
  startRefreshRecovery();
}

/** The longest a drained process waits for what it still holds before it exits anyway. */
const EXIT_FLUSH_TIMEOUT_MS = 5_000;

/**
 * What a drained server process hands on before it exits: the failure counts added in memory
 * since the last flush (lib/audit/failure-windows.ts) and the spans the batch processor has not
 * exported yet. Every response is out by then, and each one's audit was committed before it, so
 * nothing else is held. Bounded: an unreachable database or collector cannot keep the process.
 */
export async function flushBeforeExit(): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, EXIT_FLUSH_TIMEOUT_MS)));
  const flushed = Promise.allSettled([flushFailureWindows(), stopTracing()]).then((results) => {
    for (const r of results) if (r.status === "rejected") log.warn("flush before exit failed", { error: r.reason instanceof Error ? r.reason.message : "unknown" });
  });
  await Promise.race([flushed, bound]);
  clearTimeout(timer);
}
