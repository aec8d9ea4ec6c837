// An elicitation that expires while the MCP client waits, in both protocol revisions, through the
// real chain without a browser: the official SDK clients (v1 on 2025-11-25, v2 pinned to
// 2026-07-28), the reference MCP server (SDK v2), the reference egress gateway, and Frontdesk's
// own token-exchange and elicitation-status handlers (in-process, behind the gateway's fetch) on
// real PostgreSQL with the real IdP and Notes upstream. Neither revision may hang: the wait ends
// with a clear "the previous link expired" and a fresh link, and that fresh link then works.
import { Client as ClientV2, StreamableHTTPClientTransport as StreamableHTTPClientTransportV2 } from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitationCompleteNotificationSchema, UrlElicitationRequiredError, type ElicitRequestURLParams } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { EgressGateway } from "@/demo/gateway/server";
import type { NotesMcpServer } from "@/demo/mcp-server/server";
import { DEMO_MCP_AUDIENCE } from "@/demo/ports";
import { DEMO_FRONTDESK_URL as FRONTDESK, startDemoTestbed, type DemoTestbed } from "../helpers/demo-testbed";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();

let bed: DemoTestbed;
let gateway: EgressGateway;
let mcp: NotesMcpServer;

beforeAll(async () => {
  bed = await startDemoTestbed({ audience: DEMO_MCP_AUDIENCE, users: ["alice", "bob", "carol"] });
  gateway = await bed.startGateway({ mode: "inject" });
  const { startNotesMcpServer } = await import("@/demo/mcp-server/server");
  mcp = await startNotesMcpServer({ issuer: bed.idp.issuer, audience: DEMO_MCP_AUDIENCE, gatewayUrl: gateway.url });
}, 60_000);

afterAll(async () => {
  await mcp?.close();
  await gateway?.close();
  await bed?.close();
});

const userToken = (sub: string) => bed.idp.signSubjectToken({ sub, aud: DEMO_MCP_AUDIENCE, extra: { email: `${sub}@example.test` } });

/** Ends the elicitation's life in about a second and wakes whoever waits on it (as the clock would, sooner). */
async function expireSoon(id: string) {
  const { getDb } = await import("@/lib/db/client");
  const { wakeElicitationWaiters } = await import("@/lib/gateways/elicitation-watch");
  await (await getDb()).elicitation.update({ where: { id }, data: { expiresAt: new Date(Date.now() + 1_000) } });
  wakeElicitationWaiters(id);
}

async function waitUntilWatched(id: string) {
  const { hasElicitationWaiters } = await import("@/lib/gateways/elicitation-watch");
  await vi.waitFor(() => expect(hasElicitationWaiters(id)).toBe(true), { timeout: 30_000, interval: 10 });
}

/** What the portal does when the user finishes: a grant for Notes, approved for the gateway, and the elicitation completed. */
async function completeInPortal(sub: "alice" | "bob" | "carol", elicitationId: string) {
  const { completeElicitation } = await import("@/lib/elicitations/settle");
  const { wakeElicitationWaiters } = await import("@/lib/gateways/elicitation-watch");
  await bed.connectNotes(sub);
  await completeElicitation(elicitationId, { issuer: bed.idp.issuer, subject: sub });
  wakeElicitationWaiters(elicitationId);
}

async function auditActions(elicitationId: string) {
  const { flushAudit } = await import("@/lib/audit/append");
  await flushAudit();
  const rows = await (await (await import("@/lib/db/client")).getDb()).auditEvent.findMany({ orderBy: { seq: "asc" } });
  return rows.filter((r) => JSON.stringify(r.context ?? {}).includes(elicitationId)).map((r) => `${r.action}:${r.reason ?? ""}`);
}

