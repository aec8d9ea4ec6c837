// Reference MCP server on the official TypeScript SDK v2 (@modelcontextprotocol/server 2.4),
// one URL for both protocol revisions, with one tool, `list_my_notes`, that reads the calling
// user's notes from the upstream Notes API through the egress gateway. It never holds an
// upstream credential: it forwards the user's identity token to the gateway, and the gateway
// gets the upstream token from Frontdesk.
//
// When the user has not connected Notes yet, the gateway answers with Frontdesk's consent-needed
// body in both revisions, and the tool answers in the one its client speaks:
//  - 2025-11-25 (sessionful Streamable HTTP, `initialize`): it throws UrlElicitationRequiredError
//    (JSON-RPC -32042), watches the elicitation through the gateway's long-poll and, once the
//    user has finished in Frontdesk (completed, declined, or expired), sends
//    notifications/elicitation/complete to the session that triggered it. The client then calls
//    again; the server passes the requestState Frontdesk gave it for that session, so the retry
//    answers with the notes, a clear "declined", or a fresh link.
//  - 2026-07-28 (per request, `server/discover`): it returns Frontdesk's `input_required` result
//    unchanged; the client opens the link and retries with the requestState, which the server
//    passes back to Frontdesk (through the gateway) to wait for the user, bounded.
//
// Every request must carry a valid token from the identity provider; a 2025 session is bound to
// the user who opened it, so a leaked session id is useless to anyone else.
import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { NodeStreamableHTTPServerTransport, toNodeHandler, toWebRequest } from "@modelcontextprotocol/node";
import {
  createMcpHandler,
  isInitializeRequest,
  isLegacyRequest,
  McpServer,
  UrlElicitationRequiredError,
  type CallToolResult,
  type ElicitRequestURLParams,
  type InputRequiredResult,
} from "@modelcontextprotocol/server";
import { RETRY_HEADERS } from "../gateway/server";
import { listenOnLoopback } from "../loopback-server";
import { UserTokenVerifier, type VerifiedUser } from "./user-token";

export interface NotesMcpServerOptions {
  /** The identity provider whose JWTs identify users (`iss`). */
  issuer: string;
  /** The `aud` user tokens must carry to be accepted here. */
  audience: string;
  /** The egress gateway's base URL; the Notes API is its `notes` route. */
  gatewayUrl: string;
  port?: number;
  /** Used for every call to the gateway (tests pass a recording fetch). */
  fetch?: typeof fetch;
  log?: (line: string) => void;
}

export interface NotesMcpServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

interface LegacySession {
  user: VerifiedUser;
  transport: NodeStreamableHTTPServerTransport;
  mcp: McpServer;
  /** The requestState of the last consent-needed answer in this session, for the next call. */
  requestState: string | undefined;
  /** Elicitations this session is waiting for (each watched once). */
  watching: Set<string>;
  closed: AbortController;
}

/**
 * How long a 2026-07-28 retry waits at Frontdesk for the user. The SDK v2 client gives each
 * round its own request timeout (60 s by default) and retries up to 10 rounds, so 45 s rounds
 * give a user about 7 minutes in the browser (docs/integration-guide.md).
 */
export const RETRY_WAIT_SECONDS = 45;
const WATCH_WAIT_SECONDS = 25;
const WATCH_MAX_MS = 15 * 60_000;
const NOTES_TIMEOUT_MS = 20_000;

type GatewayAnswer =
  | { kind: "notes"; owner: string; notes: string[] }
  | { kind: "consent"; elicitations: ElicitRequestURLParams[]; message: string; inputRequired: InputRequiredResult | null }
  | { kind: "declined"; message: string }
  | { kind: "state_refused"; message: string }
  | { kind: "error"; message: string };

function isUrlElicitation(e: unknown): e is ElicitRequestURLParams {
  const v = e as Record<string, unknown> | null;
  return !!v && v.mode === "url" && typeof v.elicitationId === "string" && typeof v.url === "string" && typeof v.message === "string";
}

function isInputRequired(v: unknown): v is InputRequiredResult {
  const r = v as Record<string, unknown> | null;
  return !!r && r.resultType === "input_required" && typeof r.requestState === "string";
}

/** A digest of the tool call, bound into Frontdesk's requestState: a state is good for this call only. */
function toolCallDigest(name: string, args: unknown): string {
  return `sha256:${createHash("sha256").update(JSON.stringify(["tools/call", name, args ?? {}])).digest("base64url")}`;
}

const notesResult = (owner: string, notes: string[]): CallToolResult => ({
  content: [{ type: "text", text: `Notes of ${owner}:\n${notes.map((n) => `- ${n}`).join("\n")}` }],
  structuredContent: { owner, notes },
});
const toolError = (text: string): CallToolResult => ({ isError: true, content: [{ type: "text", text }] });

