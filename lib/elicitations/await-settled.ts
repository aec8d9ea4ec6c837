// Waiting, bounded, for an elicitation to leave `pending`: the status long-poll (interface E)
// and the retry of an MCP 2026-07-28 call (a requestState) both wait here, on the same wake-up
// machinery (lib/gateways/elicitation-watch.ts: in-process wake-ups plus the shared database
// poll, so a completion on any instance ends the wait).
import { waitForElicitationChange } from "@/lib/gateways/elicitation-watch";
import { isShuttingDown } from "@/lib/health/lifecycle";
import { getElicitation } from "./read";

interface Watched {
  status: string;
  expiresAt: Date;
}

/**
 * Re-reads the elicitation whenever it may have changed until it is no longer pending, the
 * wait is over, it expires (then `getElicitation` marks it expired and audits that), or the
 * signal aborts. `read` is the cheap re-read used before expiry; null means it is gone.
 */
export async function awaitElicitationSettled<T extends Watched>(
  id: string,
  first: T,
  waitMs: number,
  read: (id: string) => Promise<T | null>,
  signal?: AbortSignal,
): Promise<T | null> {
  let current: T | null = first;
  const deadline = Date.now() + waitMs;
  while (current && current.status === "pending" && Date.now() < deadline) {
    const until = Math.min(deadline, current.expiresAt.getTime() + 1_000) - Date.now();
    if (until <= 0) break;
    const waited = await waitForElicitationChange(id, until, signal);
    // A draining instance answers with what it has (still pending: the caller asks again, and the
    // load balancer sends that to an instance that stays).
    if (!waited || signal?.aborted || isShuttingDown()) break;
    current = Date.now() >= current.expiresAt.getTime() ? ((await getElicitation(id)) as T | null) : await read(id);
  }
  return current;
}
