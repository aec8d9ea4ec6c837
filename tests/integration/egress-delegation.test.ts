// The egress proxy and ext_authz identify the requester exactly as REST resolve does (interface
// G, issue 14 "actor + delegation"): a verified actor token next to the user's subject token, or
// delegation mode (the user named with Frontdesk-On-Behalf-Of, the agent's own actor token, a
// standing delegation). Real PostgreSQL, the real IdP and Notes upstream, and a real local
// workload issuer (oidc-provider client_credentials) for the actor tokens. Each decision and
// outcome row carries the requester chain (gateway, verified agent); refusals are audited.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NOTES_REQUEST_RULES } from "@/demo/upstream-provider";
import { ACCESS_TOKEN_TYPE, basicAuth, connectNotes, startGatewayTestbed, SUBJECT_AUDIENCE, type GatewayTestbed } from "../helpers/gateway-testbed";
import { useTestDatabase } from "../helpers/test-db";
import { startClientCredentialsIssuer, type ClientCredentialsIssuer } from "../helpers/workload-issuers";

await useTestDatabase();
const FRONTDESK = "http://frontdesk.test";

let bed: GatewayTestbed;
let cc: ClientCredentialsIssuer;
let handlers: { proxy: (req: Request) => Promise<Response>; extAuthz: (req: Request) => Promise<Response> };
let notesToken: string;
const agentIds: Record<"scheduler" | "reporter", string> = { scheduler: "", reporter: "" };

beforeAll(async () => {
  cc = await startClientCredentialsIssuer({ audience: FRONTDESK, clientIds: ["scheduler-agent", "report-agent"] });
  bed = await startGatewayTestbed({
    frontdeskUrl: FRONTDESK,
    extraEnv: { ACTOR_TOKEN_ISSUERS: JSON.stringify([{ issuer: cc.issuer }]) },
    insecureIssuers: [cc.issuer],
  });
  const db = await (await import("@/lib/db/client")).getDb();
  await db.provider.update({ where: { id: bed.providerId }, data: { allowPrivateNetwork: true, requestRules: NOTES_REQUEST_RULES } });
  const connected = await connectNotes(bed, { user: "alice", scope: "notes:read notes:write" });
  notesToken = connected.accessToken;
  const admin = { type: "admin" as const, id: "test" };
  const { registerAgent } = await import("@/lib/agents/admin");
  const { recordApproval } = await import("@/lib/consent/approvals");
  const { createDelegation } = await import("@/lib/delegations/create");
  agentIds.scheduler = (await registerAgent({ issuer: cc.issuer, subject: "scheduler-agent" }, admin)).id;
  agentIds.reporter = (await registerAgent({ issuer: cc.issuer, subject: "report-agent" }, admin)).id;
  // Alice approved the reporter through the basic gateway (subject-token mode with an agent)...
  await db.$transaction((tx) => recordApproval(tx, { grantId: connected.grantId, requester: { gatewayId: bed.basic.id, agentId: agentIds.reporter }, approvedBy: "user", approvedById: bed.users.alice }));
  // ...and delegated Notes (read only) to the scheduler, who acts with nobody present.
  await createDelegation({ userId: bed.users.alice, grantId: connected.grantId, agentId: agentIds.scheduler, scopes: ["notes:read"], days: 7 });
  const [proxy, extAuthz] = await Promise.all([import("@/lib/egress/proxy"), import("@/lib/egress/ext-authz")]);
  handlers = { proxy: proxy.proxyHandler(), extAuthz: extAuthz.handleExtAuthz };
}, 120_000);

afterAll(async () => {
  await bed?.close();
  await cc?.close();
});

type Who = { subjectToken: true } | { onBehalfOf: "alice" | "bob"; issuer?: string };

async function identification(who: Who, actor: string | null): Promise<Record<string, string>> {
  const headers: Record<string, string> = {};
  if ("subjectToken" in who) headers["frontdesk-subject-token"] = await bed.idp.signSubjectToken({ sub: bed.idp.users.alice.sub, aud: SUBJECT_AUDIENCE });
  else {
    headers["frontdesk-on-behalf-of"] = bed.idp.users[who.onBehalfOf].sub;
    headers["frontdesk-on-behalf-of-issuer"] = who.issuer ?? bed.idp.issuer;
  }
  if (actor !== null) Object.assign(headers, { "frontdesk-actor-token": actor, "frontdesk-actor-token-type": ACCESS_TOKEN_TYPE });
  return headers;
}

