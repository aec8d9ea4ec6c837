// The whole MCP path for an e2e spec, all real and on 127.0.0.1: the e2e environment (PostgreSQL,
// the demo IdP, the Notes upstream, a built Frontdesk), the demo seed (Notes provider, the
// reference egress gateway's registration and policy), the reference egress gateway and the
// reference MCP server. The MCP server's calls to the gateway are recorded for leak checks.
import path from "node:path";
import { Client as ClientV2, StreamableHTTPClientTransport as StreamableHTTPClientTransportV2 } from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitationCompleteNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { startEgressGateway, WEBHOOK_PATH, type EgressGateway } from "@/demo/gateway/server";
import { startNotesMcpServer, type NotesMcpServer } from "@/demo/mcp-server/server";
import { DEMO_MCP_AUDIENCE, DEMO_NOTES_SCOPES, DEMO_PROVIDER_SLUG } from "@/demo/ports";
import type { SeedDemoResult } from "@/demo/seed";
import { startE2eEnvironment, UPSTREAM_PROVIDER_SLUG, type E2eEnvironment } from "./e2e-environment";
import { runFixture } from "./fixture-process";
import { recordTraffic, type TrafficLog } from "./mcp-traffic";
import { freePort } from "./postgres-cluster";

export interface McpEnvironment {
  e2e: E2eEnvironment;
  seed: SeedDemoResult;
  gateway: EgressGateway;
  mcp: NotesMcpServer;
  /** Everything the MCP server exchanged with the gateway. */
  mcpServerTraffic: TrafficLog;
  /** Everything the gateway sent out (to Frontdesk: the egress proxy, status, JWKS) and got back. */
  gatewayTraffic: TrafficLog;
  /** What the gateway and the MCP server logged. */
  logs: { gateway: string[]; mcpServer: string[] };
  stop(): Promise<void>;
}

/** Runs a command of tests/helpers/mcp-seed-cli.ts with the Frontdesk server's environment. */
export async function runDemoFixture<T>(
  e2e: E2eEnvironment,
  command: "seed" | "credential" | "audit",
  input: Record<string, unknown>,
  extraEnv: Record<string, string> = {},
): Promise<T> {
  // Generous: the timeout only ends a hang (a loaded CI machine takes a minute to start tsx + Prisma).
  return runFixture<T>(path.join("tests", "helpers", "mcp-seed-cli.ts"), { ...e2e.env, ...extraEnv }, command, input, { timeoutMs: 240_000 });
}

export async function startMcpEnvironment(): Promise<McpEnvironment> {
  if (UPSTREAM_PROVIDER_SLUG !== DEMO_PROVIDER_SLUG) throw new Error("the e2e upstream must be registered under the demo provider slug");
  // Frontdesk accepts the demo IdP's user tokens minted for the MCP server (their audience).
  const e2e = await startE2eEnvironment({ env: { SUBJECT_TOKEN_AUDIENCES: DEMO_MCP_AUDIENCE } });
  try {
    const { upstream, frontdesk } = e2e;
    // The gateway's port is chosen first so that its webhook URL can be registered with it.
    const gatewayPort = await freePort();
    const gatewayOrigin = `http://localhost:${gatewayPort}`;
    const seed = await runDemoFixture<SeedDemoResult>(
      e2e,
      "seed",
      {
        notes: { issuer: upstream.issuer, apiUrl: upstream.apiUrl, clientId: upstream.clientId, clientSecret: upstream.clientSecret },
        gatewayWebhookUrl: `${gatewayOrigin}${WEBHOOK_PATH}`,
      },
      // A plain-http webhook URL is accepted only for origins named here (development and tests).
      { FRONTDESK_INSECURE_HTTP_ISSUERS: `${e2e.env.FRONTDESK_INSECURE_HTTP_ISSUERS},${gatewayOrigin}` },
    );
    const meta = (await (await fetch(`${frontdesk.url}/.well-known/oauth-authorization-server`)).json()) as { token_endpoint: string };
    const logs: McpEnvironment["logs"] = { gateway: [], mcpServer: [] };
    const gatewayTraffic = recordTraffic();
    // Proxy mode, as the demo runs it: the gateway never holds an upstream token either.
    const gateway = await startEgressGateway({
      port: gatewayPort,
      frontdeskUrl: frontdesk.url,
      client: { tokenEndpoint: meta.token_endpoint, clientId: seed.gatewayId, clientSecret: seed.gatewaySecret },
      routes: [{ name: DEMO_PROVIDER_SLUG, target: upstream.apiUrl, scopes: DEMO_NOTES_SCOPES }],
      mode: "proxy",
      fetch: gatewayTraffic.fetch,
      log: (line) => logs.gateway.push(line),
    });
    const mcpServerTraffic = recordTraffic();
    const mcp = await startNotesMcpServer({
      issuer: e2e.idp.issuer,
      audience: DEMO_MCP_AUDIENCE,
      gatewayUrl: gateway.url,
      fetch: mcpServerTraffic.fetch,
      log: (line) => logs.mcpServer.push(line),
    });
    return {
      e2e,
      seed,
      gateway,
      mcp,
      mcpServerTraffic,
      gatewayTraffic,
      logs,
      async stop() {
        await mcp.close();
        await gateway.close();
        await e2e.stop();
      },
    };
  } catch (e) {
    await e2e.stop();
    throw e;
  }
}

