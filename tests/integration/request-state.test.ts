// MCP 2026-07-28 next to 2025-11-25 at the gateway API, against real PostgreSQL and real OIDC
// servers: consent-needed answers carry both forms; a retry with Frontdesk's sealed requestState
// waits for the user and answers with the credential, a clear declined error, or "still
// waiting"; and a state replayed by another user, another gateway, after expiry, for another
// tool call or with one byte changed never yields a credential and is audited (invariant 12).
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { hasElicitationWaiters } from "@/lib/gateways/elicitation-watch";
import {
  ACCESS_TOKEN_TYPE,
  basicAuth,
  connectNotes,
  resolveRequest,
  startGatewayTestbed,
  SUBJECT_AUDIENCE,
  TOKEN_EXCHANGE_GRANT,
  tokenRequest,
  type GatewayFixture,
  type GatewayTestbed,
} from "../helpers/gateway-testbed";
import { runFixture } from "../helpers/fixture-process";
import { useTestDatabase } from "../helpers/test-db";
import { startClientCredentialsIssuer, type ClientCredentialsIssuer } from "../helpers/workload-issuers";

await useTestDatabase();
const FRONTDESK = "http://frontdesk.test";

let bed: GatewayTestbed;
let base: string;
let resolve: (req: Request) => Promise<Response>;
let token: (req: Request) => Promise<Response>;
/** A real client-credentials issuer of actor tokens (the agents' workload IdP). */
let agents: ClientCredentialsIssuer;

beforeAll(async () => {
  agents = await startClientCredentialsIssuer({ audience: FRONTDESK, clientIds: ["scheduler-agent", "report-agent"] });
  bed = await startGatewayTestbed({
    frontdeskUrl: FRONTDESK,
    extraEnv: { ACTOR_TOKEN_ISSUERS: JSON.stringify([{ issuer: agents.issuer }]) },
    insecureIssuers: [agents.issuer],
  });
  base = bed.frontdeskUrl;
  resolve = (await import("@/lib/gateway-api/resolve")).handleResolve;
  token = (await import("@/lib/gateway-api/token-exchange")).handleTokenRequest;
}, 60_000);

afterAll(async () => {
  await bed?.close();
  await agents?.close();
});

const subjectToken = (user: "alice" | "bob") => bed.idp.signSubjectToken({ sub: bed.idp.users[user].sub, aud: SUBJECT_AUDIENCE });
const auth = (gw: GatewayFixture = bed.basic) => ({ authorization: basicAuth(gw.id, gw.secret!) });

async function call(user: "alice" | "bob", extra: Record<string, unknown> = {}, gw: GatewayFixture = bed.basic, scopes = ["notes:read"]) {
  const res = await resolve(resolveRequest(base, { subject_token: await subjectToken(user), provider: "notes", scopes, ...extra }, auth(gw)));
  return { status: res.status, json: JSON.parse(await res.text()) };
}

/** The same call by an agent: its actor token, freshly issued by the workload issuer. */
async function callAs(agent: "scheduler-agent" | "report-agent" | null, user: "alice" | "bob", extra: Record<string, unknown> = {}) {
  const actor = agent === null ? {} : { actor_token: await agents.issueToken(agent), actor_token_type: ACCESS_TOKEN_TYPE };
  return call(user, { ...actor, ...extra });
}

async function exchange(user: "alice" | "bob", extra: [string, string][] = []) {
  const res = await token(
    tokenRequest(
      base,
      [
        ["grant_type", TOKEN_EXCHANGE_GRANT],
        ["subject_token", await subjectToken(user)],
        ["subject_token_type", ACCESS_TOKEN_TYPE],
        ["audience", "notes"],
        ["scope", "notes:read"],
        ...extra,
      ],
      auth(),
    ),
  );
  return { status: res.status, json: JSON.parse(await res.text()) };
}

async function retryAudit() {
  const { getDb } = await import("@/lib/db/client");
  const { flushGroupCommit } = await import("@/lib/audit/group-commit");
  await flushGroupCommit?.();
  return (await getDb()).auditEvent.findMany({ where: { action: "request_state.retry" }, orderBy: { seq: "asc" } });
}

