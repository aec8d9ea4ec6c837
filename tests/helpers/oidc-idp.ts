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

/**
 * An agent's own client at the IdP (the MCP client, or agentgateway's crossAppAccess identity
 * provider leg): it asks the IdP for ID-JAGs for Frontdesk. client_secret_post, as the MCP SDK's
 * requestJwtAuthorizationGrant authenticates.
 */
export const AGENT_IDP_CLIENT = { clientId: "mcp-agent", clientSecret: "agent-secret-for-tests-only-0123456789", tokenEndpointAuthMethod: "client_secret_post" as const };

export async function startIdp(opts: { redirectUris: string[]; port?: number }): Promise<TestIdp> {
  const idp = await startIdentityProvider({
    port: opts.port,
    clients: [
      { ...IDP_CLIENT, redirectUris: opts.redirectUris },
      { ...AGENT_IDP_CLIENT, clientName: "MCP agent", redirectUris: ["http://localhost/agent/callback"] },
    ],
  });
  return {
    ...idp,
    ...IDP_CLIENT,
    signSubjectToken: ({ sub, aud, expiresIn, notBefore, extra }) =>
      idp.signJwt({ sub, ...(aud !== undefined ? { aud } : {}), ...extra }, { expiresIn, notBefore }),
  };
}