async function viaProxy(who: Who, actor: string | null, opts: { method?: string; scopes?: string; extra?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { authorization: basicAuth(bed.basic.id, bed.basic.secret!), ...(await identification(who, actor)), ...opts.extra };
  if (opts.scopes) headers["frontdesk-scopes"] = opts.scopes;
  const method = opts.method ?? "GET";
  const res = await handlers.proxy(new Request(`${FRONTDESK}/api/v1/proxy/notes/notes`, { method, headers, body: method === "POST" ? '{"text":"x"}' : undefined }));
  return { status: res.status, text: await res.text() };
}

async function rows(action: string) {
  const { flushAudit } = await import("@/lib/audit/append");
  await flushAudit();
  const db = await (await import("@/lib/db/client")).getDb();
  return db.auditEvent.findMany({ where: { action }, orderBy: { seq: "asc" } });
}

/** Waits for the outcome row written once the response body has been streamed. */
async function lastCompleted() {
  let found;
  await expect.poll(async () => (found = (await rows("egress.completed")).at(-1))?.context).toBeTruthy();
  return found!;
}

describe("egress proxy: actor tokens", () => {
  it("a subject token with the reporter's verified actor token: alice's notes, the agent in the decision and outcome rows", async () => {
    const before = (await rows("proxy")).length;
    const res = await viaProxy({ subjectToken: true }, await cc.issueToken("report-agent"), { scopes: "notes:read" });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text).owner).toBe("alice");
    const decision = (await rows("proxy")).slice(before);
    expect(decision).toHaveLength(1);
    expect(decision[0]).toMatchObject({ decision: "allow", agentId: agentIds.reporter, gatewayId: bed.basic.id, userId: bed.users.alice });
    expect(decision[0]!.context).toMatchObject({ actor: { issuer: cc.issuer, subject: "report-agent" }, subjectSource: "subject_token" });
    const outcome = await lastCompleted();
    expect(outcome).toMatchObject({ agentId: agentIds.reporter, gatewayId: bed.basic.id });
    expect(outcome.context).toMatchObject({ status: 200, actor: { subject: "report-agent" } });
  });

  it("an invalid actor token is refused and audited, never dropped; nothing reaches the upstream", async () => {
    const sent = bed.upstream.stats.apiRequests.length;
    const forged = (await cc.issueToken("report-agent")).slice(0, -4) + "AAAA";
    const res = await viaProxy({ subjectToken: true }, forged);
    expect(res.status).toBe(400);
    expect(res.text).not.toContain(notesToken);
    const [refusal] = (await rows("proxy")).slice(-1);
    expect(refusal).toMatchObject({ decision: "deny", reason: expect.stringMatching(/^actor:/) });
    expect(bed.upstream.stats.apiRequests.length).toBe(sent);
  });

  it("an actor token without its type (or the reverse) is a 400", async () => {
    const headers = await identification({ subjectToken: true }, null);
    const res = await handlers.proxy(
      new Request(`${FRONTDESK}/api/v1/proxy/notes/notes`, { headers: { authorization: basicAuth(bed.basic.id, bed.basic.secret!), ...headers, "frontdesk-actor-token": "x.y.z" } }),
    );
    expect(res.status).toBe(400);
  });
});

describe("egress proxy: the 2026 requestState binds the agent", () => {
  it("consent needed for the scheduler in subject-token mode; the state replayed by another agent is a 400, never a credential", async () => {
    const first = await viaProxy({ subjectToken: true }, await cc.issueToken("scheduler-agent"));
    expect(first.status).toBe(403);
    const state = JSON.parse(first.text).inputRequired.requestState as string;
    expect(state.length).toBeGreaterThan(40);
    const replayed = await viaProxy({ subjectToken: true }, await cc.issueToken("report-agent"), { extra: { "frontdesk-request-state": state, "frontdesk-wait": "0" } });
    expect(replayed.status).toBe(400);
    expect(JSON.parse(replayed.text).error.code).toBe("invalid_request_state");
    expect(replayed.text).not.toContain(notesToken);
    expect((await rows("request_state.retry")).at(-1)).toMatchObject({ decision: "deny", reason: "request_state:other_agent" });
  });
});

