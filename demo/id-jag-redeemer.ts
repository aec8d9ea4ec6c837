// The resource authorization server's half of cross-app access: the RFC 7523 JWT bearer grant
// redeeming an ID-JAG, following draft-ietf-oauth-identity-assertion-authz-grant-03 §4.4:
// - request: grant_type urn:ietf:params:oauth:grant-type:jwt-bearer, assertion = the ID-JAG,
//   the client authenticated with its own credentials at this server;
// - processing (§4.4.1, with RFC 7521 §5.2 and RFC 7523 §3): `typ` oauth-id-jag+jwt; signed by a
//   trusted IdP; `aud` is exactly this server's issuer (a string, or an array of exactly one);
//   `client_id` is the authenticated client (else invalid_grant); `exp`, `iat`, `jti` present,
//   the `jti` used once; `sub` resolves to a local account; granted scopes ⊆ the ID-JAG's `scope`;
// - response (§4.4.2): a Bearer access token with `scope`, and no refresh token (§4.4.3: the
//   client presents a new ID-JAG when the token expires).
// Metadata (§7): the server advertises `authorization_grant_profiles_supported` with
// urn:ietf:params:oauth:grant-profile:id-jag (set by the caller through oidc-provider's
// `discovery` option) and the jwt-bearer grant in `grant_types_supported`.
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";
import type Provider from "./oidc-provider";
import { errors } from "./oidc-provider";
import { ID_JAG_TYP } from "./id-jag-issuer";

export const GRANT_TYPE_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
export const GRANT_PROFILE_ID_JAG = "urn:ietf:params:oauth:grant-profile:id-jag";

export interface TrustedIdJagIssuer {
  issuer: string;
  jwksUri: string;
}

export interface IdJagRedemption {
  clientId: string;
  decision: "issued" | "refused";
  reason?: string;
  subject?: string;
  scope?: string;
}

function refuse(description: string): Error {
  return new errors.CustomOIDCProviderError("invalid_grant", description);
}

export function registerIdJagRedemption(
  provider: Provider,
  opts: { issuer: string; trusted: () => TrustedIdJagIssuer[]; accessTokenTtl: number; accountExists: (sub: string) => boolean },
  redemptions: IdJagRedemption[],
): void {
  const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  const usedJtis = new Map<string, number>();

  provider.registerGrantType(
    GRANT_TYPE_JWT_BEARER,
    async (ctx) => {
      const params = ctx.oidc.params as Record<string, string | undefined>;
      const client = ctx.oidc.client;
      const record = (r: Omit<IdJagRedemption, "clientId">) => redemptions.push({ clientId: client.clientId, ...r });
      const fail = (reason: string, description: string) => {
        record({ decision: "refused", reason });
        return refuse(description);
      };
      const assertion = params.assertion;
      if (!assertion) throw new errors.InvalidRequest("assertion is required");
      let iss: unknown;
      try {
        iss = JSON.parse(Buffer.from(assertion.split(".")[1] ?? "", "base64url").toString("utf8")).iss;
      } catch {
        throw fail("malformed", "assertion is not a JWT");
      }
      const trusted = opts.trusted().find((t) => t.issuer === iss);
      if (!trusted) throw fail("untrusted_issuer", "the ID-JAG's issuer is not trusted");
      let keys = keySets.get(trusted.jwksUri);
      if (!keys) keySets.set(trusted.jwksUri, (keys = createRemoteJWKSet(new URL(trusted.jwksUri))));
      let claims: JWTPayload;
      try {
        ({ payload: claims } = await jwtVerify(assertion, keys, {
          issuer: trusted.issuer,
          typ: ID_JAG_TYP,
          algorithms: ["RS256", "ES256", "PS256", "EdDSA"],
          requiredClaims: ["sub", "exp", "iat", "jti", "client_id"],
          clockTolerance: 30,
        }));
      } catch (e) {
        throw fail(e instanceof Error ? e.name : "invalid", "the ID-JAG is invalid or expired");
      }
      // §4.4.1: aud is our issuer, as a string or an array of exactly one element.
      const aud = Array.isArray(claims.aud) && claims.aud.length === 1 ? claims.aud[0] : claims.aud;
      if (aud !== opts.issuer) throw fail("wrong_audience", "the ID-JAG was issued for another authorization server");
      if (claims.client_id !== client.clientId) throw fail("wrong_client", "the ID-JAG was issued for another client");
      const now = Math.floor(Date.now() / 1000);
      for (const [k, exp] of usedJtis) if (exp < now - 60) usedJtis.delete(k);
      const jtiKey = `${trusted.issuer}|${String(claims.jti)}`;
      if (usedJtis.has(jtiKey)) throw fail("replayed", "the ID-JAG was already used");
      usedJtis.set(jtiKey, claims.exp!);
      const sub = claims.sub!;
      if (!opts.accountExists(sub)) throw fail("unknown_subject", "no account for this user");
      const granted = typeof claims.scope === "string" ? claims.scope.split(" ").filter(Boolean) : [];
      const requested = (params.scope ?? "").split(" ").filter(Boolean);
      if (requested.some((s) => !granted.includes(s))) {
        record({ decision: "refused", reason: "scope_beyond_grant", subject: sub });
        throw new errors.InvalidScope("requested scope exceeds the ID-JAG", params.scope ?? "");
      }
      const scope = (requested.length > 0 ? requested : granted).join(" ");

      const grant = new provider.Grant({ accountId: sub, clientId: client.clientId });
      grant.addOIDCScope(scope);
      const grantId = await grant.save();
      const at = new provider.AccessToken({ client, accountId: sub, grantId, scope, gty: "jwt_bearer", expiresIn: opts.accessTokenTtl });
      const accessToken = await at.save();
      record({ decision: "issued", subject: sub, scope });
      ctx.body = { access_token: accessToken, token_type: "Bearer", expires_in: opts.accessTokenTtl, scope };
    },
    ["assertion", "scope", "resource"],
  );
}
