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
  /** The connection's oldest unanswered response (later pipelined ones queue behind it). */
  current: ServerResponse | null;
}

export interface GracefulShutdown {
  /** Starts the shutdown (idempotent). `drainDelayMs` overrides the option (0 for Ctrl-C). */
  begin(opts?: { drainDelayMs?: number }): void;
  readonly draining: boolean;
}

export function installGracefulShutdown(server: Server, opts: GracefulShutdownOptions): GracefulShutdown {
  const idleGraceMs = opts.idleGraceMs ?? 250;
  const sockets = new Map<Socket, SocketState>();
  // In-flight responses are counted and each connection's first one is a field of its state, not
  // members of a Set: a long-lived Set with an add and a delete per request kept requests alive
  // through young-generation collections (V8 leaves a rehashed table's entries in the old table,
  // which links to the new one, so dead tables in old space held the responses live at each
  // rehash, and with them their requests, until the next major collection): a resolve promoted
  // about 4.4 KB more per request, feeding the major collections behind its open-loop tail.
  let inFlight = 0;
  let draining = false;
  let listening = true;
  let finished = false;

  server.on("connection", (socket: Socket) => {
    sockets.set(socket, { active: 0, idleSince: Date.now(), current: null });
    socket.once("close", () => {
      sockets.delete(socket);
      check();
    });
  });
  // Registered before the request handler runs (server.ts installs this first), so the header
  // decision is made before any response is written.
  server.prependListener("request", (req, res: ServerResponse) => {
    const state = sockets.get(req.socket);
    inFlight++;
    if (state) {
      state.active++;
      state.current ??= res;
    }
    if (draining) res.shouldKeepAlive = false;
    res.once("close", () => {
      inFlight--;
      if (state) {
        state.active--;
        state.idleSince = Date.now();
        if (state.current === res) state.current = null;
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
    if (inFlight > 0 || sockets.size > 0) return;
    finish(false);
  }

  function finish(forced: boolean) {
    if (finished) return;
    finished = true;
    clearInterval(sweeper);
    if (forced) {
      log.warn("shutdown timeout: destroying remaining connections", { connections: sockets.size, inFlight });
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
      // A connection whose response has not started yet closes when that response ends (after a
      // response with `Connection: close`, Node answers nothing more on its connection).
      for (const { current } of sockets.values()) if (current && !current.headersSent) current.shouldKeepAlive = false;
      const delay = beginOpts.drainDelayMs ?? opts.drainDelayMs;
      log.info("shutting down: not ready, draining", { drainDelayMs: delay, inFlight, connections: sockets.size });
      setTimeout(closeListener, delay).unref();
      setTimeout(() => finish(true), Math.max(opts.timeoutMs, delay + 1)).unref();
    },
  };
}