describe("egress proxy: delegation mode (no subject token, nobody present)", () => {
  it("the scheduler, with its actor token, reads alice's notes; the row says which delegation", async () => {
    const before = (await rows("proxy")).length;
    const res = await viaProxy({ onBehalfOf: "alice" }, await cc.issueToken("scheduler-agent"));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text).owner).toBe("alice");
    expect(bed.upstream.stats.apiRequests.at(-1)).toMatchObject({ accountId: "alice", token: notesToken });
    const [row] = (await rows("proxy")).slice(before);
    expect(row).toMatchObject({ decision: "allow", agentId: agentIds.scheduler, userId: bed.users.alice });
    expect(row!.context).toMatchObject({ mode: "delegation", subjectSource: "delegation", delegationId: expect.stringMatching(/.+/), actor: { subject: "scheduler-agent" } });
    expect((await lastCompleted()).agentId).toBe(agentIds.scheduler);
  });

  it("the delegation covers notes:read only: a POST is refused by the request rules, and asking for notes:write by the delegation", async () => {
    const actor = await cc.issueToken("scheduler-agent");
    const post = await viaProxy({ onBehalfOf: "alice" }, actor, { method: "POST", scopes: "notes:read" });
    expect(post.status).toBe(403);
    expect((await rows("egress.refused")).at(-1)).toMatchObject({ reason: "request_rule:not_allowed", agentId: agentIds.scheduler });
    const wider = await viaProxy({ onBehalfOf: "alice" }, actor, { method: "POST", scopes: "notes:write" });
    expect(wider.status).toBe(403);
    expect(JSON.parse(wider.text).error.code).toBe("delegation_denied");
    expect((await rows("proxy")).at(-1)).toMatchObject({ decision: "deny", reason: "delegation:scope_not_delegated" });
  });

  it("without the actor token, for another agent, or for a user who never delegated: one uniform 403, audited with the reason", async () => {
    const cases: [Who, string | null, string][] = [
      [{ onBehalfOf: "alice" }, null, "delegation:no_actor"],
      [{ onBehalfOf: "alice" }, await cc.issueToken("report-agent"), "delegation:no_delegation"],
      [{ onBehalfOf: "bob" }, await cc.issueToken("scheduler-agent"), "delegation:no_delegation"],
    ];
    for (const [who, actor, reason] of cases) {
      const res = await viaProxy(who, actor);
      expect(res.status).toBe(403);
      expect(JSON.parse(res.text).error.code).toBe("delegation_denied");
      expect(res.text).not.toContain(notesToken);
      expect((await rows("proxy")).at(-1)).toMatchObject({ decision: "deny", reason });
    }
  });

  it("a named user is one identification only, and only from a trusted IdP", async () => {
    const both = await viaProxy({ onBehalfOf: "alice" }, null, { extra: { "frontdesk-subject": "alice" } });
    expect(both.status).toBe(401);
    const untrusted = await viaProxy({ onBehalfOf: "alice", issuer: "https://evil.example" }, await cc.issueToken("scheduler-agent"));
    expect(untrusted.status).toBe(400);
    const noIssuer = await handlers.proxy(
      new Request(`${FRONTDESK}/api/v1/proxy/notes/notes`, { headers: { authorization: basicAuth(bed.basic.id, bed.basic.secret!), "frontdesk-on-behalf-of": "alice" } }),
    );
    expect(noIssuer.status).toBe(400);
  });
});

describe("ext_authz: the same identification", () => {
  it("delegation mode: allow with alice's credential for the scheduler, deny without its actor token", async () => {
    const check = async (actor: string | null) =>
      handlers.extAuthz(
        new Request(`${FRONTDESK}/api/v1/ext-authz/notes/notes`, {
          headers: { "frontdesk-gateway-authorization": basicAuth(bed.basic.id, bed.basic.secret!), ...(await identification({ onBehalfOf: "alice" }, actor)) },
        }),
      );
    const allowed = await check(await cc.issueToken("scheduler-agent"));
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get("authorization")).toBe(`Bearer ${notesToken}`);
    const [row] = (await rows("ext_authz")).slice(-1);
    expect(row).toMatchObject({ decision: "allow", agentId: agentIds.scheduler });
    expect(row!.context).toMatchObject({ mode: "delegation", actor: { subject: "scheduler-agent" } });
    const denied = await check(null);
    expect(denied.status).toBe(403);
    expect(denied.headers.get("authorization")).toBeNull();
    expect((await rows("ext_authz")).at(-1)).toMatchObject({ decision: "deny", reason: "delegation:no_actor" });
  });
});
