// Graceful shutdown of the node:http server (server.ts), so that a rolling restart behind a load
// balancer loses no request:
//   1. readiness turns 503 at once (lib/health), long-polls end early with their current status,
//      and every response from now on carries `Connection: close`;
//   2. for `drainDelayMs` the server keeps accepting and serving, while the load balancer's health
//      checks notice (closing the listener at once would refuse requests it is still routing here);
//   3. the listener closes; keep-alive connections close after their next response, or once idle
//      for `idleGraceMs` (closing a connection the instant it turns idle races the client's next
//      request on it: that race is the reset the old shutdown produced, one per connection);
//   4. when no request is in flight and no connection is open, `onDrained` runs (the process
//      exits); after `timeoutMs` whatever is left is destroyed.
import type { Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { Server as NetServer } from "node:net";
import { markShuttingDown } from "@/lib/health/lifecycle";
import { log } from "@/lib/log";

export interface GracefulShutdownOptions {
  drainDelayMs: number;
  idleGraceMs?: number;
  timeoutMs: number;
  onDrained: (outcome: { forced: boolean }) => void;
}

interface SocketState {
  active: number;
  idleSince: number;
}

export interface GracefulShutdown {
  /** Starts the shutdown (idempotent). `drainDelayMs` overrides the option (0 for Ctrl-C). */
  begin(opts?: { drainDelayMs?: number }): void;
  readonly draining: boolean;
}

export function installGracefulShutdown(server: Server, opts: GracefulShutdownOptions): GracefulShutdown {
  const idleGraceMs = opts.idleGraceMs ?? 250;
  const sockets = new Map<Socket, SocketState>();
  const responses = new Set<ServerResponse>();
  let draining = false;
  let listening = true;
  let finished = false;

  server.on("connection", (socket: Socket) => {
    sockets.set(socket, { active: 0, idleSince: Date.now() });
    socket.once("close", () => {
      sockets.delete(socket);
      check();
    });
  });
  // Registered before the request handler runs (server.ts installs this first), so the header
  // decision is made before any response is written.
  server.prependListener("request", (req, res: ServerResponse) => {
    const state = sockets.get(req.socket);
    if (state) state.active++;
    responses.add(res);
    if (draining) res.shouldKeepAlive = false;
    res.once("close", () => {
      responses.delete(res);
      if (state) {
        state.active--;
        state.idleSince = Date.now();
      }
      check();
    });
  });

  let sweeper: NodeJS.Timeout | undefined;
  function sweepIdle() {
    const now = Date.now();
    for (const [socket, state] of sockets) {
      if (state.active === 0 && now - state.idleSince >= idleGraceMs) socket.destroy();
    }
  }

  function check() {
    if (!draining || listening || finished) return;
    if (responses.size > 0 || sockets.size > 0) return;
    finish(false);
  }

  function finish(forced: boolean) {
    if (finished) return;
    finished = true;
    clearInterval(sweeper);
    if (forced) {
      log.warn("shutdown timeout: destroying remaining connections", { connections: sockets.size, inFlight: responses.size });
      for (const socket of sockets.keys()) socket.destroy();
    }
    opts.onDrained({ forced });
  }

  function closeListener() {
    listening = false;
    // net.Server#close stops accepting without http.Server#close's immediate closing of every idle
    // connection (Node >= 19), which would race requests already on their way.
    NetServer.prototype.close.call(server);
    sweepIdle();
    sweeper = setInterval(sweepIdle, Math.max(25, Math.floor(idleGraceMs / 2)));
    sweeper.unref();
    check();
  }

  return {
    get draining() {
      return draining;
    },
    begin(beginOpts = {}) {
      if (draining) return;
      draining = true;
      markShuttingDown();
      // Responses not yet started close their connection when they end.
      for (const res of responses) if (!res.headersSent) res.shouldKeepAlive = false;
      const delay = beginOpts.drainDelayMs ?? opts.drainDelayMs;
      log.info("shutting down: not ready, draining", { drainDelayMs: delay, inFlight: responses.size, connections: sockets.size });
      setTimeout(closeListener, delay).unref();
      setTimeout(() => finish(true), Math.max(opts.timeoutMs, delay + 1)).unref();
    },
  };
}
