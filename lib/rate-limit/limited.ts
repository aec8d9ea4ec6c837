// The one error a rate limit raises: `rate_limited` (429) with the seconds until the window
// ends, which the gateway API sends as Retry-After (lib/gateway-api/http.ts, oauth-errors.ts).
import { AppError } from "@/lib/errors";
import { recordRateLimitRejection } from "@/lib/observability/metrics";

/** `limit` names the limit for metrics (frontdesk_rate_limit_rejections_total). */
export function rateLimited(limit: string, message: string, retryAfterSeconds: number): AppError {
  recordRateLimitRejection(limit);
  return new AppError("rate_limited", message, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) });
}

/** Retry-After of a rate_limited error (1 s if none recorded). */
export function retryAfterOf(e: AppError): string {
  const seconds = e.details?.retryAfterSeconds;
  return String(typeof seconds === "number" && seconds > 0 ? seconds : 1);
}
