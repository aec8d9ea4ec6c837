// Process start-up checks shared by the web server and the CLI.
import { env } from "@/lib/env";
import { getAuthSecret } from "@/lib/auth/auth-secret";
import { ensureKeyring } from "@/lib/crypto/keyring";
import { getDb, isEmbedded } from "@/lib/db/client";
import { log } from "@/lib/log";
import { startRefreshRecovery } from "@/lib/grants/refresh-recovery";
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