async function settle(kind: "complete" | "decline", id: string, user: "alice" | "bob") {
  const settleLib = await import("@/lib/elicitations/settle");
  const { wakeElicitationWaiters } = await import("@/lib/gateways/elicitation-watch");
  const owner = { issuer: bed.idp.issuer, subject: bed.idp.users[user].sub };
  if (kind === "complete") {
    await connectNotes(bed, { user, scope: "notes:read" });
    await settleLib.completeElicitation(id, owner);
  } else {
    await settleLib.declineElicitation(id, owner);
  }
  wakeElicitationWaiters(id);
}

describe("consent needed: both MCP revisions in one answer", () => {
  it("REST resolve: the 2025 -32042 error as before, and an input_required result with a sealed requestState", async () => {
    const { status, json } = await call("bob");
    expect(status).toBe(403);
    const eli = json.error.data.elicitations[0];
    expect(json.error).toEqual({ code: -32042, message: eli.message, data: { elicitations: [{ mode: "url", elicitationId: eli.elicitationId, url: `${base}/connect/${eli.elicitationId}`, message: eli.message }] } });
    expect(json.inputRequired).toEqual({
      resultType: "input_required",
      inputRequests: { frontdesk_notes: { method: "elicitation/create", params: { mode: "url", message: eli.message, url: eli.url } } },
      requestState: expect.any(String),
    });
    // Opaque to everyone but Frontdesk: it names neither the user nor the elicitation.
    expect(json.inputRequired.requestState).not.toContain(eli.elicitationId);
    expect(Buffer.from(json.inputRequired.requestState.split(".")[3] ?? "", "base64url").toString("latin1")).not.toContain("bob");
  });

  it("token endpoint: interaction_required with the elicitation as before, and input_required beside it", async () => {
    const { status, json } = await exchange("bob");
    expect(status).toBe(400);
    expect(json.error).toBe("interaction_required");
    expect(json.elicitation).toMatchObject({ mode: "url", elicitationId: expect.stringMatching(/^eli_/) });
    expect(json.input_required).toMatchObject({ resultType: "input_required", requestState: expect.any(String) });
    expect(json.input_required.inputRequests.frontdesk_notes.params.url).toBe(json.elicitation.url);
  });

  it("discovery announces the revisions, the extension parameters and the wait cap", async () => {
    const { authorizationServerMetadata } = await import("@/lib/gateway-api/discovery");
    expect(authorizationServerMetadata()).toMatchObject({
      frontdesk_mcp_revisions_supported: ["2025-11-25", "2026-07-28"],
      frontdesk_token_endpoint_extension_parameters: ["request_state", "request_digest", "wait"],
      frontdesk_retry_wait_max_seconds: 50,
    });
  });
});

