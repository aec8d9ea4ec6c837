// A webhook receiver for outbox tests (a real HTTP server on 127.0.0.1): records every request
// with the decoded (unverified) JWT claims, and answers as the test says.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { decodeJwt, decodeProtectedHeader } from "jose";

export interface ReceivedEvent {
  at: number;
  contentType: string;
  body: string;
  claims: Record<string, unknown>;
  typ: string | undefined;
  jti: string;
}

export interface Receiver {
  url: string;
  received: ReceivedEvent[];
  /** How many requests for each jti are being handled right now, and the most seen at once. */
  maxConcurrentPerJti: number;
  close(): Promise<void>;
  waitFor(predicate: (received: ReceivedEvent[]) => boolean, timeoutMs?: number): Promise<void>;
}

export type Answer = (event: ReceivedEvent, attempt: number) => number | Promise<number> | "hang";

export async function startReceiver(answer: Answer = () => 202): Promise<Receiver> {
  const received: ReceivedEvent[] = [];
  const attempts = new Map<string, number>();
  const active = new Map<string, number>();
  const waiters = new Set<() => void>();
  const hanging = new Set<ServerResponse>();
  const state = { maxConcurrentPerJti: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", async () => {
      let claims: Record<string, unknown> = {};
      let typ: string | undefined;
      try {
        claims = decodeJwt(body.trim()) as Record<string, unknown>;
        typ = decodeProtectedHeader(body.trim()).typ;
      } catch {
        // not a JWT: recorded as is
      }
      const event: ReceivedEvent = { at: Date.now(), contentType: req.headers["content-type"] ?? "", body, claims, typ, jti: String(claims.jti ?? "") };
      received.push(event);
      const n = (attempts.get(event.jti) ?? 0) + 1;
      attempts.set(event.jti, n);
      active.set(event.jti, (active.get(event.jti) ?? 0) + 1);
      state.maxConcurrentPerJti = Math.max(state.maxConcurrentPerJti, active.get(event.jti)!);
      for (const w of waiters) w();
      const status = await answer(event, n);
      active.set(event.jti, active.get(event.jti)! - 1);
      if (status === "hang") {
        hanging.add(res);
        return;
      }
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/events`,
    received,
    get maxConcurrentPerJti() {
      return state.maxConcurrentPerJti;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
    waitFor(predicate, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(received)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`receiver: condition not met within ${timeoutMs} ms (${received.length} requests)`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}
