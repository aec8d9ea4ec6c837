// The reference gateway's receiver for Frontdesk's revocation events (interface H): RFC 8417
// Security Event Tokens pushed per RFC 8935 (`application/secevent+jwt`) to the gateway's webhook
// URL when a grant the gateway was handed tokens of is revoked or needs re-authorization.
//
// A SET counts only after: signature by a key in Frontdesk's JWKS, `typ` secevent+jwt, issuer =
// Frontdesk, audience = this gateway's client id, `iat` within the accepted age (SETs carry no
// `exp`), and a `jti` not seen before (replays are refused for as long as they could be accepted
// at all). Then the subject's cached tokens are dropped, so the next call asks Frontdesk again and
// gets a consent link instead of using a token Frontdesk no longer stands behind.
// Answers: 202 accepted; 409 already had this jti (a retry after a lost answer, or a replay: no
// effect either way); 400 with an RFC 8935 `err` code for anything malformed or forged.
import type { IncomingMessage, ServerResponse } from "node:http";
import { jwtVerify, type JWTVerifyGetKey } from "jose";

export const SET_CONTENT_TYPE = "application/secevent+jwt";
export const CAEP_CREDENTIAL_CHANGE = "https://schemas.openid.net/secevent/caep/event-type/credential-change";
const ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];
const MAX_BODY = 16_384;

export interface SecurityEventOptions {
  /** Frontdesk's issuer (its public origin). */
  issuer: string;
  /** This gateway's client id at Frontdesk (the SET audience). */
  audience: string;
  keys: JWTVerifyGetKey;
  /** Drops every cached credential of this user; returns how many entries went. */
  purgeSubject: (subject: { iss: string; sub: string }) => number;
  /** Oldest `iat` accepted, seconds (default 300). */
  maxAgeSeconds?: number;
  log?: (line: string) => void;
}

export interface SecurityEventStats {
  accepted: number;
  rejected: number;
  replayed: number;
  purged: number;
}

export function isSecurityEventRequest(req: IncomingMessage): boolean {
  return (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase() === SET_CONTENT_TYPE;
}

type Verdict = { status: 202 | 409 } | { status: 400; err: string; description: string };

export function createSecurityEventReceiver(opts: SecurityEventOptions) {
  const maxAge = opts.maxAgeSeconds ?? 300;
  const seen = new Map<string, number>();
  const stats: SecurityEventStats = { accepted: 0, rejected: 0, replayed: 0, purged: 0 };
  const log = opts.log ?? (() => {});

  async function judge(token: string): Promise<Verdict> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, opts.keys, {
        issuer: opts.issuer,
        audience: opts.audience,
        typ: "secevent+jwt",
        algorithms: ALGORITHMS,
        requiredClaims: ["iat", "jti"],
      }));
    } catch (e) {
      const code = (e as { code?: string }).code ?? "";
      if (code === "ERR_JWT_CLAIM_VALIDATION_FAILED") {
        const claim = (e as { claim?: string }).claim;
        if (claim === "iss") return { status: 400, err: "invalid_issuer", description: "unexpected issuer" };
        if (claim === "aud") return { status: 400, err: "invalid_audience", description: "not for this gateway" };
      }
      return { status: 400, err: code.startsWith("ERR_JWS") || code.startsWith("ERR_JWKS") ? "invalid_key" : "invalid_request", description: "not a valid SET" };
    }
    const now = Math.floor(Date.now() / 1000);
    const iat = Number(payload.iat);
    if (iat < now - maxAge || iat > now + 60) return { status: 400, err: "invalid_request", description: "stale or future iat" };
    const events = payload.events as Record<string, unknown> | undefined;
    const subject = payload.sub_id as { format?: unknown; iss?: unknown; sub?: unknown } | undefined;
    if (!events || typeof events !== "object" || !(CAEP_CREDENTIAL_CHANGE in events)) {
      return { status: 400, err: "invalid_request", description: "no supported event" };
    }
    if (subject?.format !== "iss_sub" || typeof subject.iss !== "string" || typeof subject.sub !== "string") {
      return { status: 400, err: "invalid_request", description: "sub_id must be iss_sub" };
    }
    for (const [jti, until] of seen) if (until < now) seen.delete(jti);
    const jti = String(payload.jti);
    if (seen.has(jti)) return { status: 409 };
    // Remembered until it would be too old to accept anyway.
    seen.set(jti, iat + maxAge + 60);
    const purged = opts.purgeSubject({ iss: subject.iss, sub: subject.sub });
    stats.purged += purged;
    log(`security event ${jti.slice(0, 12)}…: credential change, ${purged} cached token(s) dropped`);
    return { status: 202 };
  }

  async function receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = "";
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) {
        stats.rejected++;
        res.writeHead(413).end();
        return;
      }
      body += (chunk as Buffer).toString("utf8");
    }
    const verdict = await judge(body.trim());
    if (verdict.status === 202) stats.accepted++;
    else if (verdict.status === 409) stats.replayed++;
    else stats.rejected++;
    if (verdict.status === 400) {
      res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ err: verdict.err, description: verdict.description }));
      return;
    }
    res.writeHead(verdict.status).end();
  }

  return { receive, stats };
}
