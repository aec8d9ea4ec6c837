// The in-process wake-up of the delivery worker, kept apart from the worker so that modules
// writing events (grants, elicitations, notices) need not import the senders. On globalThis:
// lib/ is loaded twice in the server process (tsx for server.ts, Next's bundle).
const holder = globalThis as typeof globalThis & { __frontdeskOutboxWake?: () => void };

/** After a commit that wrote outbox events: deliver them now (no-op without a running worker). */
export function wakeOutbox(): void {
  holder.__frontdeskOutboxWake?.();
}

export function setOutboxWaker(wake: (() => void) | undefined): void {
  holder.__frontdeskOutboxWake = wake;
}