describe("wait on retry", () => {
  it("a waiting retry wakes when the user completes, and answers with the credential", async () => {
    const first = await call("alice", { request_digest: "sha256:list_my_notes" });
    const { elicitationId } = first.json.error.data.elicitations[0];
    const started = Date.now();
    const retry = call("alice", { request_state: first.json.inputRequired.requestState, request_digest: "sha256:list_my_notes", wait: 20 });
    // Complete only once the retry is waiting (so the wake-up is what answers it).
    await vi.waitFor(() => expect(hasElicitationWaiters(elicitationId)).toBe(true), { timeout: 30_000, interval: 10 });
    const completedAt = Date.now();
    await settle("complete", elicitationId, "alice");
    const answer = await retry;
    expect(answer.status).toBe(200);
    expect(answer.json.header.value).toMatch(/^Bearer /);
    expect(Date.now() - started).toBeLessThan(15_000);
    console.log(`retry answered ${Date.now() - completedAt} ms after completion (same instance)`);
    const rows = await retryAudit();
    expect(rows.at(-1)).toMatchObject({ decision: "info", reason: "request_state:completed" });
  });

  it("still pending when the wait ends: a state-only input_required for the same elicitation", async () => {
    const first = await call("bob");
    const pending = await call("bob", { request_state: first.json.inputRequired.requestState, wait: 1 });
    expect(pending.status).toBe(403);
    expect(pending.json.error.data.elicitations[0].elicitationId).toBe(first.json.error.data.elicitations[0].elicitationId);
    expect(pending.json.inputRequired).toEqual({ resultType: "input_required", requestState: expect.any(String) });
    // The fresh state works for the next round too.
    const again = await call("bob", { request_state: pending.json.inputRequired.requestState, wait: 0 });
    expect(again.status).toBe(403);
  });

  it("after Decline the waiting retry ends at once with a clear declined error (REST 403, token endpoint access_denied)", async () => {
    const first = await exchange("bob");
    const started = Date.now();
    const retry = exchange("bob", [
      ["request_state", first.json.input_required.requestState],
      ["wait", "20"],
    ]);
    await vi.waitFor(() => expect(hasElicitationWaiters(first.json.elicitation.elicitationId)).toBe(true), { timeout: 30_000, interval: 10 });
    await settle("decline", first.json.elicitation.elicitationId, "bob");
    const answer = await retry;
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ error: "access_denied", error_description: "The user declined this request in Frontdesk." });
    expect(Date.now() - started).toBeLessThan(5_000);
    // The same state on REST says so too, without waiting.
    const rest = await call("bob", { request_state: first.json.input_required.requestState, wait: 5 });
    expect(rest.status).toBe(403);
    expect(rest.json.error).toMatchObject({ code: "consent_declined" });
    expect((await retryAudit()).at(-1)).toMatchObject({ decision: "deny", reason: "request_state:declined" });
  });

  it("an elicitation that expires while the retry waits ends the wait with a fresh link that says so", async () => {
    const first = await call("bob", {}, bed.basic, ["notes:read", "notes:write"]);
    const id = first.json.error.data.elicitations[0].elicitationId as string;
    const { getDb } = await import("@/lib/db/client");
    await (await getDb()).elicitation.update({ where: { id }, data: { expiresAt: new Date(Date.now() + 1_500) } });
    const started = Date.now();
    const answer = await call("bob", { request_state: first.json.inputRequired.requestState, wait: 20 }, bed.basic, ["notes:read", "notes:write"]);
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(answer.status).toBe(403);
    const fresh = answer.json.error.data.elicitations[0];
    expect(fresh.elicitationId).not.toBe(id);
    expect(fresh.message).toMatch(/previous link expired/i);
    expect(answer.json.inputRequired.inputRequests.frontdesk_notes.params.url).toBe(fresh.url);
  });
});

