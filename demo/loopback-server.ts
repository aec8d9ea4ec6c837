// A node:http server on 127.0.0.1 (a given or free port) whose close() also ends open
// keep-alive connections, so demo and test servers stop promptly. Shared by every demo server.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<unknown> | void;

export interface LoopbackServer {
  port: number;
  close(): Promise<void>;
}

/** `onError` answers a request whose handler threw (headers may already be sent). */
export async function listenOnLoopback(
  handler: RequestHandler,
  opts: { port?: number; onError?: (res: ServerResponse) => void } = {},
): Promise<LoopbackServer> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    Promise.resolve()
      .then(() => handler(req, res))
      .catch(() => {
        if (res.headersSent) res.end();
        else if (opts.onError) opts.onError(res);
        else res.writeHead(500).end();
      });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
