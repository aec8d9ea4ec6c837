// Reusing a pending link (lib/gateway-api/resolve-credential.ts): a requester asking again for the
// same user, provider and scopes gets the link it already has, and only then. Never another
// gateway's or another agent's link, one that expired or expires within the minute, one that was
// settled, or one for other scopes. Checked on both ways the candidates are read: with the
// user+grant read (no grant, a grant short of the scopes) and on their own (a standing approval
// that no longer holds, decided after that read). Real PostgreSQL, the hot-path pool, real OIDC servers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ACCESS_TOKEN_TYPE,
  basicAuth,
  connectNotes,
  resolveRequest,
  startGatewayTestbed,
  SUBJECT_AUDIENCE,
  type GatewayFixture,
  type GatewayTestbed,
} from "../helpers/gateway-testbed";
import { useTestDatabase } from "../helpers/test-db";
import { startClientCredentialsIssuer, type ClientCredentialsIssuer } from "../helpers/workload-issuers";

await useTestDatabase();
const FRONTDESK = "http://frontdesk.test";

let bed: GatewayTestbed;
let resolve: (req: Request) => Promise<Response>;
let agents: ClientCredentialsIssuer;

beforeAll(async () => {
  agents = await startClientCredentialsIssuer({ audience: FRONTDESK, clientIds: ["scheduler-agent", "report-agent"] });
  bed = await startGatewayTestbed({
    frontdeskUrl: FRONTDESK,
    extraEnv: { ACTOR_TOKEN_ISSUERS: JSON.stringify([{ issuer: agents.issuer }]) },
    insecureIssuers: [agents.issuer],
  });
  resolve = (await import("@/lib/gateway-api/resolve")).handleResolve;
}, 60_000);

afterAll(async () => {
  await bed?.close();
  await agents?.close();
});

async function db() {
  return (await import("@/lib/db/client")).getDb();
}

/** The elicitation id of a consent-needed answer (fails the test on any other answer). */
async function linkFor(
  user: "alice" | "bob",
  opts: { gateway?: GatewayFixture; agent?: "scheduler-agent" | "report-agent"; scopes?: string[]; reason?: RegExp } = {},
): Promise<string> {
  const gateway = opts.gateway ?? bed.basic;
  const actor = opts.agent ? { actor_token: await agents.issueToken(opts.agent), actor_token_type: ACCESS_TOKEN_TYPE } : {};
  const subjectToken = await bed.idp.signSubjectToken({ sub: bed.idp.users[user].sub, aud: SUBJECT_AUDIENCE });
  const res = await resolve(
    resolveRequest(bed.frontdeskUrl, { subject_token: subjectToken, provider: "notes", scopes: opts.scopes ?? ["notes:read"], ...actor }, {
      authorization: basicAuth(gateway.id, gateway.secret!),
    }),
  );
  const text = await res.text();
  expect(res.status, text).toBe(403);
  const id: string = JSON.parse(text).error.data.elicitations[0].elicitationId;
  expect(id).toMatch(/^eli_/);
  if (opts.reason) {
    const { flushGroupCommit } = await import("@/lib/audit/group-commit");
    await flushGroupCommit?.();
    const audit = await (await db()).auditEvent.findFirst({ where: { action: "resolve", gatewayId: gateway.id }, orderBy: { seq: "desc" } });
    expect(audit?.reason).toMatch(opts.reason);
    expect((audit?.context as { elicitationId?: string }).elicitationId).toBe(id);
  }
  return id;
}