describe("a requestState never yields a credential to anyone else (invariant 12)", () => {
  // Alice holds a grant (completed above), so any accepted state would produce her token.
  it("bob's session, another gateway, one changed byte, another tool call, or after expiry: refused and audited", async () => {
    const { sealRequestState } = await import("@/lib/elicitations/request-state");
    const { getRequestStateKeys } = await import("@/lib/elicitations/request-state-keys");
    // A state alice was given for a call that needs more scopes than she has.
    const scopes = ["notes:read", "notes:write"];
    const first = await call("alice", { request_digest: "d1" }, bed.basic, scopes);
    expect(first.status).toBe(403);
    const state = first.json.inputRequired.requestState as string;
    const elicitationId = first.json.error.data.elicitations[0].elicitationId as string;
    await connectNotes(bed, { user: "alice", scope: "notes:read notes:write" });

    // A byte inside the ciphertext (the header and tag are covered by the unit tests).
    const at = state.length - 30;
    const flipped = state.slice(0, at) + (state[at] === "A" ? "B" : "A") + state.slice(at + 1);
    const expired = sealRequestState(await getRequestStateKeys(), {
      gatewayId: bed.basic.id,
      issuer: bed.idp.issuer,
      subject: bed.idp.users.alice.sub,
      providerId: bed.providerId,
      scopes,
      digest: "d1",
      elicitationId,
      expiresAt: new Date(Date.now() - 1000),
    });
    const attempts: [string, () => ReturnType<typeof call>, string][] = [
      ["bob replays alice's state", () => call("bob", { request_state: state, request_digest: "d1" }, bed.basic, scopes), "other_user"],
      ["another gateway replays it", () => call("alice", { request_state: state, request_digest: "d1" }, bed.post, scopes), "other_gateway"],
      ["one byte changed", () => call("alice", { request_state: flipped, request_digest: "d1" }, bed.basic, scopes), "does_not_authenticate"],
      ["another tool call", () => call("alice", { request_state: state, request_digest: "d2" }, bed.basic, scopes), "digest_mismatch"],
      ["after expiry", () => call("alice", { request_state: expired, request_digest: "d1" }, bed.basic, scopes), "expired"],
      ["truncated", () => call("alice", { request_state: state.slice(0, state.lastIndexOf(".") + 1), request_digest: "d1" }, bed.basic, scopes), "does_not_authenticate"],
    ];
    for (const [what, attempt, reason] of attempts) {
      const before = (await retryAudit()).length;
      const { status, json } = await attempt();
      expect(status, what).toBe(400);
      expect(json.error, what).toMatchObject({ code: "invalid_request_state", requestId: expect.stringMatching(/^req_/) });
      expect(JSON.stringify(json), what).not.toMatch(/Bearer|access_token/);
      const rows = await retryAudit();
      expect(rows.length, what).toBe(before + 1);
      expect(rows.at(-1), what).toMatchObject({ decision: "deny", reason: `request_state:${reason}` });
    }
    // The token endpoint refuses the same way, in RFC 6749 shape.
    const viaToken = await exchange("bob", [["request_state", state]]);
    expect(viaToken).toEqual({ status: 400, json: { error: "invalid_request_state", error_description: "request_state was issued for another user" } });
    // Alice's own untouched state still works: the refusals above were about the state alone.
    const own = await call("alice", { request_state: state, request_digest: "d1" }, bed.basic, scopes);
    expect(own.status).toBe(200);
  });

  it("bad retry parameters are structured 4xx errors", async () => {
    const cases: [Record<string, unknown>, number][] = [
      [{ wait: 5 }, 400],
      [{ request_state: "x", wait: 51 }, 400],
      [{ request_state: "x", wait: -1 }, 400],
      [{ request_state: "x", wait: 1.5 }, 400],
      [{ request_state: "", wait: 1 }, 400],
      [{ request_state: "x".repeat(5000) }, 400],
      [{ request_digest: "has spaces" }, 400],
      [{ request_state: 42 }, 400],
    ];
    for (const [extra, status] of cases) {
      const res = await call("alice", extra);
      expect(res.status, JSON.stringify(extra).slice(0, 60)).toBe(status);
      expect(res.json.error.code).toMatch(/^invalid_(body|request_state)$/);
    }
    for (const pairs of [[["wait", "5"]], [["request_state", "x"], ["wait", "99"]], [["request_state", "x"], ["request_state", "y"]], [["request_digest", "a b"]]] as [string, string][][]) {
      const res = await exchange("alice", pairs);
      expect(res.status).toBe(400);
      expect(res.json.error).toBe("invalid_request");
    }
  });
});

