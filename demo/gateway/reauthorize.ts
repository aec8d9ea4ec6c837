// A call that never hangs on a revoked connection: when the upstream rejects a token this
// gateway had cached (401: revoked or rotated since Frontdesk issued it), drop it and ask
// Frontdesk once more. After a revocation Frontdesk answers with a consent link, which reaches the
// user on this very call instead of an upstream 401 (and every call after it until the cache
// entry would have expired). A 401 for a token Frontdesk has just issued is passed on as is:
// asking again would only get the same token.
import type { ExchangeRequest, ExchangeResult, TokenExchanger } from "./token-exchange";

export type UpstreamAttempt =
  | { kind: "exchange"; result: Exclude<ExchangeResult, { kind: "token" }> }
  | { kind: "upstream"; response: Response; reexchanged: boolean };

/** Exchanges (cache first), sends, and on a 401 for a cached token re-exchanges and sends once more. */
export async function sendWithFreshCredential(
  exchanger: TokenExchanger,
  exchange: ExchangeRequest,
  send: (accessToken: string) => Promise<Response>,
): Promise<UpstreamAttempt> {
  const first = await exchanger.exchange(exchange);
  if (first.kind !== "token") return { kind: "exchange", result: first };
  const response = await send(first.accessToken);
  if (response.status !== 401) return { kind: "upstream", response, reexchanged: false };
  exchanger.forget(exchange);
  if (!first.cached) return { kind: "upstream", response, reexchanged: false };
  await response.body?.cancel().catch(() => undefined);
  const second = await exchanger.exchange(exchange);
  if (second.kind !== "token") return { kind: "exchange", result: second };
  const again = await send(second.accessToken);
  if (again.status === 401) exchanger.forget(exchange);
  return { kind: "upstream", response: again, reexchanged: true };
}
