// Grants: save (incremental scopes, sealed), list without secrets, revoke (RFC 7009 at the
// provider, ciphertext deleted, audited, owner guard), and that a revoked grant elicits again.
// Also: no response body other than a success, and no log line, carries an upstream token.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { basicAuth, resolveRequest, startGatewayTestbed, SUBJECT_AUDIENCE, type GatewayTestbed } from "../helpers/gateway-testbed";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();

let bed: GatewayTestbed;
const logged: string[] = [];

beforeAll(async () => {
  bed = await startGatewayTestbed();
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    vi.spyOn(stream, "write").mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
      logged.push(String(chunk));
      return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write);
  }
}, 60_000);
afterAll(async () => {
  vi.restoreAllMocks();
  await bed?.close();
});

async function db() {
  return (await import("@/lib/db/client")).getDb();
}

describe("grants", () => {
  it("saves sealed, unions scopes on re-consent, lists without secrets, revokes upstream and locally", async () => {
    const { saveGrant } = await import("@/lib/grants/save");
    const { listUserGrants } = await import("@/lib/grants/list");
    const { revokeGrant } = await import("@/lib/grants/revoke");
    const { handleResolve } = await import("@/lib/gateway-api/resolve");
    const first = await bed.upstream.mintTokens({ accountId: "alice", scope: "notes:read" });
    const { grantId } = await saveGrant({
      userId: bed.users.alice,
      providerId: bed.providerId,
      scopes: ["notes:read"],
      credential: { kind: "oauth", accessToken: first.accessToken, refreshToken: first.refreshToken, expiresAt: new Date(Date.now() + 3600_000) },
    });
    const second = await bed.upstream.mintTokens({ accountId: "alice", scope: "notes:read notes:write" });
    const again = await saveGrant({
      userId: bed.users.alice,
      providerId: bed.providerId,
      scopes: ["notes:write"],
      credential: { kind: "oauth", accessToken: second.accessToken, expiresAt: new Date(Date.now() + 3600_000) },
    });
    expect(again).toEqual({ grantId, scopes: ["notes:read", "notes:write"] });

    const raw = await (await db()).grant.findUniqueOrThrow({
      where: { id: grantId },
      omit: { accessTokenCipher: false, refreshTokenCipher: false, wrappedKey: false },
    });
    expect(raw.accessTokenCipher).toBeTruthy();
    expect(JSON.stringify(raw)).not.toContain(second.accessToken);
    // The re-consent came without a refresh token: the earlier one is kept (sealed anew).
    expect(raw.refreshTokenCipher).toBeTruthy();
    expect(JSON.stringify(raw)).not.toContain(first.refreshToken);

    const listed = await listUserGrants(bed.users.alice);
    expect(listed).toEqual([
      expect.objectContaining({ id: grantId, providerSlug: "notes", providerName: "Notes", scopes: ["notes:read", "notes:write"], status: "active" }),
    ]);
    expect(JSON.stringify(listed)).not.toMatch(/Cipher|wrappedKey/);

    // Another user cannot revoke it.
    await expect(revokeGrant(grantId, { type: "user", id: bed.users.bob }, { expectedUserId: bed.users.bob })).rejects.toMatchObject({ code: "not_found" });

    const revocationsBefore = bed.upstream.stats.revocations;
    const result = await revokeGrant(grantId, { type: "user", id: bed.users.alice }, { expectedUserId: bed.users.alice });
    expect(result).toEqual({ upstreamRevoked: true });
    expect(bed.upstream.stats.revocations).toBeGreaterThan(revocationsBefore);
    const after = await (await db()).grant.findUniqueOrThrow({
      where: { id: grantId },
      omit: { accessTokenCipher: false, refreshTokenCipher: false, wrappedKey: false },
    });
    expect(after).toMatchObject({ status: "revoked", accessTokenCipher: null, refreshTokenCipher: null, wrappedKey: null });
    expect(after.revokedAt).not.toBeNull();
    const audit = await (await db()).auditEvent.findFirst({ where: { action: "grant.revoked" } });
    expect(audit).toMatchObject({ actorType: "user", actorId: bed.users.alice, providerId: bed.providerId });
    // The stored refresh token is dead at the provider too (RFC 7009).
    const client = await import("openid-client");
    const config = await client.discovery(new URL(bed.upstream.issuer), bed.upstream.clientId, bed.upstream.clientSecret, undefined, {
      execute: [client.allowInsecureRequests],
    });
    await expect(client.refreshTokenGrant(config, first.refreshToken)).rejects.toMatchObject({ error: "invalid_grant" });

    // Revoking twice is harmless.
    expect(await revokeGrant(grantId, { type: "admin", id: "t" })).toEqual({ upstreamRevoked: false });

    // A revoked grant means consent again.
    const subject_token = await bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE });
    const res = await handleResolve(
      resolveRequest(bed.frontdeskUrl, { subject_token, provider: "notes" }, { authorization: basicAuth(bed.basic.id, bed.basic.secret!) }),
    );
    expect(res.status).toBe(403);
    const text = await res.text();
    expect(JSON.parse(text).error.code).toBe(-32042);

    // Nothing the module logged, and no error body, contains an upstream token.
    for (const token of [first.accessToken, first.refreshToken, second.accessToken]) {
      expect(logged.join("")).not.toContain(token);
      expect(text).not.toContain(token);
    }
  });
});
