// The in-process wake-up of the delivery worker, kept apart from the worker so that modules
// writing events (grants, elicitations, notices) need not import the senders. On globalThis for
// the dev server only: `next dev` (Turbopack) gives instrumentation, route handlers and server
// actions each their own copy of lib/ and re-evaluates modules on edits; a production build has
// one copy per process (scripts/lib-modules.mjs), where this is a plain module variable in effect.
const holder = globalThis as typeof globalThis & { __frontdeskOutboxWake?: () => void };

/** After a commit that wrote outbox events: deliver them now (no-op without a running worker). */
export function wakeOutbox(): void {
  holder.__frontdeskOutboxWake?.();
}

export function setOutboxWaker(wake: (() => void) | undefined): void {
  holder.__frontdeskOutboxWake = wake;
}