describe("an elicitation that expires while the client waits", () => {
  it("2025-11-25: the waiting client gets notifications/elicitation/complete, and its next call a fresh link saying the previous one expired", async () => {
    const client = new Client({ name: "expiry-2025", version: "1.0.0" }, { capabilities: { elicitation: { url: {} } } });
    const completed = new Set<string>();
    client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => {
      completed.add(n.params.elicitationId);
    });
    const notifiedOf = (id: string) => vi.waitFor(() => expect(completed.has(id), `notifications/elicitation/complete for ${id}`).toBe(true), { timeout: 30_000, interval: 10 });
    await client.connect(new StreamableHTTPClientTransport(new URL(mcp.url), { requestInit: { headers: { authorization: `Bearer ${await userToken("bob")}` } } }));
    try {
      expect(client.getServerVersion()).toBeDefined();
      const call = () => client.callTool({ name: "list_my_notes" }).then(() => null, (e: unknown) => e);
      const first = await call();
      expect(first).toBeInstanceOf(UrlElicitationRequiredError);
      const e1 = (first as UrlElicitationRequiredError).elicitations[0] as ElicitRequestURLParams;
      expect(e1.message).not.toMatch(/expired/i);
      // The MCP server watches the elicitation (long-poll through the gateway); it expires meanwhile.
      await waitUntilWatched(e1.elicitationId);
      const expiringAt = Date.now();
      await expireSoon(e1.elicitationId);
      await notifiedOf(e1.elicitationId);
      const notifiedAfter = Date.now() - expiringAt;
      expect(notifiedAfter).toBeLessThan(10_000);

      // The client calls again (as the SDK's URL-elicitation flow does on completion): a fresh link, not a hang or a bare error.
      const second = await call();
      expect(second).toBeInstanceOf(UrlElicitationRequiredError);
      const e2 = (second as UrlElicitationRequiredError).elicitations[0] as ElicitRequestURLParams;
      expect(e2.elicitationId).not.toBe(e1.elicitationId);
      expect(e2.url).toBe(`${FRONTDESK}/connect/${e2.elicitationId}`);
      expect((second as UrlElicitationRequiredError).message).toMatch(/The previous link expired\./);
      expect(await auditActions(e1.elicitationId)).toEqual(expect.arrayContaining(["elicitation.expired:", "request_state.retry:request_state:expired"]));
      console.log(`2025-11-25: expiry -> notifications/elicitation/complete in ${notifiedAfter} ms`);

      // And the fresh link works: completed, the next call returns bob's notes.
      await waitUntilWatched(e2.elicitationId);
      await completeInPortal("bob", e2.elicitationId);
      await notifiedOf(e2.elicitationId);
      const notes = await client.callTool({ name: "list_my_notes" });
      expect(notes.isError ?? false).toBe(false);
      expect(notes.structuredContent).toMatchObject({ owner: "bob" });
    } finally {
      await client.close();
    }
  }, 120_000);

  it("2026-07-28: the waiting retry ends with a fresh link saying the previous one expired, and the automatic retry on it returns the notes", async () => {
    const links: { url: string; message: string }[] = [];
    let onLink: (() => void) | undefined;
    const client = new ClientV2(
      { name: "expiry-2026", version: "1.0.0" },
      { capabilities: { elicitation: { url: {} } }, versionNegotiation: { mode: { pin: "2026-07-28" } } },
    );
    client.setRequestHandler("elicitation/create", async (request) => {
      const params = request.params as { url?: string; message?: string };
      links.push({ url: String(params.url), message: String(params.message) });
      onLink?.();
      return { action: "accept" };
    });
    await client.connect(new StreamableHTTPClientTransportV2(new URL(mcp.url), { requestInit: { headers: { authorization: `Bearer ${await userToken("alice")}` } } }));
    try {
      const nextLink = (n: number) => vi.waitFor(() => expect(links.length).toBeGreaterThanOrEqual(n), { timeout: 30_000, interval: 10 });
      const idOf = (link: { url: string }) => link.url.split("/").pop()!;
      // One tool call; the SDK runs every round (links, retries) inside it.
      const result = client.callTool({ name: "list_my_notes" });
      await nextLink(1);
      const e1 = idOf(links[0]!);
      expect(links[0]!.message).not.toMatch(/expired/i);
      // The client's retry is waiting at Frontdesk (requestState + wait) when the link expires.
      await waitUntilWatched(e1);
      const expiringAt = Date.now();
      await expireSoon(e1);
      await nextLink(2);
      const freshAfter = Date.now() - expiringAt;
      expect(freshAfter).toBeLessThan(10_000);
      const e2 = idOf(links[1]!);
      expect(e2).not.toBe(e1);
      expect(links[1]!.url).toBe(`${FRONTDESK}/connect/${e2}`);
      expect(links[1]!.message).toMatch(/^The previous link expired\./);
      console.log(`2026-07-28: expiry while the retry waits -> fresh link in ${freshAfter} ms`);
      // The next round waits on the fresh link; the user completes it; the same tool call returns the notes.
      await waitUntilWatched(e2);
      await completeInPortal("alice", e2);
      const done = await result;
      expect(done.isError ?? false).toBe(false);
      expect(done.structuredContent).toMatchObject({ owner: "alice" });
      expect(links).toHaveLength(2);
      expect(await auditActions(e1)).toEqual(expect.arrayContaining(["elicitation.expired:", "request_state.retry:request_state:expired"]));
    } finally {
      await client.close();
    }
  }, 120_000);

  it("2025-11-25: a remembered state Frontdesk refuses (its key retired meanwhile) does not end the session's next call: it asks again without it", async () => {
    const client = new Client({ name: "refused-2025", version: "1.0.0" }, { capabilities: { elicitation: { url: {} } } });
    const completed = new Set<string>();
    client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => {
      completed.add(n.params.elicitationId);
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(mcp.url), { requestInit: { headers: { authorization: `Bearer ${await userToken("carol")}` } } }));
    try {
      const first = await client.callTool({ name: "list_my_notes" }).then(() => null, (e: unknown) => e);
      expect(first).toBeInstanceOf(UrlElicitationRequiredError);
      const e1 = (first as UrlElicitationRequiredError).elicitations[0] as ElicitRequestURLParams;
      const { rotateRequestStateKey, retireRequestStateKeys } = await import("@/lib/elicitations/request-state-keys");
      await rotateRequestStateKey({ type: "admin", id: "test" });
      await retireRequestStateKeys({ type: "admin", id: "test" }, { immediately: true });
      await waitUntilWatched(e1.elicitationId);
      await completeInPortal("carol", e1.elicitationId);
      await vi.waitFor(() => expect(completed.has(e1.elicitationId)).toBe(true), { timeout: 30_000, interval: 10 });
      const notes = await client.callTool({ name: "list_my_notes" });
      expect(notes.isError ?? false).toBe(false);
      expect(notes.structuredContent).toMatchObject({ owner: "carol" });
      expect(await auditActions(e1.elicitationId)).not.toContain("request_state.retry:request_state:completed");
      const { flushAudit } = await import("@/lib/audit/append");
      await flushAudit();
      const refused = await (await (await import("@/lib/db/client")).getDb()).auditEvent.findFirst({
        where: { action: "request_state.retry", reason: "request_state:unknown_key", userId: bed.users.carol },
      });
      expect(refused).not.toBeNull();
    } finally {
      await client.close();
    }
  }, 120_000);
});
