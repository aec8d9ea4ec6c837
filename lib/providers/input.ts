// The shape of a provider registration, parsed strictly at every edge (CLI, admin, presets).
import { z } from "zod";
import { requestRulesSchema } from "@/lib/egress/request-rules";
import { scopeDescriptionsSchema } from "./scope-descriptions";

const httpUrl = z.url({ protocol: /^https?$/ });

export const providerSlugSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "lowercase letters, digits and dashes, starting with a letter or digit");

export const crossAppAccessModeSchema = z.enum(["off", "when_advertised", "always"]);
export const crossAppAccessFallbackSchema = z.enum(["deny", "consent"]);

/** Seconds; a day at most (providers offer seconds to minutes). */
export const refreshReuseGraceSchema = z.number().int().min(0).max(86_400);

export const tokenEndpointAuthSchema = z.enum(["client_secret_basic", "client_secret_post", "none"]);

export const providerInputSchema = z
  .object({
    slug: providerSlugSchema,
    displayName: z.string().trim().min(1).max(100),
    kind: z.enum(["oidc", "oauth2", "api_key"]),
    preset: z.string().min(1).max(40).optional(),
    issuer: httpUrl.optional(),
    authorizationEndpoint: httpUrl.optional(),
    tokenEndpoint: httpUrl.optional(),
    revocationEndpoint: httpUrl.optional(),
    clientId: z.string().min(1).max(500).optional(),
    clientSecret: z.string().min(1).max(2000).optional(),
    tokenEndpointAuth: tokenEndpointAuthSchema.default("client_secret_basic"),
    defaultScopes: z.array(z.string().min(1).max(500)).max(100).default([]),
    scopeSeparator: z.string().min(1).max(3).default(" "),
    extraAuthParams: z.record(z.string().min(1).max(100), z.string().max(2000)).default({}),
    resourceUrls: z.array(httpUrl).max(50).default([]),
    apiKeyHeader: z.string().regex(/^[A-Za-z0-9-]{1,100}$/).optional(),
    apiKeyPrefix: z.string().max(50).optional(),
    validationUrl: httpUrl.optional(),
    allowInsecureHttp: z.boolean().default(false),
    /** Egress proxy: may the API bases resolve to private or loopback addresses? (development, on-premises APIs) */
    allowPrivateNetwork: z.boolean().default(false),
    /** Egress proxy / ext_authz: what each scope may send (lib/egress/request-rules.ts). */
    requestRules: requestRulesSchema.default({}),
    /** Consent page: a plain-language line per scope (lib/providers/scope-descriptions.ts). */
    scopeDescriptions: scopeDescriptionsSchema.default({}),
    /**
     * Cross-app access (lib/cross-app): obtain a grant through the enterprise IdP (ID-JAG) when
     * the user has none; `when_advertised` asks the provider's metadata, `always` is the admin's word.
     */
    crossAppAccess: crossAppAccessModeSchema.default("off"),
    /** When the IdP refuses the ID-JAG: deny the call, or fall back to URL consent. */
    crossAppAccessFallback: crossAppAccessFallbackSchema.default("deny"),
    /**
     * The provider's refresh-token reuse grace period in seconds (it still accepts a refresh token
     * it has just rotated); 0: none. Interrupted refreshes are redone within it (lib/grants/refresh-recovery.ts).
     */
    refreshReuseGraceSeconds: refreshReuseGraceSchema.default(0),
  })
  .strict()
  .superRefine((p, ctx) => {
    const need = (field: keyof typeof p, why: string) => {
      if (p[field] === undefined) ctx.addIssue({ code: "custom", path: [field], message: why });
    };
    if (p.kind === "oidc") need("issuer", "required for oidc providers (discovery)");
    if (p.kind === "oauth2") {
      need("authorizationEndpoint", "required for oauth2 providers");
      need("tokenEndpoint", "required for oauth2 providers");
    }
    if (p.kind !== "api_key") {
      need("clientId", "required for OAuth providers");
      if (p.tokenEndpointAuth !== "none") need("clientSecret", "required unless tokenEndpointAuth is none");
    }
    if (p.kind === "api_key") need("apiKeyHeader", "required for api_key providers (the header to inject)");
    if (p.crossAppAccess !== "off") {
      // The ID-JAG's audience is the provider's issuer (draft-ietf-oauth-identity-assertion-authz-grant-03 §4.3).
      if (p.kind === "api_key") ctx.addIssue({ code: "custom", path: ["crossAppAccess"], message: "only OAuth providers redeem ID-JAGs" });
      else need("issuer", "required for cross-app access (the ID-JAG's audience)");
    }
    if (!p.allowInsecureHttp) {
      for (const field of ["issuer", "authorizationEndpoint", "tokenEndpoint", "revocationEndpoint", "validationUrl"] as const) {
        const value = p[field];
        if (value?.startsWith("http:")) {
          ctx.addIssue({ code: "custom", path: [field], message: "must be https (allowInsecureHttp is for development only)" });
        }
      }
    }
  });

export type ProviderInput = z.input<typeof providerInputSchema>;
export type ParsedProviderInput = z.output<typeof providerInputSchema>;
