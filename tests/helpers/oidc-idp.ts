// The organization's IdP for tests: the demo identity provider (a real oidc-provider server).
import { startIdentityProvider, type IdentityProvider } from "@/demo/identity-provider";

export const IDP_CLIENT = { clientId: "frontdesk-portal", clientSecret: "portal-secret-for-tests-only-0123456789" };

export interface TestIdp extends Omit<IdentityProvider, "signJwt"> {
  clientId: string;
  clientSecret: string;
  /** A subject token: a JWT signed by the IdP's own key, iss = issuer. */
  signSubjectToken(claims: { sub: string; aud?: string | string[]; expiresIn?: number; notBefore?: number; extra?: Record<string, unknown> }): Promise<string>;
  signJwt: IdentityProvider["signJwt"];
}

export async function startIdp(opts: { redirectUris: string[]; port?: number }): Promise<TestIdp> {
  const idp = await startIdentityProvider({ port: opts.port, clients: [{ ...IDP_CLIENT, redirectUris: opts.redirectUris }] });
  return {
    ...idp,
    ...IDP_CLIENT,
    signSubjectToken: ({ sub, aud, expiresIn, notBefore, extra }) =>
      idp.signJwt({ sub, ...(aud !== undefined ? { aud } : {}), ...extra }, { expiresIn, notBefore }),
  };
}