describe("a requestState is bound to the verified agent", () => {
  it("a retry by another agent, or without the actor token, is refused and audited; the same agent's retry answers", async () => {
    const { registerAgent } = await import("@/lib/agents/admin");
    const { recordApproval } = await import("@/lib/consent/approvals");
    const { getDb } = await import("@/lib/db/client");
    const admin = { type: "admin" as const, id: "test" };
    const scheduler = await registerAgent({ issuer: agents.issuer, subject: "scheduler-agent" }, admin);
    const report = await registerAgent({ issuer: agents.issuer, subject: "report-agent" }, admin);
    // Alice's connection is approved for the gateway alone (no agent): the scheduler agent's
    // first call needs her approval, so it gets a link and a state bound to that agent.
    const { grantId } = await connectNotes(bed, { user: "alice", scope: "notes:read" });
    const first = await callAs("scheduler-agent", "alice");
    expect(first.status).toBe(403);
    const state = first.json.inputRequired.requestState as string;
    // Now every requester could get alice's token: the gateway alone, the report agent, and
    // (once approved) the scheduler. Only the binding keeps another requester from using the state.
    await (await getDb()).$transaction(async (tx) => {
      for (const agentId of [scheduler.id, report.id]) {
        await recordApproval(tx, { grantId, requester: { gatewayId: bed.basic.id, agentId }, approvedBy: "user", approvedById: bed.users.alice });
      }
    });
    const attempts: [string, () => ReturnType<typeof call>, string | null][] = [
      ["another agent", () => callAs("report-agent", "alice", { request_state: state }), report.id],
      ["the actor token dropped", () => callAs(null, "alice", { request_state: state }), null],
    ];
    for (const [what, attempt, agentId] of attempts) {
      const before = (await retryAudit()).length;
      const { status, json } = await attempt();
      expect(status, what).toBe(400);
      expect(json.error, what).toMatchObject({ code: "invalid_request_state", message: "request_state was issued for another agent (actor_token differs)" });
      expect(JSON.stringify(json), what).not.toMatch(/Bearer|access_token/);
      const rows = await retryAudit();
      expect(rows.length, what).toBe(before + 1);
      expect(rows.at(-1), what).toMatchObject({ decision: "deny", reason: "request_state:other_agent", agentId });
    }
    // The token endpoint refuses the same way.
    const viaToken = await exchange("alice", [["request_state", state]]);
    expect(viaToken).toEqual({ status: 400, json: { error: "invalid_request_state", error_description: "request_state was issued for another agent (actor_token differs)" } });
    // The agent the state was sealed for gets the credential.
    const own = await callAs("scheduler-agent", "alice", { request_state: state });
    expect(own.status).toBe(200);
    expect((await retryAudit()).at(-1)).toMatchObject({ decision: "info", agentId: scheduler.id });

    // And the other way round: a state sealed for a call without an agent opens for no agent.
    const plain = await call("bob");
    const byAgent = await callAs("scheduler-agent", "bob", { request_state: plain.json.inputRequired.requestState });
    expect(byAgent.status).toBe(400);
    expect((await retryAudit()).at(-1)).toMatchObject({ decision: "deny", reason: "request_state:other_agent", agentId: scheduler.id });
  });
});

