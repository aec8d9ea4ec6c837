// The gateway's half of Frontdesk interface A: an RFC 8693 token exchange request built the way
// agentgateway's `backendAuth.oauthTokenExchange` builds it (crates/agentgateway/src/http/auth/
// oauth/transport.rs): form-encoded grant_type / subject_token / subject_token_type, then
// `scope` space-joined and `resource`; client_secret_basic with the id and secret
// form-urlencoded before base64 (RFC 6749 2.3.1); a successful answer must say
// token_type=Bearer and an access_token issued_token_type; answers are cached per subject token
// until `expires_in` minus a 30 s safety margin. Additions agentgateway does not have: a 400
// `interaction_required` answer carries Frontdesk's URL elicitation (MCP 2025-11-25) and its
// `input_required` result (2026-07-28), returned to the caller; and an MCP 2026 retry passes the
// requestState back (`request_state`, `wait`, `request_digest`, Frontdesk's extension parameters).
import { createHash } from "node:crypto";

export const GRANT_TYPE_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
export const TOKEN_TYPE_ACCESS = "urn:ietf:params:oauth:token-type:access_token";
export const TOKEN_TYPE_JWT = "urn:ietf:params:oauth:token-type:jwt";

const CACHE_SAFETY_MARGIN_SECONDS = 30;
const CACHE_MAX_ENTRIES = 1024;
const REQUEST_TIMEOUT_MS = 10_000;

export interface UrlElicitation {
  mode: "url";
  elicitationId: string;
  url: string;
  message: string;
}

/** MCP 2026-07-28 `input_required`, as Frontdesk sealed it: forwarded unchanged. */
export interface InputRequired {
  resultType: "input_required";
  inputRequests?: Record<string, unknown>;
  requestState: string;
}

/** An MCP 2026-07-28 retry: the requestState to pass back, and how long Frontdesk may wait. */
export interface RetryState {
  requestState: string;
  waitSeconds: number;
}

export interface ExchangeClient {
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
}

export interface ExchangeRequest {
  subjectToken: string;
  subjectTokenType?: string;
  resource?: string;
  audience?: string;
  scopes: string[];
  /** The MCP server's digest of the tool call (bound into the requestState). */
  requestDigest?: string;
  retry?: RetryState;
}

export type ExchangeResult =
  | { kind: "token"; accessToken: string; expiresIn: number | null; cached: boolean }
  | { kind: "interaction_required"; elicitation: UrlElicitation; inputRequired: InputRequired | null; description: string }
  | { kind: "rejected"; status: number; error: string; description: string }
  | { kind: "unavailable"; reason: string };

interface CacheEntry {
  accessToken: string;
  expiresAt: number;
  /** Whose token it is (iss and sub of the subject token), so a revocation event can drop it. */
  subject: string;
}

/**
 * `iss` and `sub` of a JWT subject token, read without verifying it: only used to find cache
 * entries again; Frontdesk verified the token before it issued anything for it.
 */
export function subjectKey(token: string): string {
  try {
    const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as { iss?: unknown; sub?: unknown };
    return JSON.stringify([String(claims.iss ?? ""), String(claims.sub ?? "")]);
  } catch {
    return "[]";
  }
}

/** RFC 6749 2.3.1: client id and secret are form-urlencoded, then joined and base64-encoded. */
export function encodeClientSecretBasic(clientId: string, clientSecret: string): string {
  const encode = (s: string) => new URLSearchParams({ v: s }).toString().slice(2);
  return Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString("base64");
}

export function buildExchangeForm(req: ExchangeRequest): URLSearchParams {
  const form = new URLSearchParams();
  form.append("grant_type", GRANT_TYPE_TOKEN_EXCHANGE);
  form.append("subject_token", req.subjectToken);
  form.append("subject_token_type", req.subjectTokenType ?? TOKEN_TYPE_JWT);
  if (req.audience) form.append("audience", req.audience);
  if (req.scopes.length > 0) form.append("scope", req.scopes.join(" "));
  if (req.resource) form.append("resource", req.resource);
  if (req.requestDigest) form.append("request_digest", req.requestDigest);
  if (req.retry) {
    form.append("request_state", req.retry.requestState);
    form.append("wait", String(req.retry.waitSeconds));
  }
  return form;
}

