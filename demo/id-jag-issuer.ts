// The enterprise IdP's half of cross-app access: an RFC 8693 token exchange at the IdP's own
// token endpoint that issues Identity Assertion JWT Authorization Grants (ID-JAG), following
// draft-ietf-oauth-identity-assertion-authz-grant-03:
// - §4.3 request: requested_token_type id-jag, audience = the resource authorization server's
//   issuer, optional resource and scope, subject_token = an ID token (subject_token_type id_token);
// - §4.3.1 processing: the ID token must be valid and issued to the authenticated client
//   (its `aud` is that client's client_id); administrator policy decides whether this client may
//   act for this subject at that audience, and which scopes it gets (possibly fewer);
// - §3 claims: typ oauth-id-jag+jwt, iss, sub, aud, client_id (the client's id AT THE RESOURCE
//   AS, from the relationship's mapping, §5), jti, exp, iat, resource, scope, email;
// - §4.3.2 response: issued_token_type id-jag, token_type N_A, access_token = the ID-JAG.
// Registered as a custom grant on the demo IdP (oidc-provider); the policy object is live, so a
// test can add a relationship for a gateway it registered after the IdP started.
import { randomUUID } from "node:crypto";
import { importJWK, jwtVerify, SignJWT, type JWK } from "jose";
import type Provider from "./oidc-provider";
import { errors } from "./oidc-provider";

export const GRANT_TYPE_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
export const TOKEN_TYPE_ID_JAG = "urn:ietf:params:oauth:token-type:id-jag";
export const TOKEN_TYPE_ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token";
export const ID_JAG_TYP = "oauth-id-jag+jwt";

/** One trust relationship the IdP administrator set up with a resource authorization server. */
export interface CrossAppRelationship {
  /** The resource authorization server's issuer identifier: the ID-JAG's `aud`. */
  audience: string;
  /** Client at the IdP -> its client_id at the resource authorization server (draft §5). */
  clientIds: Record<string, string>;
  /** Policy: the subjects (`sub`) allowed to reach this app through cross-app access. */
  allowedSubjects: string[];
  /** Policy: the scopes that may be granted; a request for more gets the intersection. */
  scopes: string[];
}

export interface CrossAppPolicy {
  relationships: CrossAppRelationship[];
  /** ID-JAG lifetime in seconds (default 300; the draft's examples use 300). */
  lifetimeSeconds?: number;
}

export interface IdJagDecision {
  clientId: string;
  subject: string | null;
  audience: string | null;
  decision: "issued" | "refused";
  reason?: string;
  scope?: string;
}

function refuse(description: string): Error {
  return new errors.CustomOIDCProviderError("invalid_grant", description);
}

function publicPart(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return pub;
}

/** Registers the ID-JAG token exchange; every decision is appended to `decisions`. */
export function registerIdJagIssuance(
  provider: Provider,
  server: { issuer: string; privateJwk: JWK & { kid: string } },
  policy: CrossAppPolicy,
  decisions: IdJagDecision[],
): void {
  const signingKey = importJWK(server.privateJwk, "RS256");
  const verifyKey = importJWK(publicPart(server.privateJwk), "RS256");

  provider.registerGrantType(
    GRANT_TYPE_TOKEN_EXCHANGE,
    async (ctx) => {
      const params = ctx.oidc.params as Record<string, string | undefined>;
      const clientId = ctx.oidc.client.clientId;
      const record = (d: Omit<IdJagDecision, "clientId">) => decisions.push({ clientId, ...d });
      if (params.requested_token_type !== TOKEN_TYPE_ID_JAG) {
        throw new errors.InvalidRequest("this IdP only issues ID-JAGs (requested_token_type urn:ietf:params:oauth:token-type:id-jag)");
      }
      if (params.subject_token_type !== TOKEN_TYPE_ID_TOKEN || !params.subject_token) {
        throw new errors.InvalidRequest("subject_token must be an ID token (subject_token_type urn:ietf:params:oauth:token-type:id_token)");
      }
      if (!params.audience) throw new errors.InvalidRequest("audience is required (the resource authorization server's issuer)");

      // §4.3.1: a valid ID token of ours, issued to the client that authenticated this request.
      let claims;
      try {
        ({ payload: claims } = await jwtVerify(params.subject_token, await verifyKey, {
          issuer: server.issuer,
          audience: clientId,
          algorithms: ["RS256"],
          requiredClaims: ["sub", "exp"],
        }));
      } catch (e) {
        record({ subject: null, audience: params.audience, decision: "refused", reason: "subject_token_invalid" });
        throw refuse(`subject_token is not a valid ID token for this client (${e instanceof Error ? e.name : "invalid"})`);
      }
      const subject = claims.sub!;
      const relationship = policy.relationships.find((r) => r.audience === params.audience);
      const mappedClientId = relationship?.clientIds[clientId];
      if (!relationship || !mappedClientId) {
        record({ subject, audience: params.audience, decision: "refused", reason: "no_relationship" });
        throw refuse("this client has no cross-app access relationship with that audience");
      }
      if (!relationship.allowedSubjects.includes(subject)) {
        record({ subject, audience: params.audience, decision: "refused", reason: "policy_denied" });
        throw refuse("policy does not allow this user to access that application");
      }
      const requested = (params.scope ?? "").split(" ").filter(Boolean);
      const granted = requested.length > 0 ? requested.filter((s) => relationship.scopes.includes(s)) : relationship.scopes;
      if (granted.length === 0) {
        record({ subject, audience: params.audience, decision: "refused", reason: "no_scope_allowed" });
        throw new errors.InvalidScope("policy allows none of the requested scopes", params.scope ?? "");
      }

      const now = Math.floor(Date.now() / 1000);
      const lifetime = policy.lifetimeSeconds ?? 300;
      const scope = granted.join(" ");
      const resource = params.resource;
      const idJag = await new SignJWT({
        client_id: mappedClientId,
        scope,
        ...(resource ? { resource } : {}),
        ...(typeof claims.email === "string" ? { email: claims.email } : {}),
      })
        .setProtectedHeader({ alg: "RS256", kid: server.privateJwk.kid, typ: ID_JAG_TYP })
        .setIssuer(server.issuer)
        .setSubject(subject)
        .setAudience(relationship.audience)
        .setJti(randomUUID())
        .setIssuedAt(now)
        .setExpirationTime(now + lifetime)
        .sign(await signingKey);
      record({ subject, audience: relationship.audience, decision: "issued", scope });
      ctx.body = {
        issued_token_type: TOKEN_TYPE_ID_JAG,
        access_token: idJag,
        token_type: "N_A",
        // §4.3.2: REQUIRED when it differs from the request; always sent here.
        scope,
        expires_in: lifetime,
      };
    },
    ["subject_token", "subject_token_type", "requested_token_type", "audience", "resource", "scope", "actor_token", "actor_token_type"],
  );
}
