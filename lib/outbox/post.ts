// One HTTP delivery attempt to a receiver (gateway webhook, chat webhook). Bounded in time, no
// redirects (a receiver cannot bounce a signed event elsewhere), response body never read.
export class DeliveryError extends Error {
  /** A short machine-readable reason, stored as the event's lastError (never a response body). */
  constructor(
    readonly reason: string,
    /** Retrying cannot help (unknown kind, malformed payload): give the event up at once. */
    readonly permanent = false,
  ) {
    super(reason);
    this.name = "DeliveryError";
  }
}

/**
 * The time an attempt may still take: it must be over before its lease ends, or another instance
 * could deliver the same event at the same time. The worker sets the deadline when it claims the
 * event, so time spent before the send (a slow start, loading the signing key) counts against it;
 * with too little left the attempt is not started at all (the event is simply retried).
 */
export interface AttemptBudget {
  /** Epoch ms by which the attempt must be over. */
  deadline: number;
  /**
   * Less time left than this and the send is not started: a request cut short by its timeout
   * after the receiver took it would count as failed and be sent again (a needless duplicate).
   */
  minimumMs: number;
}

export function remainingMs(budget: AttemptBudget): number {
  const ms = budget.deadline - Date.now();
  if (ms < budget.minimumMs) throw new DeliveryError("attempt_deadline_passed");
  return ms;
}

/**
 * POSTs the body; resolves on 2xx, and on 409, which receivers answer when they already hold an
 * event with this id (RFC 8417 `jti`; a retry after a lost response). Anything else throws.
 */
export async function postToReceiver(url: string, body: string, contentType: string, budget: AttemptBudget): Promise<void> {
  const timeoutMs = remainingMs(budget);
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": contentType, accept: "application/json" },
      body,
      redirect: "error",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new DeliveryError(e instanceof Error && e.name === "TimeoutError" ? "timeout" : "unreachable");
  }
  await res.body?.cancel().catch(() => undefined);
  if ((res.status >= 200 && res.status < 300) || res.status === 409) return;
  throw new DeliveryError(`http_${res.status}`);
}