function isUrlElicitation(value: unknown): value is UrlElicitation {
  const e = value as Partial<UrlElicitation> | null;
  return (
    !!e &&
    e.mode === "url" &&
    typeof e.elicitationId === "string" &&
    typeof e.url === "string" &&
    /^https?:\/\//.test(e.url) &&
    typeof e.message === "string"
  );
}

function isInputRequired(value: unknown): value is InputRequired {
  const v = value as Partial<InputRequired> | null;
  return !!v && v.resultType === "input_required" && typeof v.requestState === "string";
}

export class TokenExchanger {
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly client: ExchangeClient,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  /** Keyed by a hash of the subject token and the request, never by the token itself (nor a retry's state). */
  private cacheKey(req: ExchangeRequest): string {
    return createHash("sha256")
      .update(JSON.stringify([req.subjectToken, req.subjectTokenType ?? "", req.resource ?? "", req.audience ?? "", req.scopes]))
      .digest("hex");
  }

  /** Drops a cached token, e.g. after the upstream rejected it (revoked since it was issued). */
  forget(req: ExchangeRequest): void {
    this.cache.delete(this.cacheKey(req));
  }

  /** Drops every cached token of one user (a revocation event from Frontdesk); returns how many. */
  forgetSubject(iss: string, sub: string): number {
    const key = JSON.stringify([iss, sub]);
    let dropped = 0;
    for (const [k, entry] of this.cache) {
      if (entry.subject !== key) continue;
      this.cache.delete(k);
      dropped++;
    }
    return dropped;
  }

  async exchange(req: ExchangeRequest): Promise<ExchangeResult> {
    const key = this.cacheKey(req);
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt > Date.now()) return { kind: "token", accessToken: hit.accessToken, expiresIn: null, cached: true };
    if (hit) this.cache.delete(key);

    let res: Response;
    try {
      res = await this.fetchImpl(this.client.tokenEndpoint, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
          authorization: `Basic ${encodeClientSecretBasic(this.client.clientId, this.client.clientSecret)}`,
        },
        body: buildExchangeForm(req).toString(),
        // A retry may wait for the user at Frontdesk: allow for it.
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS + (req.retry?.waitSeconds ?? 0) * 1000),
        redirect: "error",
      });
    } catch (e) {
      return { kind: "unavailable", reason: e instanceof Error ? e.name : "request failed" };
    }
    const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
    if (!res.ok) {
      const error = typeof body?.error === "string" ? body.error : `http_${res.status}`;
      const description = typeof body?.error_description === "string" ? body.error_description.slice(0, 300) : "";
      if (error === "interaction_required" && isUrlElicitation(body?.elicitation)) {
        const inputRequired = isInputRequired(body?.input_required) ? body.input_required : null;
        return { kind: "interaction_required", elicitation: body.elicitation, inputRequired, description };
      }
      // 5xx, and 401 (our own client authentication failed): Frontdesk or this gateway's
      // configuration is at fault, not the caller.
      if (res.status >= 500 || res.status === 401 || error === "invalid_client") {
        return { kind: "unavailable", reason: `${error} (HTTP ${res.status})` };
      }
      return { kind: "rejected", status: res.status, error, description };
    }
    const accessToken = body?.access_token;
    const tokenType = body?.token_type;
    const issued = body?.issued_token_type;
    if (typeof accessToken !== "string" || accessToken === "") return { kind: "unavailable", reason: "empty access_token" };
    if (typeof tokenType !== "string" || tokenType.toLowerCase() !== "bearer") {
      return { kind: "unavailable", reason: "unsupported token_type" };
    }
    if (issued !== undefined && issued !== TOKEN_TYPE_ACCESS && issued !== TOKEN_TYPE_JWT) {
      return { kind: "unavailable", reason: "unusable issued_token_type" };
    }
    const expiresIn = typeof body?.expires_in === "number" ? body.expires_in : null;
    if (expiresIn !== null && expiresIn > CACHE_SAFETY_MARGIN_SECONDS) {
      if (this.cache.size >= CACHE_MAX_ENTRIES) {
        const oldest = this.cache.keys().next().value;
        if (oldest !== undefined) this.cache.delete(oldest);
      }
      this.cache.set(key, {
        accessToken,
        expiresAt: Date.now() + (expiresIn - CACHE_SAFETY_MARGIN_SECONDS) * 1000,
        subject: subjectKey(req.subjectToken),
      });
    }
    return { kind: "token", accessToken, expiresIn, cached: false };
  }
}
