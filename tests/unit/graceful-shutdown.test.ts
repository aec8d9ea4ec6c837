import { Agent, createServer, request, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { installGracefulShutdown } from "@/lib/server/graceful-shutdown";

const agents: Agent[] = [];
afterEach(() => {
  for (const agent of agents.splice(0)) agent.destroy();
});

describe("graceful shutdown", () => {
  it("a response not yet started when draining begins closes its connection; the drain ends once it is answered", async () => {
    let received!: () => void;
    const requestArrived = new Promise<void>((resolve) => (received = resolve));
    let release!: () => void;
    const answerMayGo = new Promise<void>((resolve) => (release = resolve));
    const server = createServer();
    let drained!: (outcome: { forced: boolean }) => void;
    const onDrained = new Promise<{ forced: boolean }>((resolve) => (drained = resolve));
    const shutdown = installGracefulShutdown(server, { drainDelayMs: 0, idleGraceMs: 50, timeoutMs: 10_000, onDrained: drained });
    server.on("request", (_req, res) => {
      received();
      void answerMayGo.then(() => res.end("ok"));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const agent = new Agent({ keepAlive: true });
    agents.push(agent);

    const response = new Promise<{ res: IncomingMessage; body: string }>((resolve, reject) => {
      request({ host: "127.0.0.1", port, path: "/", agent }, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (c: string) => (body += c)).on("end", () => resolve({ res, body }));
      })
        .on("error", reject)
        .end();
    });
    await requestArrived;
    shutdown.begin();
    expect(shutdown.draining).toBe(true);
    release();

    const { res, body } = await response;
    expect(res.statusCode).toBe(200);
    expect(body).toBe("ok");
    // Arrived before the drain began, answered after: the answer says the connection closes.
    expect(res.headers.connection).toBe("close");
    await expect(onDrained).resolves.toEqual({ forced: false });
    expect(server.listening).toBe(false);
  });
});
