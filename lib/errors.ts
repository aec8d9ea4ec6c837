// One error type with a closed set of codes, and one exhaustive code -> HTTP status map.
// Messages are written for the caller; they never carry secrets or internals.
import { isDatabaseUnavailable } from "@/lib/db/unavailable";

export type ErrorCode =
  | "invalid_request"
  | "invalid_body"
  | "invalid_query"
  | "invalid_params"
  | "unsupported_media_type"
  | "payload_too_large"
  /** TRACE, CONNECT and other methods Frontdesk never serves (lib/http-edge). */
  | "method_not_allowed"
  /** A body without a declared length where one is required (lib/http-edge). */
  | "length_required"
  | "request_timeout"
  | "unauthenticated"
  | "invalid_client"
  | "invalid_subject"
  /** A presented actor token (RFC 8693 actor_token) failed verification. */
  | "invalid_actor"
  | "forbidden"
  | "policy_denied"
  /** A delegation-mode call that no active delegation covers (lib/delegations). */
  | "delegation_denied"
  | "not_found"
  | "conflict"
  | "gone"
  | "interaction_required"
  /** A retry's requestState (MCP 2026-07-28) does not verify or is not this caller's. */
  | "invalid_request_state"
  /** The user declined the consent a retry waited for. */
  | "consent_declined"
  /** The consent a retry waited for failed (e.g. the provider refused the authorization). */
  | "consent_failed"
  | "upstream_error"
  | "upstream_unavailable"
  /** Frontdesk itself cannot serve right now (e.g. the audit queue is full); retryable. */
  | "service_unavailable"
  | "rate_limited"
  | "config_error"
  | "internal_error";

export function httpStatus(code: ErrorCode): number {
  switch (code) {
    case "invalid_request":
    case "invalid_body":
    case "invalid_query":
    case "invalid_params":
    case "invalid_subject":
    case "invalid_actor":
    case "interaction_required":
    case "invalid_request_state":
      return 400;
    case "unauthenticated":
    case "invalid_client":
      return 401;
    case "forbidden":
    case "policy_denied":
    case "consent_declined":
    case "consent_failed":
    case "delegation_denied":
      return 403;
    case "not_found":
      return 404;
    case "conflict":
      return 409;
    case "method_not_allowed":
      return 405;
    case "request_timeout":
      return 408;
    case "gone":
      return 410;
    case "length_required":
      return 411;
    case "payload_too_large":
      return 413;
    case "unsupported_media_type":
      return 415;
    case "rate_limited":
      return 429;
    case "upstream_error":
      return 502;
    case "upstream_unavailable":
    case "service_unavailable":
      return 503;
    case "config_error":
    case "internal_error":
      return 500;
  }
}

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "AppError";
  }

  get status(): number {
    return httpStatus(this.code);
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/** Seconds a client should wait before retrying a 503 (Retry-After). */
export const RETRY_AFTER_SECONDS = 2;

/** Retry-After for a retryable error code, undefined for the others. */
export function retryAfterFor(code: ErrorCode): string | undefined {
  return code === "service_unavailable" || code === "upstream_unavailable" ? String(RETRY_AFTER_SECONDS) : undefined;
}

/**
 * The AppError an error maps to: AppErrors as they are, a database outage (refused, terminated,
 * pool timeout, Prisma driver-adapter errors ...) as a retryable service_unavailable, anything
 * else as internal_error. Every error mapper (REST, token endpoint, route handlers) goes through this.
 */
export function toAppError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  if (isDatabaseUnavailable(e)) return new AppError("service_unavailable", "Frontdesk cannot reach its database right now; retry shortly");
  return new AppError("internal_error", "Internal error");
}
