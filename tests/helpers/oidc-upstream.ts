// An upstream OAuth provider for tests: the demo "Notes" server (a real oidc-provider server
// with rotating refresh tokens, RFC 7009 revocation and a protected notes API).
import { startUpstreamProvider, type UpstreamProvider } from "@/demo/upstream-provider";

export const UPSTREAM_CLIENT = { clientId: "frontdesk-notes", clientSecret: "notes-secret-for-tests-only-0123456789" };

export interface TestUpstream extends UpstreamProvider {
  clientId: string;
  clientSecret: string;
}

export async function startUpstream(opts: {
  redirectUris: string[];
  port?: number;
  accessTokenTtl?: number;
  rotateRefreshTokens?: boolean;
  /** Redeem ID-JAGs from these IdPs (demo/id-jag-redeemer.ts). */
  idJagIssuers?: { issuer: string; jwksUri: string }[];
}): Promise<TestUpstream> {
  const upstream = await startUpstreamProvider({
    port: opts.port,
    accessTokenTtl: opts.accessTokenTtl,
    rotateRefreshTokens: opts.rotateRefreshTokens,
    idJagIssuers: opts.idJagIssuers,
    clients: [{ ...UPSTREAM_CLIENT, redirectUris: opts.redirectUris }],
  });
  return Object.assign(upstream, UPSTREAM_CLIENT);
}
