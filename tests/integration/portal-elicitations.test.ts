// Elicitation lifecycle on real PostgreSQL: creation (bound, audited), lazy expiry, and the
// guarded transitions: one completion only, never after expiry, never by another user.
import { describe, expect, it } from "vitest";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();
process.env.FRONTDESK_URL = "https://frontdesk.example.test";

const { getDb } = await import("@/lib/db/client");
const { createElicitation } = await import("@/lib/elicitations/create");
const { getElicitation } = await import("@/lib/elicitations/read");
const { completeElicitation, declineElicitation, failElicitation } = await import("@/lib/elicitations/settle");
const { newId } = await import("@/lib/ids");
const { waitingRequestHint } = await import("@/lib/portal/sign-in-context");

const ISSUER = "https://idp.example.test";
const alice = { issuer: ISSUER, subject: "alice" };
const bob = { issuer: ISSUER, subject: "bob" };

const db = await getDb();
const gateway = await db.gateway.create({ data: { id: newId("gw"), name: "gw-elicitations", authMethod: "client_secret_basic" } });
const provider = await db.provider.create({ data: { id: newId("prv"), slug: "svc", displayName: "Service", kind: "api_key", apiKeyHeader: "X-Key" } });

function create(owner = alice) {
  return createElicitation({
    userIssuer: owner.issuer,
    userSubject: owner.subject,
    gatewayId: gateway.id,
    providerId: provider.id,
    scopes: ["read", "read", "write"],
    context: { agentId: "agent-1", toolName: "search" },
    requestId: "req_test",
  });
}

async function actions(elicitationId: string): Promise<string[]> {
  const events = await db.auditEvent.findMany({ orderBy: { seq: "asc" } });
  return events.filter((e) => (e.context as { elicitationId?: string }).elicitationId === elicitationId).map((e) => e.action);
}

describe("createElicitation", () => {
  it("binds the user, gateway, provider, deduplicated scopes and context, with a TTL, and audits it", async () => {
    const before = Date.now();
    const created = await create();
    expect(created.id).toMatch(/^eli_[A-Za-z0-9_-]{43}$/);
    expect(created.url).toBe(`https://frontdesk.example.test/connect/${created.id}`);
    expect(created.expiresAt.getTime() - before).toBeGreaterThanOrEqual(599_000);
    expect(created.expiresAt.getTime() - before).toBeLessThanOrEqual(601_000);
    const row = await getElicitation(created.id);
    expect(row).toMatchObject({ userIssuer: ISSUER, userSubject: "alice", gatewayId: gateway.id, providerId: provider.id, scopes: ["read", "write"], status: "pending" });
    expect(row?.context).toEqual({ agentId: "agent-1", toolName: "search" });
    const event = (await db.auditEvent.findMany({ where: { action: "elicitation.created" } })).find(
      (e) => (e.context as { elicitationId?: string }).elicitationId === created.id,
    );
    expect(event).toMatchObject({ actorType: "gateway", gatewayId: gateway.id, providerId: provider.id, requestId: "req_test", userId: `${ISSUER}|alice` });
  });

  it("refuses context it cannot render safely", async () => {
    await expect(
      createElicitation({ userIssuer: ISSUER, userSubject: "alice", gatewayId: gateway.id, providerId: provider.id, scopes: [], context: { agentId: "x".repeat(500) } }),
    ).rejects.toMatchObject({ code: "invalid_request" });
  });
});

describe("transitions", () => {
  it("completes once, by its own user only", async () => {
    const { id } = await create();
    await expect(completeElicitation(id, bob)).rejects.toMatchObject({ code: "conflict" });
    await expect(completeElicitation(id, { issuer: "https://other-idp.example.test", subject: "alice" })).rejects.toMatchObject({ code: "conflict" });
    expect((await getElicitation(id))?.status).toBe("pending");
    await completeElicitation(id, alice);
    const done = await getElicitation(id);
    expect(done?.status).toBe("completed");
    expect(done?.completedAt).toBeInstanceOf(Date);
    await expect(completeElicitation(id, alice)).rejects.toMatchObject({ code: "conflict" });
    await expect(declineElicitation(id, alice)).rejects.toMatchObject({ code: "conflict" });
    await expect(failElicitation(id, alice, "x")).rejects.toMatchObject({ code: "conflict" });
  });

  it("lets exactly one of two concurrent completions win", async () => {
    const { id } = await create();
    const results = await Promise.allSettled([completeElicitation(id, alice), completeElicitation(id, alice), declineElicitation(id, alice)]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
  });

  it("never completes after expiry; reading it marks it expired and audits that once", async () => {
    const { id } = await create();
    await db.elicitation.update({ where: { id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await expect(completeElicitation(id, alice)).rejects.toMatchObject({ code: "conflict" });
    const [a, b] = await Promise.all([getElicitation(id), getElicitation(id)]);
    expect(a?.status).toBe("expired");
    expect(b?.status).toBe("expired");
    expect((await actions(id)).filter((x) => x === "elicitation.expired")).toHaveLength(1);
    await expect(completeElicitation(id, alice)).rejects.toMatchObject({ code: "conflict" });
  });

  it("records a failure reason", async () => {
    const { id } = await create();
    await failElicitation(id, alice, "upstream_invalid_scope");
    expect(await getElicitation(id)).toMatchObject({ status: "failed", failureReason: "upstream_invalid_scope" });
  });

  it("reads unknown and malformed ids as null without a query error", async () => {
    expect(await getElicitation(newId("eli", 32))).toBeNull();
    expect(await getElicitation("eli_'; DROP TABLE \"Elicitation\"; --")).toBeNull();
  });
});

describe("waitingRequestHint (the sign-in page reached from a consent link)", () => {
  it("names the gateway and the service of a pending request, and nothing about the user", async () => {
    const { id } = await create();
    expect(await waitingRequestHint(`/connect/${id}`)).toEqual({ gatewayName: "gw-elicitations", providerName: "Service" });
  });

  it("says nothing for an expired, settled or unknown request, or any other target", async () => {
    const expired = await create();
    await db.elicitation.update({ where: { id: expired.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const declined = await create();
    await declineElicitation(declined.id, alice);
    for (const target of [`/connect/${expired.id}`, `/connect/${declined.id}`, `/connect/${newId("eli", 32)}`, "/connections", `/connect/${declined.id}/x`, "/connect/", "/"]) {
      expect(await waitingRequestHint(target), target).toBeNull();
    }
  });
});
