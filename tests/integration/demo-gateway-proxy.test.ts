// The reference egress gateway in proxy mode (the demo's default) against Frontdesk's real egress
// proxy and elicitation handlers (in-process through the gateway's fetch), real PostgreSQL and the
// real demo IdP and Notes upstream: consent needed is relayed as the -32042 body; Frontdesk's
// refusals reach the MCP server in the gateway's own error contract (a declined retry is
// access_denied, a forged requestState invalid_request_state, a bad user token a 401), exactly
// as in inject mode; notes come back through Frontdesk while nothing the gateway received, sent
// or logged holds the upstream token.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EgressGateway } from "@/demo/gateway/server";
import { DEMO_FRONTDESK_URL as FRONTDESK, startDemoTestbed, type DemoTestbed } from "../helpers/demo-testbed";
import { frontdeskHandlersFetch } from "../helpers/frontdesk-fetch";
import { recordTraffic, type TrafficLog } from "../helpers/mcp-traffic";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();

const AUDIENCE = "notes-mcp";

let bed: DemoTestbed;
let gateway: EgressGateway;
let traffic: TrafficLog;
const logs: string[] = [];

const userToken = (sub: string) => bed.idp.signSubjectToken({ sub, aud: AUDIENCE });
async function getNotes(token: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${gateway.url}/notes/notes`, { headers: { authorization: `Bearer ${token}`, ...headers } });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

beforeAll(async () => {
  bed = await startDemoTestbed({ audience: AUDIENCE, users: ["alice"] });
  traffic = recordTraffic(await frontdeskHandlersFetch(FRONTDESK));
  gateway = await bed.startGateway({ mode: "proxy", fetch: traffic.fetch, log: (line) => logs.push(line) });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await bed?.close();
});

describe("reference gateway, proxy mode", () => {
  let state: string;
  let elicitationId: string;

  it("relays consent needed as Frontdesk's -32042 body with the 2026 requestState", async () => {
    const res = await getNotes(await userToken("alice"));
    expect(res.status).toBe(403);
    const body = JSON.parse(res.text) as { error: { code: number; data: { elicitations: { elicitationId: string; url: string }[] } }; inputRequired: { requestState: string } };
    expect(body.error.code).toBe(-32042);
    elicitationId = body.error.data.elicitations[0]!.elicitationId;
    expect(body.error.data.elicitations[0]!.url).toBe(`${FRONTDESK}/connect/${elicitationId}`);
    state = body.inputRequired.requestState;
    expect(logs.at(-1)).toMatch(/via Frontdesk -> consent needed/);
  });

  it("a forged requestState is the MCP server's invalid_request_state (400), a bad user token its 401", async () => {
    const forged = await getNotes(await userToken("alice"), { "frontdesk-request-state": `${state.slice(0, -4)}AAAA`, "frontdesk-wait": "0" });
    expect(forged.status).toBe(400);
    expect(JSON.parse(forged.text)).toMatchObject({ error: "invalid_request_state", error_description: expect.any(String) });
    const badToken = await getNotes(`${(await userToken("alice")).slice(0, -6)}AAAAAA`);
    expect(badToken.status).toBe(401);
    expect(badToken.headers.get("www-authenticate")).toMatch(/invalid_token/);
  });

  it("once alice declines, the retry with her requestState is access_denied (the MCP server's 'declined')", async () => {
    const { declineElicitation } = await import("@/lib/elicitations/settle");
    await declineElicitation(elicitationId, { issuer: bed.idp.issuer, subject: "alice" });
    const retry = await getNotes(await userToken("alice"), { "frontdesk-request-state": state, "frontdesk-wait": "0" });
    expect(retry.status).toBe(403);
    expect(JSON.parse(retry.text)).toMatchObject({ error: "access_denied" });
  });

  it("once connected, notes come back through Frontdesk; the gateway never held the token", async () => {
    const minted = await bed.connectNotes("alice");
    const res = await getNotes(await userToken("alice"));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ owner: "alice", notes: ["Follow the white rabbit", "Tea party at six"] });
    expect(bed.upstream.stats.apiRequests.at(-1)).toMatchObject({ accountId: "alice", token: minted.accessToken });
    await traffic.settle();
    const seen = traffic.text();
    expect(seen).toContain("/api/v1/proxy/notes/notes");
    expect(seen).toContain("Follow the white rabbit");
    expect(logs.join("\n")).toContain("via Frontdesk -> 200");
    for (const secret of [minted.accessToken, minted.refreshToken]) {
      expect(secret.length).toBeGreaterThan(20);
      expect(seen.includes(secret)).toBe(false);
      expect(logs.join("\n").includes(secret)).toBe(false);
    }
  });
});
