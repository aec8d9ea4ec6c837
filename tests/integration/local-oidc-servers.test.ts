// The local OAuth/OIDC servers the other tests rely on behave like real providers.
import * as client from "openid-client";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIdp, type TestIdp } from "../helpers/oidc-idp";
import { startUpstream, type TestUpstream } from "../helpers/oidc-upstream";

let idp: TestIdp;
let upstream: TestUpstream;

beforeAll(async () => {
  idp = await startIdp({ redirectUris: ["http://localhost:9/cb"] });
  upstream = await startUpstream({ redirectUris: ["http://localhost:9/cb"], accessTokenTtl: 60 });
});
afterAll(async () => {
  await idp?.close();
  await upstream?.close();
});

async function upstreamConfig() {
  return client.discovery(new URL(upstream.issuer), upstream.clientId, upstream.clientSecret, undefined, {
    execute: [client.allowInsecureRequests],
  });
}

describe("local OIDC servers", () => {
  it("the IdP publishes discovery and signs subject tokens verifiable with its JWKS", async () => {
    const config = await client.discovery(new URL(idp.issuer), idp.clientId, idp.clientSecret, undefined, {
      execute: [client.allowInsecureRequests],
    });
    expect(config.serverMetadata().issuer).toBe(idp.issuer);
    const token = await idp.signSubjectToken({ sub: "alice", aud: "frontdesk" });
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(idp.jwksUri)), { issuer: idp.issuer, audience: "frontdesk" });
    expect(payload.sub).toBe("alice");
  });

  it("the upstream protects its notes API, refreshes with rotation and revokes", async () => {
    const minted = await upstream.mintTokens({ accountId: "alice", scope: "notes:read" });
    const notes = await fetch(`${upstream.apiUrl}/notes`, { headers: { authorization: `Bearer ${minted.accessToken}` } });
    expect(notes.status).toBe(200);
    expect(await notes.json()).toMatchObject({ owner: "alice" });
    expect((await fetch(`${upstream.apiUrl}/notes`, { headers: { authorization: "Bearer nope" } })).status).toBe(401);

    const config = await upstreamConfig();
    const refreshed = await client.refreshTokenGrant(config, minted.refreshToken);
    expect(refreshed.access_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(minted.refreshToken);
    expect(upstream.stats.refreshRequests).toBe(1);
    // The rotated-away refresh token is dead: reuse is invalid_grant.
    await expect(client.refreshTokenGrant(config, minted.refreshToken)).rejects.toMatchObject({ error: "invalid_grant" });

    await client.tokenRevocation(config, refreshed.refresh_token!);
    expect(upstream.stats.revocations).toBe(1);
    await expect(client.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({ error: "invalid_grant" });
  });

  it("the upstream token endpoint can be made to fail", async () => {
    const minted = await upstream.mintTokens({ accountId: "bob", scope: "notes:read" });
    const config = await upstreamConfig();
    upstream.failTokenEndpoint("5xx");
    try {
      await expect(client.refreshTokenGrant(config, minted.refreshToken)).rejects.toBeTruthy();
    } finally {
      upstream.failTokenEndpoint("none");
    }
    const ok = await client.refreshTokenGrant(config, minted.refreshToken);
    expect(ok.access_token).toBeTruthy();
  });
});
