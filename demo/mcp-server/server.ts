// Reference MCP server (official TypeScript SDK, Streamable HTTP, spec 2025-11-25) with one tool,
// `list_my_notes`, that reads the calling user's notes from the upstream Notes API through the
// egress gateway. It never holds an upstream credential: it forwards the user's identity token to
// the gateway, and the gateway gets the upstream token from Frontdesk.
//
// When the user has not connected Notes yet, the gateway answers with Frontdesk's URL elicitation
// and the tool throws UrlElicitationRequiredError (JSON-RPC -32042, data.elicitations). The
// server then watches that elicitation (long-poll through the gateway) and, when the user has
// completed it in Frontdesk, sends notifications/elicitation/complete to the client session
// that triggered it, which then retries the call.
//
// Sessions are bound to the user who opened them: every request of a session must carry a valid
// token for the same (issuer, subject), so a leaked session id is useless to anyone else.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest, UrlElicitationRequiredError, type ElicitRequestURLParams } from "@modelcontextprotocol/sdk/types.js";
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

interface Session {
  user: VerifiedUser;
  transport: StreamableHTTPServerTransport;
  mcp: McpServer;
  /** Elicitations this session is waiting for (each watched once). */
  watching: Set<string>;
  closed: AbortController;
}

const WATCH_WAIT_SECONDS = 25;
const WATCH_MAX_MS = 15 * 60_000;
const NOTES_TIMEOUT_MS = 20_000;

type GatewayAnswer =
  | { kind: "notes"; owner: string; notes: string[] }
  | { kind: "elicitation"; elicitations: ElicitRequestURLParams[]; message: string }
  | { kind: "error"; message: string };

function isUrlElicitation(e: unknown): e is ElicitRequestURLParams {
  const v = e as Record<string, unknown> | null;
  return !!v && v.mode === "url" && typeof v.elicitationId === "string" && typeof v.url === "string" && typeof v.message === "string";
}

export async function startNotesMcpServer(opts: NotesMcpServerOptions): Promise<NotesMcpServer> {
  const fetchImpl = opts.fetch ?? fetch;
  const log = opts.log ?? (() => {});
  const gateway = opts.gatewayUrl.replace(/\/+$/, "");
  const verifier = new UserTokenVerifier(opts.issuer, opts.audience);
  const sessions = new Map<string, Session>();

  async function readNotes(user: VerifiedUser): Promise<GatewayAnswer> {
    let res: Response;
    try {
      res = await fetchImpl(`${gateway}/notes/notes`, {
        headers: { authorization: `Bearer ${user.token}`, accept: "application/json" },
        signal: AbortSignal.timeout(NOTES_TIMEOUT_MS),
      });
    } catch {
      return { kind: "error", message: "The gateway could not be reached." };
    }
    const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
    if (res.ok && body && typeof body.owner === "string" && Array.isArray(body.notes)) {
      return { kind: "notes", owner: body.owner, notes: body.notes.filter((n): n is string => typeof n === "string") };
    }
    const error = body?.error as { code?: unknown; message?: unknown; data?: { elicitations?: unknown } } | undefined;
    const elicitations = Array.isArray(error?.data?.elicitations) ? error.data.elicitations.filter(isUrlElicitation) : [];
    if (error?.code === -32042 && elicitations.length > 0) {
      return { kind: "elicitation", elicitations, message: typeof error.message === "string" ? error.message : "Authorization required" };
    }
    return { kind: "error", message: `Notes are unavailable (HTTP ${res.status}).` };
  }

  // Long-polls the elicitation's status through the gateway until it settles, then tells the
  // client that triggered it (only on completion; a declined or expired request just ends).
  async function watchElicitation(session: Session, elicitationId: string) {
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
        if (status === "completed") {
          log(`elicitation ${elicitationId.slice(0, 12)}… completed; notifying the client`);
          await session.mcp.server.createElicitationCompletionNotifier(elicitationId)();
          return;
        }
        if (status && status !== "pending") return;
        if (!status) await new Promise((r) => setTimeout(r, 1_000));
      }
    } finally {
      session.watching.delete(elicitationId);
    }
  }

  function createSession(user: VerifiedUser): Session {
    const mcp = new McpServer({ name: "frontdesk-demo-notes", version: "1.0.0" });
    const session: Session = {
      user,
      mcp,
      watching: new Set(),
      closed: new AbortController(),
      transport: new StreamableHTTPServerTransport({
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

    mcp.registerTool(
      "list_my_notes",
      {
        title: "List my notes",
        description: "Lists the notes in the calling user's Notes account. Asks the user to connect Notes first if needed.",
        annotations: { readOnlyHint: true, openWorldHint: true },
      },
      async () => {
        const answer = await readNotes(session.user);
        if (answer.kind === "notes") {
          return {
            content: [{ type: "text", text: `Notes of ${answer.owner}:\n${answer.notes.map((n) => `- ${n}`).join("\n")}` }],
            structuredContent: { owner: answer.owner, notes: answer.notes },
          };
        }
        if (answer.kind === "error") return { isError: true, content: [{ type: "text", text: answer.message }] };
        // Only clients that declared URL-mode elicitation may be sent one (spec 2025-11-25).
        if (!mcp.server.getClientCapabilities()?.elicitation?.url) {
          const links = answer.elicitations.map((e) => `${e.message} ${e.url}`).join("\n");
          return { isError: true, content: [{ type: "text", text: `Authorization required. ${links}` }] };
        }
        for (const e of answer.elicitations) void watchElicitation(session, e.elicitationId);
        throw new UrlElicitationRequiredError(answer.elicitations, answer.message);
      },
    );
    return session;
  }

  async function readJsonBody(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > 1_000_000) throw new Error("too large");
      chunks.push(chunk as Buffer);
    }
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  }

  const jsonRpcError = (res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}) =>
    res
      .writeHead(status, { "content-type": "application/json", ...headers })
      .end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }));

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://mcp");
    if (url.pathname !== "/mcp") return res.writeHead(404).end();
    const user = await verifier.verify(req.headers.authorization);
    if (!user) {
      return jsonRpcError(res, 401, "Send a token from the identity provider as a Bearer token", {
        "www-authenticate": 'Bearer error="invalid_token"',
      });
    }
    const body = req.method === "POST" ? await readJsonBody(req).catch(() => undefined) : undefined;
    if (req.method === "POST" && body === undefined) return jsonRpcError(res, 400, "Invalid JSON");
    const sessionId = req.headers["mcp-session-id"];
    let session: Session | undefined;
    if (typeof sessionId === "string") {
      session = sessions.get(sessionId);
      if (!session) return jsonRpcError(res, 404, "Unknown session");
      if (session.user.subject !== user.subject || session.user.issuer !== user.issuer) {
        return jsonRpcError(res, 403, "This session belongs to another user");
      }
      // A refreshed token for the same user replaces the one the tool forwards.
      session.user = user;
    } else if (req.method === "POST" && isInitializeRequest(body)) {
      session = createSession(user);
      await session.mcp.connect(session.transport);
    } else {
      return jsonRpcError(res, 400, "Missing session id");
    }
    await session.transport.handleRequest(req, res, body);
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