describe("request-state keys on two instances and through the operator CLI", () => {
  it("a state sealed under a key another instance created after this one loaded its keys opens here (reload on the unknown kid)", async () => {
    const { forgetRequestStateKeys, getRequestStateKeys } = await import("@/lib/elicitations/request-state-keys");
    const { requestStateKeyId } = await import("@/lib/elicitations/request-state");
    // This instance (B) loads its keys now, so it would not re-read them for a minute on its own.
    forgetRequestStateKeys();
    const loaded = await getRequestStateKeys();
    // Instance A, another process on the same database, rotates and seals bob's state with the new key.
    const a = await runFixture<{ keyId: string; status: number; requestState: string | null }>(
      "tests/helpers/request-state-instance-cli.ts",
      {},
      "rotate-and-resolve",
      { frontdeskUrl: base, authorization: auth().authorization, body: { subject_token: await subjectToken("bob"), provider: "notes", scopes: ["notes:read"] } },
      { timeoutMs: 120_000 },
    );
    expect(a.status).toBe(403);
    expect(requestStateKeyId(a.requestState!)).toBe(a.keyId);
    expect(loaded.byId.has(a.keyId)).toBe(false);
    expect((await getRequestStateKeys()).byId.has(a.keyId), "B still holds only the keys it loaded").toBe(false);
    // B opens it: still pending, so a state-only input_required, now sealed by B under A's new key.
    const retry = await call("bob", { request_state: a.requestState, wait: 0 });
    expect(retry.status).toBe(403);
    expect(retry.json.inputRequired).toEqual({ resultType: "input_required", requestState: expect.any(String) });
    expect(requestStateKeyId(retry.json.inputRequired.requestState)).toBe(a.keyId);
    expect((await retryAudit()).at(-1)).toMatchObject({ decision: "info", reason: "request_state:pending" });
  }, 150_000);

  it("keys request-state rotate, then retire: old states open until their key is retired, then are refused and audited", async () => {
    const { runCli } = await import("@/lib/cli/main");
    const { requestStateKeyId } = await import("@/lib/elicitations/request-state");
    const { retireGraceMs, retireRequestStateKeys } = await import("@/lib/elicitations/request-state-keys");
    const { getDb } = await import("@/lib/db/client");
    const retryWith = (state: string) => call("bob", { request_state: state, wait: 0 });
    const sealedNow = async () => (await call("bob")).json.inputRequired.requestState as string;

    const old = await sealedNow();
    const rotated = await runCli(["keys", "request-state", "rotate", "--json"]);
    expect(rotated.exitCode).toBe(0);
    const { keyId } = JSON.parse(rotated.stdout) as { keyId: string };
    expect(keyId).not.toBe(requestStateKeyId(old));
    const fresh = await sealedNow();
    expect(requestStateKeyId(fresh), "the new key seals at once").toBe(keyId);
    expect((await retryWith(old)).status, "the old key still opens").toBe(403);

    // Without --immediately nothing is retired while a state under the old key may be alive.
    const early = await runCli(["keys", "request-state", "retire", "--json"]);
    expect(JSON.parse(early.stdout).retired).toEqual([]);
    expect((await retryWith(old)).status).toBe(403);
    // Once every such state has expired (the grace has passed), retire takes the old key.
    const later = await retireRequestStateKeys({ type: "admin", id: "test" }, { now: new Date(Date.now() + retireGraceMs() + 1_000) });
    expect(later).toContain(requestStateKeyId(old));
    expect(later).not.toContain(keyId);
    const before = (await retryAudit()).length;
    const refused = await retryWith(old);
    expect(refused.status).toBe(400);
    expect(refused.json.error).toMatchObject({ code: "invalid_request_state", message: expect.stringMatching(/no longer holds/) });
    expect(await retryAudit()).toHaveLength(before + 1);
    expect((await retryAudit()).at(-1)).toMatchObject({ decision: "deny", reason: "request_state:unknown_key" });
    expect((await retryWith(fresh)).status, "states under the newest key still open").toBe(403);

    // A key thought exposed: rotate and retire it at once; its live states are refused.
    const again = await runCli(["keys", "request-state", "rotate"]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/^New requestState key: rsk_\S+ \(seals from now on\)/);
    expect(again.stderr).toMatch(/retire them in 11 minutes: npm run frontdesk -- keys request-state retire/);
    const now = await runCli(["keys", "request-state", "retire", "--immediately", "--json"]);
    expect(now.exitCode).toBe(0);
    expect(JSON.parse(now.stdout).retired).toEqual([keyId]);
    expect((await retryWith(fresh)).status).toBe(400);
    expect((await retryAudit()).at(-1)).toMatchObject({ decision: "deny", reason: "request_state:unknown_key" });

    const status = await runCli(["keys", "request-state", "status", "--json"]);
    const keys = (JSON.parse(status.stdout) as { keys: { id: string; role: string }[] }).keys;
    expect(keys[0]!.role).toBe("sealing");
    expect(keys.filter((k) => k.role === "sealing")).toHaveLength(1);
    expect(keys.find((k) => k.id === keyId)!.role).toBe("retired");
    expect(keys.find((k) => k.id === requestStateKeyId(old))!.role).toBe("retired");
    // Both operations are audited with the operator as actor.
    const { flushAudit } = await import("@/lib/audit/append");
    await flushAudit();
    const ops = await (await getDb()).auditEvent.findMany({ where: { action: { startsWith: "request_state_key." } }, orderBy: { seq: "asc" } });
    expect(ops.map((e) => [e.action, e.actorType, e.actorId])).toEqual(
      expect.arrayContaining([
        ["request_state_key.rotated", "admin", "cli"],
        ["request_state_key.retired", "admin", "test"],
        ["request_state_key.retired", "admin", "cli"],
      ]),
    );
  });
});