export async function startNotesMcpServer(opts: NotesMcpServerOptions): Promise<NotesMcpServer> {
  const fetchImpl = opts.fetch ?? fetch;
  const log = opts.log ?? (() => {});
  const gateway = opts.gatewayUrl.replace(/\/+$/, "");
  const verifier = new UserTokenVerifier(opts.issuer, opts.audience);
  const sessions = new Map<string, LegacySession>();

  async function readNotes(user: VerifiedUser, call: { digest: string; requestState?: string; waitSeconds?: number }): Promise<GatewayAnswer> {
    const headers: Record<string, string> = { authorization: `Bearer ${user.token}`, accept: "application/json", [RETRY_HEADERS.digest]: call.digest };
    if (call.requestState) {
      headers[RETRY_HEADERS.requestState] = call.requestState;
      headers[RETRY_HEADERS.wait] = String(call.waitSeconds ?? 0);
    }
    let res: Response;
    try {
      res = await fetchImpl(`${gateway}/notes/notes`, { headers, signal: AbortSignal.timeout(NOTES_TIMEOUT_MS + (call.waitSeconds ?? 0) * 1000) });
    } catch {
      return { kind: "error", message: "The gateway could not be reached." };
    }
    const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
    if (res.ok && body && typeof body.owner === "string" && Array.isArray(body.notes)) {
      return { kind: "notes", owner: body.owner, notes: body.notes.filter((n): n is string => typeof n === "string") };
    }
    const description = typeof body?.error_description === "string" ? body.error_description : "";
    if (body?.error === "access_denied") return { kind: "declined", message: description || "The request was declined in Frontdesk." };
    if (body?.error === "invalid_request_state") return { kind: "state_refused", message: description };
    const error = body?.error as { code?: unknown; message?: unknown; data?: { elicitations?: unknown } } | undefined;
    const elicitations = Array.isArray(error?.data?.elicitations) ? error.data.elicitations.filter(isUrlElicitation) : [];
    if (error?.code === -32042 && elicitations.length > 0) {
      return {
        kind: "consent",
        elicitations,
        message: typeof error.message === "string" ? error.message : "Authorization required",
        inputRequired: isInputRequired(body?.inputRequired) ? body.inputRequired : null,
      };
    }
    return { kind: "error", message: `Notes are unavailable (HTTP ${res.status}).` };
  }

  // Long-polls the elicitation's status through the gateway until it settles, then tells the
  // client that triggered it, whatever the outcome: its next call learns which (notes,
  // declined, or a fresh link), so no call waits for an interaction that is already over.
  async function watchElicitation(session: LegacySession, elicitationId: string) {
    if (session.watching.has(elicitationId)) return;
    session.watching.add(elicitationId);
    const deadline = Date.now() + WATCH_MAX_MS;
    try {
      while (!session.closed.signal.aborted && Date.now() < deadline) {
        let status: string | undefined;
        try {
          const res = await fetchImpl(`${gateway}/elicitations/${encodeURIComponent(elicitationId)}?wait=${WATCH_WAIT_SECONDS}`, {
            signal: AbortSignal.any([session.closed.signal, AbortSignal.timeout((WATCH_WAIT_SECONDS + 15) * 1000)]),
          });
          if (res.status === 404) return;
          status = res.ok ? ((await res.json()) as { status?: string }).status : undefined;
        } catch {
          if (session.closed.signal.aborted) return;
        }
        if (status && status !== "pending") {
          log(`elicitation ${elicitationId.slice(0, 12)}… ${status}; notifying the client`);
          await session.mcp.server.createElicitationCompletionNotifier(elicitationId)();
          return;
        }
        if (!status) await new Promise((r) => setTimeout(r, 1_000));
      }
    } finally {
      session.watching.delete(elicitationId);
    }
  }

  const TOOL = {
    title: "List my notes",
    description: "Lists the notes in the calling user's Notes account. Asks the user to connect Notes first if needed.",
    annotations: { readOnlyHint: true, openWorldHint: true },
  };

  // 2025-11-25: -32042 and the completion notification, over a session.
  function createLegacySession(user: VerifiedUser): LegacySession {
    const mcp = new McpServer({ name: "frontdesk-demo-notes", version: "2.0.0" });
    const session: LegacySession = {
      user,
      mcp,
      requestState: undefined,
      watching: new Set(),
      closed: new AbortController(),
      transport: new NodeStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, session);
        },
      }),
    };
    session.transport.onclose = () => {
      session.closed.abort();
      if (session.transport.sessionId) sessions.delete(session.transport.sessionId);
    };
    mcp.registerTool("list_my_notes", TOOL, async (): Promise<CallToolResult> => {
      const digest = toolCallDigest("list_my_notes", {});
      // The call after a completion notification: Frontdesk's state says which elicitation.
      const remembered = session.requestState;
      session.requestState = undefined;
      let answer = await readNotes(session.user, { digest, requestState: remembered, waitSeconds: 0 });
      let expired = false;
      if (answer.kind === "state_refused") {
        // Typically the link expired (or its key was retired): a call without the state gets a fresh one.
        expired = /expired/i.test(answer.message);
        answer = await readNotes(session.user, { digest });
      }
      if (answer.kind === "notes") return notesResult(answer.owner, answer.notes);
      if (answer.kind === "declined") return toolError(`Declined: ${answer.message}`);
      if (answer.kind !== "consent") return toolError(answer.message);
      // Only clients that declared URL-mode elicitation may be sent one (spec 2025-11-25).
      if (!mcp.server.getClientCapabilities()?.elicitation?.url) {
        const links = answer.elicitations.map((e) => `${e.message} ${e.url}`).join("\n");
        return toolError(`Authorization required. ${links}`);
      }
      session.requestState = answer.inputRequired?.requestState;
      for (const e of answer.elicitations) void watchElicitation(session, e.elicitationId);
      const message = expired ? `The previous link expired. ${answer.message}` : answer.message;
      throw new UrlElicitationRequiredError(answer.elicitations, message);
    });
    return session;
  }

  // 2026-07-28: a fresh server per request; the user comes from the verified token.
  const modern = toNodeHandler(
    createMcpHandler(
      ({ authInfo }) => {
        const user = authInfo?.extra?.user as VerifiedUser;
        const mcp = new McpServer({ name: "frontdesk-demo-notes", version: "2.0.0" }, { capabilities: { tools: {} } });
        mcp.registerTool("list_my_notes", TOOL, async (ctx): Promise<CallToolResult | InputRequiredResult> => {
          const digest = toolCallDigest("list_my_notes", {});
          // Without a verify hook the SDK hands over the state as sent; Frontdesk verifies it.
          const requestState = ctx.mcpReq.requestState<string>();
          const responses = Object.values(ctx.mcpReq.inputResponses ?? {}) as { action?: string }[];
          if (requestState !== undefined && responses.some((r) => r.action !== undefined && r.action !== "accept")) {
            return toolError("Declined: you chose not to open the Frontdesk link.");
          }
          const answer = await readNotes(user, { digest, requestState, waitSeconds: RETRY_WAIT_SECONDS });
          if (answer.kind === "notes") return notesResult(answer.owner, answer.notes);
          if (answer.kind === "declined") return toolError(`Declined: ${answer.message}`);
          if (answer.kind === "consent" && answer.inputRequired) return answer.inputRequired;
          if (answer.kind === "consent") return toolError(`Authorization required. ${answer.elicitations.map((e) => e.url).join(" ")}`);
          return toolError(answer.message);
        });
        return mcp;
      },
      { legacy: "reject" },
    ),
  );

  const jsonRpcError = (res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}) =>
    res
      .writeHead(status, { "content-type": "application/json", ...headers })
      .end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }));

  async function handleLegacy(req: IncomingMessage, res: ServerResponse, user: VerifiedUser, body: unknown) {
    const sessionId = req.headers["mcp-session-id"];
    let session: LegacySession | undefined;
    if (typeof sessionId === "string") {
      session = sessions.get(sessionId);
      if (!session) return jsonRpcError(res, 404, "Unknown session");
      if (session.user.subject !== user.subject || session.user.issuer !== user.issuer) {
        return jsonRpcError(res, 403, "This session belongs to another user");
      }
      // A refreshed token for the same user replaces the one the tool forwards.
      session.user = user;
    } else if (req.method === "POST" && isInitializeRequest(body)) {
      session = createLegacySession(user);
      await session.mcp.connect(session.transport);
    } else {
      return jsonRpcError(res, 400, "Missing session id");
    }
    await session.transport.handleRequest(req, res, body);
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://mcp");
    if (url.pathname !== "/mcp") return res.writeHead(404).end();
    const user = await verifier.verify(req.headers.authorization);
    if (!user) {
      return jsonRpcError(res, 401, "Send a token from the identity provider as a Bearer token", {
        "www-authenticate": 'Bearer error="invalid_token"',
      });
    }
    // The revision is the request's own: 2026-07-28 requests carry the per-request _meta envelope.
    const request = await toWebRequest(req);
    const legacy = await isLegacyRequest(request);
    const body: unknown = req.method === "POST" ? await request.json().catch(() => undefined) : undefined;
    if (req.method === "POST" && body === undefined) return jsonRpcError(res, 400, "Invalid JSON");
    if (legacy) return handleLegacy(req, res, user, body);
    (req as IncomingMessage & { auth?: unknown }).auth = { token: user.token, clientId: "notes-mcp", scopes: [], extra: { user } };
    await modern(req, res, body);
  };

  const server = await listenOnLoopback(handle, { port: opts.port, onError: (res) => jsonRpcError(res, 500, "Internal error") });
  const { port } = server;
  return {
    url: `http://localhost:${port}/mcp`,
    port,
    async close() {
      for (const s of sessions.values()) await s.transport.close().catch(() => undefined);
      sessions.clear();
      await server.close();
    },
  };
}