describe("a pending link is reused only by its own requester, for the same scopes, while it stays open", () => {
  it("no grant: the same gateway gets its link again; another gateway, another agent or no agent gets one of its own", async () => {
    const first = await linkFor("bob", { reason: /^interaction_required:no_grant$/ });
    expect(await linkFor("bob")).toBe(first);
    // The scopes as a set: order and repeats do not make another request.
    expect(await linkFor("bob", { scopes: ["notes:read", "notes:read"] })).toBe(first);

    const otherGateway = await linkFor("bob", { gateway: bed.post });
    expect(otherGateway).not.toBe(first);
    expect(await linkFor("bob", { gateway: bed.post })).toBe(otherGateway);

    const scheduler = await linkFor("bob", { agent: "scheduler-agent" });
    const report = await linkFor("bob", { agent: "report-agent" });
    expect(new Set([first, otherGateway, scheduler, report]).size).toBe(4);
    expect(await linkFor("bob", { agent: "scheduler-agent" })).toBe(scheduler);
    expect(await linkFor("bob", { agent: "report-agent" })).toBe(report);
    // And the gateway alone still gets its own, not an agent's.
    expect(await linkFor("bob")).toBe(first);

    // Other scopes: another link; the same scopes in another order: that one again.
    const wider = await linkFor("bob", { scopes: ["notes:read", "notes:write"] });
    expect(wider).not.toBe(first);
    expect(await linkFor("bob", { scopes: ["notes:write", "notes:read"] })).toBe(wider);

    // Another user never gets bob's link.
    const alices = await linkFor("alice");
    expect([first, otherGateway, scheduler, report, wider]).not.toContain(alices);
  });

  it("a link that expires within the minute, has expired, or was settled is not handed out again", async () => {
    const d = await db();
    const gateway = bed.trusted;
    const first = await linkFor("bob", { gateway });
    expect(await linkFor("bob", { gateway })).toBe(first);

    await d.elicitation.update({ where: { id: first }, data: { expiresAt: new Date(Date.now() + 30_000) } });
    const second = await linkFor("bob", { gateway });
    expect(second).not.toBe(first);
    expect(await linkFor("bob", { gateway })).toBe(second);

    // Past its expiry, still marked pending (the sweep has not run yet).
    await d.elicitation.update({ where: { id: second }, data: { expiresAt: new Date(Date.now() - 1_000) } });
    const third = await linkFor("bob", { gateway });
    expect([first, second]).not.toContain(third);

    for (const status of ["declined", "completed", "expired", "failed"] as const) {
      const previous = await linkFor("bob", { gateway });
      await d.elicitation.update({ where: { id: previous }, data: { status } });
      const next = await linkFor("bob", { gateway });
      expect(next, `after ${status}`).not.toBe(previous);
    }
  });

  it("a grant short of the scopes: the link for the missing ones is reused (candidates read with the grant)", async () => {
    await connectNotes(bed, { user: "alice", scope: "notes:read" });
    const first = await linkFor("alice", { scopes: ["notes:read", "notes:write"], reason: /^interaction_required:insufficient_scope$/ });
    expect((await (await db()).elicitation.findUniqueOrThrow({ where: { id: first } })).scopes).toEqual(["notes:write"]);
    expect(await linkFor("alice", { scopes: ["notes:write", "notes:read"] })).toBe(first);
    expect(await linkFor("alice", { scopes: ["notes:read", "notes:write"], gateway: bed.post })).not.toBe(first);
  });

  it("a standing policy approval whose rule is gone: the requester's link is reused (candidates looked up on their own)", async () => {
    // Alice's connection covers notes:read; the trusted gateway holds only a policy approval, and
    // no rule pre-approves it any more, so she is asked again after the user+grant read.
    const d = await db();
    const grant = await d.grant.findFirstOrThrow({ where: { userId: bed.users.alice, providerId: bed.providerId } });
    await d.requesterApproval.deleteMany({ where: { grantId: grant.id, gatewayId: bed.trusted.id } });
    await d.requesterApproval.create({
      data: { id: "apr_reuse_policy", grantId: grant.id, gatewayId: bed.trusted.id, agentId: null, approvedBy: "policy", approvedById: "pol_gone" },
    });
    const subjectToken = await bed.idp.signSubjectToken({ sub: bed.idp.users.alice.sub, aud: SUBJECT_AUDIENCE });
    const call = async () => {
      const res = await resolve(
        resolveRequest(bed.frontdeskUrl, { subject_token: subjectToken, provider: "notes", scopes: ["notes:read"] }, {
          authorization: basicAuth(bed.trusted.id, bed.trusted.secret!),
        }),
      );
      const text = await res.text();
      expect(res.status, text).toBe(403);
      return JSON.parse(text).error.data.elicitations[0].elicitationId as string;
    };
    const first = await call();
    expect(await call()).toBe(first);
    await d.elicitation.update({ where: { id: first }, data: { expiresAt: new Date(Date.now() + 30_000) } });
    expect(await call()).not.toBe(first);
  });
});
