// A gateway that behaves like agentgateway's `backendAuth.oauthTokenExchange` toward its caller,
// for e2e tests of the out-of-band path (agentgateway itself cannot run here). The exchange is
// the reference gateway's TokenExchanger, which builds the request and caches answers as
// agentgateway does (demo/gateway/token-exchange.ts). What it does with a refusal comes from
// agentgateway's source (crates/agentgateway/src/http/auth/oauth/transport.rs,
// classify_token_endpoint_error and FetchError::into_proxy_error; crates/agentgateway/src/proxy/
// mod.rs): a 4xx from the token endpoint other than 401/403 becomes ProxyError::InvalidRequest,
// answered as HTTP 400, `text/plain`, body "invalid request"; anything else is a backend
// authentication failure. Frontdesk's `interaction_required` and its consent link are dropped,
// so the caller never sees the link: the user has to be reached some other way.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { TokenExchanger, type ExchangeClient } from "@/demo/gateway/token-exchange";

export interface AgentgatewayShaped {
  url: string;
  /** Token endpoint answers the gateway got, by kind (what the caller never sees). */
  exchanges: { kind: string }[];
  close(): Promise<void>;
}

export async function startAgentgatewayShaped(opts: { client: ExchangeClient; upstream: string; scopes: string[] }): Promise<AgentgatewayShaped> {
  const exchanger = new TokenExchanger(opts.client);
  const exchanges: { kind: string }[] = [];
  const plain = (res: ServerResponse, status: number, text: string) => res.writeHead(status, { "content-type": "text/plain" }).end(text);
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(req.headers.authorization ?? "");
    if (!match) return plain(res, 401, "authentication failure: no bearer token found");
    const result = await exchanger.exchange({ subjectToken: match[1]!, resource: opts.upstream, scopes: opts.scopes });
    exchanges.push({ kind: result.kind });
    if (result.kind === "interaction_required" || result.kind === "rejected") return plain(res, 400, "invalid request");
    if (result.kind === "unavailable") return plain(res, 500, "backend authentication failed");
    const upstream = await fetch(`${opts.upstream.replace(/\/+$/, "")}${req.url ?? "/"}`, {
      headers: { authorization: `Bearer ${result.accessToken}`, accept: req.headers.accept ?? "*/*" },
      redirect: "manual",
    });
    res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/octet-stream" }).end(Buffer.from(await upstream.arrayBuffer()));
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) plain(res, 500, "gateway error");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
