// The demo's chain in one test process: the demo IdP and the Notes upstream (real oidc-provider
// servers), Frontdesk's environment trusting them, the demo seed (the Notes provider, the
// reference gateway's registration and its policy), users, and the reference egress gateway
// calling Frontdesk's own handlers in-process (frontdesk-fetch.ts). Call before anything reads
// lib/env (env() is parsed once).
import type { EgressGateway, EgressGatewayOptions } from "@/demo/gateway/server";
import type { SeedDemoInput, SeedDemoResult } from "@/demo/seed";
import { frontdeskHandlersFetch } from "./frontdesk-fetch";
import { approveGateways } from "./gateway-testbed";
import { startIdp, type TestIdp } from "./oidc-idp";
import { startUpstream, type TestUpstream } from "./oidc-upstream";

export const DEMO_FRONTDESK_URL = "http://frontdesk.test";

export interface DemoTestbed {
  idp: TestIdp;
  upstream: TestUpstream;
  /** The first seed's result (the gateway's secret rotates with every seed). */
  seed: SeedDemoResult;
  /** User ids by subject (`usr_<subject>`, issuer the IdP). */
  users: Record<string, string>;
  /** Runs the demo seed again (what the launcher does on every start). */
  reseed(opts?: Pick<SeedDemoInput, "revokeStaleGrants">): Promise<SeedDemoResult>;
  /** The user's Notes connection as the portal stores it, approved for the demo gateway unless `approve` is false. */
  connectNotes(sub: string, opts?: { approve?: boolean; expiresAt?: Date | null }): Promise<{ grantId: string; accessToken: string; refreshToken: string }>;
  /** The reference egress gateway for Notes, registered as the seed's gateway, calling Frontdesk in-process. */
  startGateway(opts?: { secret?: string } & Partial<Pick<EgressGatewayOptions, "mode" | "fetch" | "log">>): Promise<EgressGateway>;
  close(): Promise<void>;
}

export async function startDemoTestbed(opts: {
  /** The audience of the users' tokens (SUBJECT_TOKEN_AUDIENCES). */
  audience: string;
  users: string[];
  /** More origins allowed over plain http (e.g. a gateway receiving webhooks on localhost). */
  insecureOrigins?: string[];
}): Promise<DemoTestbed> {
  const frontdeskUrl = DEMO_FRONTDESK_URL;
  const idp = await startIdp({ redirectUris: [`${frontdeskUrl}/api/auth/callback/idp`] });
  const upstream = await startUpstream({ redirectUris: [`${frontdeskUrl}/api/oauth/callback/notes`] });
  Object.assign(process.env, {
    FRONTDESK_URL: frontdeskUrl,
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_ID: idp.clientId,
    OIDC_CLIENT_SECRET: idp.clientSecret,
    SUBJECT_TOKEN_AUDIENCES: opts.audience,
    FRONTDESK_INSECURE_HTTP_ISSUERS: [idp.issuer, upstream.issuer, ...(opts.insecureOrigins ?? [])].join(","),
    LOG_LEVEL: "warn",
  });
  const { seedDemo } = await import("@/demo/seed");
  const notes = { issuer: upstream.issuer, apiUrl: upstream.apiUrl, clientId: upstream.clientId, clientSecret: upstream.clientSecret };
  const reseed = (more: Pick<SeedDemoInput, "revokeStaleGrants"> = {}) => seedDemo({ notes, ...more });
  const seed = await reseed();
  const db = await (await import("@/lib/db/client")).getDb();
  const users: Record<string, string> = {};
  for (const sub of opts.users) {
    users[sub] = (await db.user.create({ data: { id: `usr_${sub}`, issuer: idp.issuer, subject: sub, email: `${sub}@example.test` } })).id;
  }
  return {
    idp,
    upstream,
    seed,
    users,
    reseed,
    async connectNotes(sub, { approve = true, expiresAt = new Date(Date.now() + 3600_000) } = {}) {
      const { saveGrant } = await import("@/lib/grants/save");
      const minted = await upstream.mintTokens({ accountId: sub, scope: "notes:read" });
      const { grantId } = await saveGrant({
        userId: users[sub]!,
        providerId: seed.providerId,
        scopes: ["notes:read"],
        credential: { kind: "oauth", accessToken: minted.accessToken, refreshToken: minted.refreshToken, ...(expiresAt ? { expiresAt } : {}) },
      });
      if (approve) await approveGateways(grantId, users[sub]!, [seed.gatewayId]);
      return { grantId, accessToken: minted.accessToken, refreshToken: minted.refreshToken };
    },
    async startGateway({ secret = seed.gatewaySecret, mode, fetch, log } = {}) {
      const { startEgressGateway } = await import("@/demo/gateway/server");
      return startEgressGateway({
        frontdeskUrl,
        client: { tokenEndpoint: `${frontdeskUrl}/oauth/token`, clientId: seed.gatewayId, clientSecret: secret },
        routes: [{ name: "notes", target: upstream.apiUrl, scopes: ["notes:read"] }],
        mode,
        fetch: fetch ?? (await frontdeskHandlersFetch(frontdeskUrl)),
        log,
      });
    },
    async close() {
      await idp.close();
      await upstream.close();
    },
  };
}