export interface McpUserClient {
  client: Client;
  traffic: TrafficLog;
  /** Resolves with the elicitation id of the next notifications/elicitation/complete for `id`. */
  completion(id: string, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

/** An official SDK client declaring URL-mode elicitation, as `user` (a demo IdP token for the MCP server). */
export async function connectMcpClient(env: McpEnvironment, user: "alice" | "bob"): Promise<McpUserClient> {
  const token = await env.e2e.idp.signSubjectToken({ sub: user, aud: DEMO_MCP_AUDIENCE, extra: { email: `${user}@example.test` } });
  const traffic = recordTraffic();
  const waiters = new Map<string, (id: string) => void>();
  const seen = new Set<string>();
  const client = new Client({ name: `e2e-${user}`, version: "1.0.0" }, { capabilities: { elicitation: { url: {} } } });
  client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => {
    seen.add(n.params.elicitationId);
    waiters.get(n.params.elicitationId)?.(n.params.elicitationId);
  });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(env.mcp.url), { requestInit: { headers: { authorization: `Bearer ${token}` } }, fetch: traffic.fetch }),
  );
  return {
    client,
    traffic,
    completion(id, timeoutMs = 20_000) {
      if (seen.has(id)) return Promise.resolve(id);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no notifications/elicitation/complete for ${id} within ${timeoutMs} ms`)), timeoutMs);
        waiters.set(id, (got) => {
          clearTimeout(timer);
          resolve(got);
        });
      });
    },
    close: () => client.close(),
  };
}

export interface McpV2UserClient {
  client: ClientV2;
  traffic: TrafficLog;
  /** The next URL elicitation the SDK hands to the client's `elicitation/create` handler. */
  nextLink(timeoutMs?: number): Promise<{ url: string; message: string }>;
  /** How the handler answers embedded URL requests ("accept": the user will open the link). */
  answer: { action: "accept" | "decline" };
  close(): Promise<void>;
}

/**
 * The official SDK v2 client as `user`, declaring URL-mode elicitation, negotiating `revision`
 * (a pin, or auto). Its automatic input_required handling stays on, as a real client's would:
 * the handler records each link it is given and answers `answer.action`.
 */
export async function connectMcpClientV2(env: McpEnvironment, user: "alice" | "bob", revision: "2026-07-28" | "auto"): Promise<McpV2UserClient> {
  const token = await env.e2e.idp.signSubjectToken({ sub: user, aud: DEMO_MCP_AUDIENCE, extra: { email: `${user}@example.test` } });
  const traffic = recordTraffic();
  const links: { url: string; message: string }[] = [];
  const waiting: ((link: { url: string; message: string }) => void)[] = [];
  const answer: McpV2UserClient["answer"] = { action: "accept" };
  const client = new ClientV2(
    { name: `e2e-v2-${user}`, version: "1.0.0" },
    { capabilities: { elicitation: { url: {} } }, versionNegotiation: { mode: revision === "auto" ? "auto" : { pin: revision } } },
  );
  client.setRequestHandler("elicitation/create", async (request) => {
    const params = request.params as { url?: string; message?: string };
    const link = { url: String(params.url), message: String(params.message) };
    const next = waiting.shift();
    if (next) next(link);
    else links.push(link);
    return { action: answer.action };
  });
  await client.connect(
    new StreamableHTTPClientTransportV2(new URL(env.mcp.url), { requestInit: { headers: { authorization: `Bearer ${token}` } }, fetch: traffic.fetch }),
  );
  return {
    client,
    traffic,
    answer,
    nextLink(timeoutMs = 30_000) {
      const ready = links.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no elicitation link within ${timeoutMs} ms`)), timeoutMs);
        waiting.push((link) => {
          clearTimeout(timer);
          resolve(link);
        });
      });
    },
    close: () => client.close(),
  };
}
