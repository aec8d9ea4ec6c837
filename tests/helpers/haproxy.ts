// A real HAProxy (Debian's `haproxy`; .ci/run installs it) in front of Frontdesk instances, as a
// production load balancer would be: round robin, active health checks on /api/health/ready, and
// HAProxy's own retry of a request whose connection to a server failed. Runs in the foreground
// (-db) on 127.0.0.1 and a free port, with a CSV stats page beside it for the figures.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { vi } from "vitest";
import { freePort } from "./postgres-cluster";

/** Deadlines that only end a hang (a loaded CI machine is slow, never this slow). */
const START_TIMEOUT_MS = 30_000;
const STATUS_TIMEOUT_MS = 60_000;

export interface HaproxyBackend {
  name: string;
  port: number;
}

/** One row of HAProxy's CSV statistics for a server or the backend (fields as HAProxy names them). */
export interface HaproxyServerStats {
  name: string;
  status: string;
  /** Requests/sessions sent to it in total. */
  stot: number;
  /** Retries and redispatches HAProxy made because a connection failed. */
  wretr: number;
  wredis: number;
  /** Connection errors and response errors (a server that closed without answering). */
  econ: number;
  eresp: number;
  hrsp5xx: number;
}

export interface Haproxy {
  url: string;
  port: number;
  /** Statistics per server (and "BACKEND" for the total). */
  stats(): Promise<Map<string, HaproxyServerStats>>;
  /** Resolves once HAProxy's health checks report this server UP (or DOWN); rejects after STATUS_TIMEOUT_MS. */
  waitForStatus(server: string, status: "UP" | "DOWN"): Promise<void>;
  logs(): string;
  stop(): Promise<void>;
}

export const HAPROXY_INSTALL_HINT = "HAProxy not found. Install it with: sudo apt-get install -y haproxy (.ci/run does)";

export function findHaproxy(): string {
  for (const p of ["/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"]) if (existsSync(p)) return p;
  throw new Error(HAPROXY_INSTALL_HINT);
}

/**
 * The configuration. Health checks every 200 ms: a draining instance (readiness 503 at once, still
 * serving for FRONTDESK_SHUTDOWN_DRAIN_MS) is taken out after one failed check, a started one put
 * back after two good ones. `retry-on conn-failure empty-response` with redispatch: a request whose
 * connection was refused or closed before any byte of a response came back goes to the other
 * server, which is what HAProxy does in production with this configuration; the stats count them.
 * Fail-open when no instance is ready (all DOWN: the database is out, every instance's readiness
 * says so): each instance is also a `backup` server without checks, used only then (`allbackups`),
 * so clients get Frontdesk's own 503 with Retry-After (RFC 6749 shape at the token endpoint)
 * instead of HAProxy's bare "no server is available" 503. docs/operations.md recommends the same.
 */
export function haproxyConfig(port: number, statsPort: number, backends: HaproxyBackend[]): string {
  return [
    "global",
    "  maxconn 4000",
    "defaults",
    "  mode http",
    "  timeout connect 5s",
    "  timeout client 300s",
    "  timeout server 300s",
    "  timeout check 5s",
    "  retries 3",
    "  option redispatch 1",
    "  retry-on conn-failure empty-response",
    "frontend fe",
    `  bind 127.0.0.1:${port}`,
    "  option forwardfor",
    "  default_backend frontdesk",
    "backend frontdesk",
    "  balance roundrobin",
    "  option httpchk GET /api/health/ready",
    "  http-check expect status 200",
    "  default-server inter 200 fastinter 200 downinter 200 fall 1 rise 2",
    "  option allbackups",
    ...backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port} check`),
    ...backends.map((b) => `  server ${b.name}-fallback 127.0.0.1:${b.port} backup`),
    "listen stats",
    `  bind 127.0.0.1:${statsPort}`,
    "  stats enable",
    "  stats uri /stats",
    "",
  ].join("\n");
}

export async function startHaproxy(backends: HaproxyBackend[]): Promise<Haproxy> {
  const bin = findHaproxy();
  const dir = mkdtempSync(path.join(os.tmpdir(), "frontdesk-haproxy-"));
  const [port, statsPort] = [await freePort(), await freePort()];
  const configFile = path.join(dir, "haproxy.cfg");
  writeFileSync(configFile, haproxyConfig(port, statsPort, backends));
  // -db: foreground, no daemon; -W: master-worker, so SIGTERM stops it cleanly.
  const child: ChildProcess = spawn(bin, ["-W", "-db", "-f", configFile], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let exited = false;
  // The master prints "Loading success." once its worker has bound every listener (HAProxy >= 2.5).
  const loaded = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes("Loading success.")) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", () => {
      exited = true;
      reject(new Error(`haproxy exited during start-up:\n${output}`));
    });
  });
  loaded.catch(() => undefined); // an exit after start-up is not a start-up failure

  const stats = async (): Promise<Map<string, HaproxyServerStats>> => {
    const res = await fetch(`http://127.0.0.1:${statsPort}/stats;csv`);
    const [header, ...rows] = (await res.text()).trim().split("\n");
    const cols = header!.replace(/^# /, "").split(",");
    const at = (row: string[], name: string) => row[cols.indexOf(name)] ?? "";
    const out = new Map<string, HaproxyServerStats>();
    for (const line of rows) {
      const row = line.split(",");
      if (at(row, "pxname") !== "frontdesk") continue;
      const n = (name: string) => Number(at(row, name) || 0);
      out.set(at(row, "svname"), {
        name: at(row, "svname"),
        status: at(row, "status"),
        stot: n("stot"),
        wretr: n("wretr"),
        wredis: n("wredis"),
        econ: n("econ"),
        eresp: n("eresp"),
        hrsp5xx: n("hrsp_5xx"),
      });
    }
    return out;
  };

  let timer: NodeJS.Timeout | undefined;
  const startDeadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`haproxy did not report "Loading success." within ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS);
  });
  try {
    await Promise.race([loaded, startDeadline]);
    await stats(); // the stats listener answers (bound before the worker was forked)
  } catch (e) {
    if (!exited) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw e;
  } finally {
    clearTimeout(timer);
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats,
    async waitForStatus(server, status) {
      // HAProxy's own view is the event (its health checks run every 200 ms); the deadline only ends a hang.
      await vi
        .waitFor(
          async () => {
            const s = (await stats()).get(server);
            if (!s || !(status === "UP" ? s.status === "UP" : s.status.startsWith("DOWN"))) throw new Error(`${server} is ${s?.status ?? "not listed"}`);
          },
          { timeout: STATUS_TIMEOUT_MS, interval: 50 },
        )
        .catch((e: Error) => {
          throw new Error(`haproxy: ${server} not ${status} within ${STATUS_TIMEOUT_MS} ms (${e.message}):\n${output}`);
        });
    },
    logs: () => output,
    async stop() {
      if (!exited) {
        const done = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.kill("SIGTERM");
        await done;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
