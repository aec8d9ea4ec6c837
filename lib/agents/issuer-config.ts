// The shape of a trusted workload issuer, shared by ACTOR_TOKEN_ISSUERS (lib/env.ts) and a
// gateway's own list (Gateway.actorIssuers). A leaf module (zod only) so env.ts can use it.
//
// An entry names the issuer by its `iss` (an OAuth/OIDC server issuing client-credentials JWT
// access tokens, or a SPIRE server configured with a JWT issuer), or by a SPIFFE trust domain
// (JWT-SVIDs need not carry `iss`; their `sub` is spiffe://<trust domain>/<path>). Keys come from
// an inline JWKS, a JWKS URI (e.g. a SPIFFE bundle endpoint) or, for an `issuer` with neither,
// OIDC discovery.
import { z } from "zod";

const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;

const publicJwk = z
  .object({ kty: z.enum(["RSA", "EC", "OKP"]) })
  .catchall(z.unknown())
  .refine((k) => !("d" in k) && !("p" in k) && !("k" in k), "keys must be public keys");

export const actorIssuerSchema = z
  .object({
    issuer: z.string().min(1).max(2048).optional(),
    trustDomain: z.string().regex(TRUST_DOMAIN, "trustDomain is a SPIFFE trust domain name (lower case)").optional(),
    jwksUri: z.url({ protocol: /^https?$/ }).optional(),
    jwks: z.object({ keys: z.array(publicJwk).min(1).max(20) }).optional(),
    /** Accepted `aud` values; default ACTOR_TOKEN_AUDIENCES. */
    audiences: z.array(z.string().min(1).max(2048)).min(1).max(20).optional(),
    /** Its workloads mint one actor token per call: any second presentation is a replay (lib/agents/actor-replay.ts). */
    singleUse: z.boolean().optional(),
  })
  .strict()
  .refine((e) => e.issuer !== undefined || e.trustDomain !== undefined, "an entry needs issuer or trustDomain")
  .refine((e) => !(e.jwksUri && e.jwks), "give jwksUri or jwks, not both")
  .refine((e) => e.issuer !== undefined || e.jwksUri !== undefined || e.jwks !== undefined, "a trustDomain entry needs jwksUri or jwks");

export type ActorIssuerConfig = z.output<typeof actorIssuerSchema>;

export const actorIssuerListSchema = z.array(actorIssuerSchema).max(50);
