// Everything one e2e spec file needs, all real and all on 127.0.0.1: its own PostgreSQL
// database, the organization's IdP, an upstream OAuth provider, and a built Frontdesk
// configured for them. Call in test.beforeAll; stop in test.afterAll.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { createTestDatabase } from "./databases";
import { startFrontdesk, type FrontdeskServer } from "./frontdesk-server";
import { startIdp, type TestIdp } from "./oidc-idp";
import { startUpstream, type TestUpstream } from "./oidc-upstream";
import { freePort } from "./postgres-cluster";

export interface E2eEnvironment {
  frontdesk: FrontdeskServer;
  idp: TestIdp;
  upstream: TestUpstream;
  databaseUrl: string;
  /** The environment the Frontdesk server runs with (for lib/ calls made by the test). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** The provider slug under which specs register the upstream (its redirect URI is registered). */
export const UPSTREAM_PROVIDER_SLUG = "notes";

/** The fields a spec registers the upstream with (as provider UPSTREAM_PROVIDER_SLUG). */
export function upstreamProviderFields(env: E2eEnvironment) {
  return { slug: UPSTREAM_PROVIDER_SLUG, issuer: env.upstream.issuer, clientId: env.upstream.clientId, clientSecret: env.upstream.clientSecret, apiUrl: env.upstream.apiUrl };
}

export function testKey(version = "v1"): string {
  return `${version}:${randomBytes(32).toString("base64")}`;
}

export async function startE2eEnvironment(
  opts: { env?: Record<string, string>; upstreamAccessTokenTtl?: number; /** More http issuers to allow (e.g. a local workload issuer). */ insecureIssuers?: string[] } = {},
): Promise<E2eEnvironment> {
  const adminUrl = process.env.E2E_PG_ADMIN_URL ?? process.env.TEST_DATABASE_URL;
  if (!adminUrl) throw new Error("E2E_PG_ADMIN_URL is not set: run through Playwright (its global setup starts PostgreSQL)");
  const databaseUrl = await createTestDatabase(adminUrl);
  const port = await freePort();
  const base = `http://localhost:${port}`;
  const idp = await startIdp({ redirectUris: [`${base}/api/auth/callback/idp`] });
  const upstream = await startUpstream({
    // The portal's upstream callback is per provider: /api/oauth/callback/<provider slug>;
    // tests register the upstream as provider slug UPSTREAM_PROVIDER_SLUG.
    redirectUris: [`${base}/api/oauth/callback`, `${base}/api/oauth/callback/${UPSTREAM_PROVIDER_SLUG}`],
    accessTokenTtl: opts.upstreamAccessTokenTtl,
  });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "frontdesk-e2e-"));
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    FRONTDESK_DATA_DIR: dataDir,
    FRONTDESK_KEYS: testKey(),
    AUTH_SECRET: randomBytes(32).toString("base64url"),
    FRONTDESK_URL: base,
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_ID: idp.clientId,
    OIDC_CLIENT_SECRET: idp.clientSecret,
    OIDC_ADMIN_GROUP: "frontdesk-admins",
    // The demo IdP releases the groups claim only with the `groups` scope.
    OIDC_SCOPES: "openid email profile groups",
    FRONTDESK_INSECURE_HTTP_ISSUERS: [idp.issuer, upstream.issuer, ...(opts.insecureIssuers ?? [])].join(","),
    ...opts.env,
  };
  let frontdesk: FrontdeskServer;
  try {
    frontdesk = await startFrontdesk({ env, port });
  } catch (e) {
    await Promise.all([idp.close(), upstream.close()]);
    throw e;
  }
  return {
    frontdesk,
    idp,
    upstream,
    databaseUrl,
    env,
    async stop() {
      await frontdesk.stop();
      await Promise.all([idp.close(), upstream.close()]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
