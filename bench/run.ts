// `npm run bench`: builds Frontdesk, starts it in production mode against a real PostgreSQL,
// seeds it, and measures the hot path against baselines in the same run, a refresh storm across
// two instances, growth (100 -> 100,000 grants, 1,000,000 audit events), elicitation creation and
// long-poll wake-up. Prints a table and writes bench/results/. A benchmark, not a test: it never
// fails on a figure (it exits non-zero only if the harness itself breaks).
//
// Settings (environment): BENCH_DATABASE_URL (a PostgreSQL server to create the benchmark
// database in; default: a throwaway cluster), BENCH_DURATION (s per measured run, 10),
// BENCH_WARMUP (s, 3), BENCH_CONNECTIONS (32), BENCH_GRANTS (100000), BENCH_AUDIT_EVENTS
// (1000000), BENCH_STORM (500), BENCH_UPSTREAM_DELAY_MS (300), BENCH_SKIP_BUILD=1 (reuse the
// build in BENCH_DIST_DIR, default .next-bench), BENCH_SERVER=next (measure plain `next start` as
// the main server), BENCH_PROFILE=1 (CPU profiles of the server.ts instances), BENCH_NODE_OPTIONS
// (node options for the instances, after the start script's own, so they win: for A/B of flags).
import { execFileSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { signClientAssertions } from "./lib/assertions";
import { cyclingBodies, generatedBodies, percentile, runLoad, setDatabasePid, type LoadResult } from "./lib/load";
import { reportPgStats, startPgStats, type PgSnapshot } from "./lib/pg-stats";
import { startBenchDatabase } from "./lib/postgres";
import { runOpenLoop, type GcTotals } from "./lib/open-loop";
import { renderOpenLoopSvg } from "./lib/plot";
import { cpuMsOfThreads, groupRssBytes, loadAverage, machineCpuTicks, pidsOf, startChildServer } from "./lib/processes";
import { renderMarkdown, writeResults, type BenchResults, type LongPollResult, type MemoryAfter, type OpenLoopRow, type StormCpu, type StormResult, type Target } from "./lib/report";
import { startCommandArgs } from "./lib/start-command";

const num = (name: string, fallback: number) => {
  const v = process.env[name];
  return v === undefined || v === "" ? fallback : Number(v);
};
const settings = {
  durationSeconds: num("BENCH_DURATION", 10),
  warmupSeconds: num("BENCH_WARMUP", 3),
  connections: num("BENCH_CONNECTIONS", 32),
  grants: num("BENCH_GRANTS", 100_000),
  smallGrants: 100,
  /** Active users of the growth scenario's second run on the big tables (the ratio uses smallGrants). */
  wideActiveUsers: 1_000,
  auditEvents: num("BENCH_AUDIT_EVENTS", 1_000_000),
  stormRequests: num("BENCH_STORM", 500),
  upstreamDelayMs: num("BENCH_UPSTREAM_DELAY_MS", 300),
  longPollSamples: 20,
  distDir: process.env.BENCH_DIST_DIR || ".next-bench",
  /** The production path (server.ts, when present) or plain `next start`; the other is measured for comparison. */
  server: (process.env.BENCH_SERVER === "next" || !existsSync("server.ts") ? "next" : "custom") as "custom" | "next",
};

// BENCH_ONLY=resolve,exchange,... runs a subset (resolve always runs): a, b, c, single, openloop,
// compare, exchange, egress, elicitation, retry, longpoll, storm, growth. For iterating and profiling; a full run has them all.
const only = new Set((process.env.BENCH_ONLY ?? "").split(",").map((x) => x.trim()).filter(Boolean));
const want = (key: string) => only.size === 0 || only.has(key);

// BENCH_PG_STATEMENTS=1: pg_stat_statements in the throwaway cluster, and a per-request report of
// what PostgreSQL did in resolve, token exchange and both growth runs (bench/lib/pg-stats.ts), with
// instance A's audit group-commit batches (count, events and time each). Off in a full run.
const pgStatements = process.env.BENCH_PG_STATEMENTS === "1" && !process.env.BENCH_DATABASE_URL;

const log = (msg: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const cleanups: (() => Promise<void> | void)[] = [];

function build(): void {
  if (process.env.BENCH_SKIP_BUILD === "1" && existsSync(path.join(settings.distDir, "BUILD_ID"))) {
    log(`reusing the build in ${settings.distDir}`);
    return;
  }
  log(`building (next build into ${settings.distDir})`);
  execFileSync("npm", ["run", "-s", "build"], {
    env: { ...process.env, FRONTDESK_DIST_DIR: settings.distDir, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production" },
    stdio: ["ignore", "ignore", "inherit"],
    timeout: 600_000,
  });
}

type ServerKind = "custom" | "next";

/**
 * BENCH_PROFILE=1: V8 CPU profiles of the server.ts instances, written at exit to
 * bench/results/profiles. On node's command line (NODE_OPTIONS refuses --cpu-prof), so the instance
 * is otherwise started exactly as `npm start` starts it.
 */
function profileFlags(): string[] {
  return process.env.BENCH_PROFILE === "1" ? ["--cpu-prof", "--cpu-prof-dir", path.join("bench", "results", "profiles")] : [];
}

/**
 * A Frontdesk server process: `server.ts` as `npm start` runs it (gateway API direct, rest Next),
 * or plain `next start`. Each has its metrics listener on 127.0.0.1 (as compose configures one),
 * read for the memory table at the end.
 */
async function startFrontdeskServer(kind: ServerKind, env: Record<string, string>) {
  const { withFreePortRetry } = await import("@/tests/helpers/postgres-cluster");
  return withFreePortRetry(() => startFrontdeskServerOnce(kind, env));
}

async function startFrontdeskServerOnce(kind: ServerKind, env: Record<string, string>) {
  const { freePort } = await import("@/tests/helpers/postgres-cluster");
  const [port, metricsPort] = [await freePort(), await freePort()];
  const listen = ["--hostname", "127.0.0.1", "--port", String(port)];
  const [command, args] = kind === "custom" ? ["sh", startCommandArgs(listen, { nodeFlags: profileFlags() })] : [path.join("node_modules", ".bin", "next"), ["start", ...listen]];
  const nodeOptions = [process.env.NODE_OPTIONS ?? "", process.env.BENCH_NODE_OPTIONS ?? ""].filter(Boolean).join(" ");
  const server = await startChildServer({
    command,
    args,
    env: {
      ...env,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      FRONTDESK_URL: `http://localhost:${port}`,
      PORT: String(port),
      FRONTDESK_DIST_DIR: settings.distDir,
      FRONTDESK_METRICS_PORT: String(metricsPort),
      NODE_OPTIONS: nodeOptions,
    },
    url: `http://127.0.0.1:${port}`,
    readyPath: "/api/health",
  });
  return { ...server, port, metricsPort, publicUrl: `http://localhost:${port}` };
}

/** One sample of an instance's metrics endpoint (lib/observability/metrics.ts; NaN where absent). */
async function metricsOf(server: { metricsPort: number }): Promise<(name: string) => number> {
  const text = await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`).then((r) => (r.ok ? r.text() : ""), () => "");
  return (name) => {
    const m = new RegExp(`^frontdesk_${name.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m").exec(text);
    return m ? Number(m[1]) : NaN;
  };
}

/** RSS of the instance's process group, and V8's heap and external memory from its metrics endpoint. */
async function memoryOf(instance: string, server: { pid: number; metricsPort: number }): Promise<MemoryAfter> {
  const rssMb = groupRssBytes(server.pid) / 1e6;
  // prom-client's default metrics, with Frontdesk's prefix.
  const metric = await metricsOf(server);
  return {
    instance,
    rssMb,
    heapUsedMb: metric("nodejs_heap_size_used_bytes") / 1e6,
    heapTotalMb: metric("nodejs_heap_size_total_bytes") / 1e6,
    externalMb: metric("nodejs_external_memory_bytes") / 1e6,
  };
}

/** The instance's garbage-collection totals so far (prom-client's nodejs_gc_duration_seconds, by kind). */
async function gcTotals(server: { metricsPort: number }): Promise<GcTotals> {
  const metric = await metricsOf(server);
  const pause = (kind: string) => metric(`nodejs_gc_duration_seconds_sum{kind="${kind}"}`) || 0;
  return {
    majorCount: metric(`nodejs_gc_duration_seconds_count{kind="major"}`) || 0,
    pauseSeconds: ["minor", "major", "incremental", "weakcb"].reduce((sum, kind) => sum + pause(kind), 0),
  };
}

/** The instance's audit group-commit totals so far: batches, events, seconds. */
async function auditBatchTotals(server: { metricsPort: number }) {
  const metric = await metricsOf(server);
  return {
    batches: metric(`audit_commit_duration_seconds_count{result="ok"}`),
    events: metric("audit_batch_events_sum"),
    seconds: metric(`audit_commit_duration_seconds_sum{result="ok"}`),
  };
}

const OPEN_LOOP_FRACTIONS = [0.25, 0.5, 0.75];

function machine(postgres: string) {
  return {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    memoryGb: os.totalmem() / 2 ** 30,
    node: process.versions.node,
    os: `${os.type()} ${os.release()}`,
    postgres,
    loadAverageBefore: loadAverage(),
  };
}

async function main() {
  const startedAt = new Date().toISOString();
  const cpuBefore = machineCpuTicks();
  log(`load average ${loadAverage()} on ${os.cpus().length} cores (measure on an idle machine for comparable figures)`);
  build();

  const db = await startBenchDatabase(process.env.BENCH_DATABASE_URL || undefined, { statements: pgStatements });
  cleanups.push(() => db.close());
  log(`database: ${db.describe}`);
  setDatabasePid(db.pid);
  const results: BenchResults = {
    startedAt,
    finishedAt: "",
    machine: machine(db.describe),
    settings: { ...settings },
    load: [],
    ratios: {},
    storm: null,
    growth: null,
    longPoll: null,
    openLoop: [],
    memoryAfter: [],
    targets: [],
    notes: [],
  };

  // Servers for the organization's IdP and the upstream provider (real oidc-provider servers).
  const { startIdp } = await import("@/tests/helpers/oidc-idp");
  const { startUpstream } = await import("@/tests/helpers/oidc-upstream");
  const idp = await startIdp({ redirectUris: ["http://localhost/api/auth/callback/oidc"] });
  cleanups.push(() => idp.close());
  const upstream = await startUpstream({ redirectUris: ["http://localhost/api/oauth/callback/notes"] });
  cleanups.push(() => upstream.close());

  const frontdeskEnv: Record<string, string> = {
    DATABASE_URL: db.url,
    FRONTDESK_KEYS: `bench:${randomBytes(32).toString("base64")}`,
    AUTH_SECRET: randomBytes(32).toString("base64url"),
    OIDC_ISSUER: idp.issuer,
    OIDC_CLIENT_ID: idp.clientId,
    OIDC_CLIENT_SECRET: idp.clientSecret,
    SUBJECT_TOKEN_AUDIENCES: "frontdesk",
    FRONTDESK_INSECURE_HTTP_ISSUERS: idp.issuer,
    TOKEN_MAX_EXPIRES_IN: "300",
    LOG_LEVEL: "warn",
  };
  // This process seeds through lib/, so it needs the same configuration (set before lib reads it).
  Object.assign(process.env, frontdeskEnv, { NODE_ENV: "production" });
  const seed = await import("./lib/seed");
  const { closeDb } = await import("@/lib/db/client");
  cleanups.push(() => closeDb());

  log("seeding configuration and 100 users with grants");
  const config = await seed.seedConfiguration(upstream);
  await seed.seedUsersWithGrants(db.url, idp.issuer, config.providerId, 0, settings.smallGrants);
  await seed.createBaselineTable(db.url);
  const subjectToken = (i: number) => idp.signSubjectToken({ sub: seed.benchSubject(i), aud: seed.SUBJECT_AUDIENCE, expiresIn: 3600 });
  const smallTokens = await Promise.all(Array.from({ length: settings.smallGrants }, (_, i) => subjectToken(i)));

  const loadBase = { durationSeconds: settings.durationSeconds, warmupSeconds: settings.warmupSeconds, connections: settings.connections };
  const { freePort } = await import("@/tests/helpers/postgres-cluster");

  // Open loop: requests arriving at a fixed rate whatever the server does, latency from the
  // moment each was due (bench/lib/open-loop.ts). This is the latency a gateway sees at a given
  // traffic level; the closed-loop figures are mostly queueing at saturation.
  const openLoop = async (o: { server: OpenLoopRow["server"]; of: OpenLoopRow["of"]; fraction: number; max: number; url: string; pid: number; metricsPort?: number; path: string; headers: Record<string, string>; bodies: string[] }) => {
    const rate = Math.max(1, Math.round(o.max * o.fraction));
    const name = `${o.server}, open loop at ${o.fraction * 100}% of ${o.of}`;
    log(`${name}: ${rate} req/s`);
    const r = await runOpenLoop({
      name,
      url: o.url,
      ratePerSecond: rate,
      durationSeconds: settings.durationSeconds,
      warmupSeconds: Math.min(2, settings.warmupSeconds),
      method: "POST",
      path: o.path,
      headers: o.headers,
      bodies: o.bodies,
      expectStatus: 200,
      serverGroup: o.pid,
      databasePid: db.pid,
      serverGc: o.metricsPort === undefined ? undefined : () => gcTotals({ metricsPort: o.metricsPort! }),
    });
    results.openLoop.push({ ...r, server: o.server, of: o.of, fraction: o.fraction });
  };

  // (a) and (b): bare node:http, each in its own process.
  let loadA: LoadResult | null = null;
  let loadB: LoadResult | null = null;
  // (b) measured again later, next to a run whose ratio to it is a target (see token exchange).
  let measureBAgain: ((name: string) => Promise<LoadResult>) | null = null;
  for (const mode of ["constant", "db"] as const) {
    if (!want(mode === "constant" ? "a" : "b")) continue;
    const port = await freePort();
    const server = await startChildServer({
      command: process.execPath,
      args: ["--import", "tsx", "bench/baseline-server.ts", mode, String(port), ...(mode === "db" ? [db.url] : [])],
      env: {},
      url: `http://127.0.0.1:${port}`,
      readyPath: "/ready",
    });
    log(`baseline ${mode}`);
    const bodies = Array.from({ length: settings.smallGrants }, (_, i) => JSON.stringify({ userId: `usr_bench_${i}`, providerId: config.providerId }));
    const measure = (name: string) =>
      runLoad({
        ...loadBase,
        name,
        url: server.url,
        serverGroup: server.pid,
        expectStatus: 200,
        requests:
          mode === "constant"
            ? [{ method: "GET", path: "/" }]
            : cyclingBodies({ method: "POST", path: "/", headers: { "content-type": "application/json" } }, bodies),
      });
    const result = await measure(mode === "constant" ? "(a) node:http constant JSON" : "(b) node:http 1 SELECT + 1 INSERT");
    results.load.push(result);
    if (mode === "constant") loadA = result;
    else loadB = result;
    // (b) itself at the open-loop rates resolve is measured at: the floor of the open-loop target
    // on this machine (if a bare SELECT + INSERT server misses it, so must anything doing more).
    if (mode === "db" && want("openloop")) {
      for (const fraction of OPEN_LOOP_FRACTIONS) {
        await openLoop({ server: "(b)", of: "(b)", fraction, max: result.rps, url: server.url, pid: server.pid, path: "/", headers: { "content-type": "application/json" }, bodies });
      }
    }
    // (b) one request at a time: the floor for a resolve's unsaturated latency (a commit waits for
    // the WAL flush on this disk).
    if (mode === "db" && want("single")) {
      results.load.push(
        await runLoad({
          ...loadBase,
          connections: 1,
          name: "(b), 1 connection",
          url: server.url,
          serverGroup: server.pid,
          expectStatus: 200,
          requests: cyclingBodies({ method: "POST", path: "/", headers: { "content-type": "application/json" } }, bodies),
        }),
      );
    }
    if (mode === "db" && want("exchange")) {
      // Kept (idle) for its second measurement; stopped with everything else at the end.
      measureBAgain = measure;
      cleanups.push(() => server.stop());
    } else {
      await server.stop();
    }
  }

  // Two Frontdesk instances (production build) on the same database.
  log(`starting two Frontdesk instances (${settings.server === "custom" ? "server.ts" : "next start"})`);
  // Each instance is stopped at the end even when the other failed to start (an instance left
  // behind once kept running, and skewed the next runs' figures).
  const startInstance = async (kind: ServerKind) => {
    const server = await startFrontdeskServer(kind, frontdeskEnv);
    cleanups.push(() => server.stop());
    return server;
  };
  const [a, b] = await Promise.all([startInstance(settings.server), startInstance(settings.server)]);
  const base = (s: { port: number }) => `http://127.0.0.1:${s.port}`;
  const basicAuth = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;
  const basicHeader = basicAuth(config.basic.id, config.basic.secret);
  const trustedHeader = basicAuth(config.trusted.id, config.trusted.secret);
  const resolveBody = (token: string) => JSON.stringify({ subject_token: token, provider: seed.PROVIDER_SLUG, scopes: [seed.SCOPE], context: { agentId: "bench" } });
  const resolveOn = async (server: { port: number }, body: string, auth = basicHeader) => {
    const res = await fetch(`${base(server)}/api/v1/resolve`, { method: "POST", headers: { "content-type": "application/json", authorization: auth }, body });
    return { status: res.status, json: JSON.parse(await res.text()) as Record<string, unknown> };
  };
  for (const s of [a!, b!]) {
    const warm = await resolveOn(s, resolveBody(smallTokens[0]!));
    if (warm.status !== 200) throw new Error(`warm-up resolve failed: ${warm.status} ${JSON.stringify(warm.json)}\n${s.logs()}`);
  }

  // (c) a trivial Next.js route in the same build (discovery metadata: no I/O).
  let loadC: LoadResult | null = null;
  if (want("c")) {
    log("(c) trivial Next.js route");
    loadC = await runLoad({ ...loadBase, name: "(c) Next.js trivial route", url: base(a!), serverGroup: a!.pid, expectStatus: 200, requests: [{ method: "GET", path: "/.well-known/oauth-authorization-server" }] });
    results.load.push(loadC);
  }

  // REST resolve, warm grants, audit on.
  log("resolve");
  const resolveReq = { method: "POST", path: "/api/v1/resolve", headers: { "content-type": "application/json", authorization: basicHeader } };
  let pgBefore: PgSnapshot | null = null;
  let auditBefore: Awaited<ReturnType<typeof auditBatchTotals>> | null = null;
  const pgStatsFrom = pgStatements
    ? {
        beforeMeasure: async () => {
          pgBefore = await startPgStats(db.url);
          auditBefore = await auditBatchTotals(a!);
        },
      }
    : {};
  const logPgStats = async (what: string, load: LoadResult) => {
    if (pgBefore) log(`PostgreSQL during "${what}":\n${await reportPgStats(db.url, pgBefore, load.requests)}`);
    if (auditBefore) {
      const now = await auditBatchTotals(a!);
      const batches = now.batches - auditBefore.batches;
      log(
        `audit group commit during "${what}" (instance A's metrics): ${batches} batches, ` +
          `${((now.events - auditBefore.events) / batches).toFixed(1)} events and ${((1000 * (now.seconds - auditBefore.seconds)) / batches).toFixed(2)} ms each`,
      );
    }
    pgBefore = null;
    auditBefore = null;
  };
  const resolveSmall = await runLoad({
    ...loadBase,
    ...pgStatsFrom,
    name: `resolve (${settings.smallGrants} grants, ${settings.server === "custom" ? "server.ts" : "next start"})`,
    url: base(a!),
    serverGroup: a!.pid,
    expectStatus: 200,
    requests: cyclingBodies(resolveReq, smallTokens.map(resolveBody)),
  });
  results.load.push(resolveSmall);
  await logPgStats(resolveSmall.name, resolveSmall);
  const auditAfterSmall = await countAudit(db.url);

  // The same resolve one request at a time: the latency of a resolve on a server that is not
  // saturated (at 32 connections latency is mostly queueing: about connections / throughput).
  if (want("single")) {
    log("resolve, 1 connection");
    results.load.push(
      await runLoad({
        ...loadBase,
        connections: 1,
        name: "resolve, 1 connection (unsaturated latency)",
        url: base(a!),
        serverGroup: a!.pid,
        expectStatus: 200,
        requests: cyclingBodies(resolveReq, smallTokens.map(resolveBody)),
      }),
    );
  }

  // Resolve in open loop at 25/50/75% of (b)'s maximum (the target's load) and of its own.
  if (want("openloop")) {
    const resolveAt = { server: "resolve" as const, url: base(a!), pid: a!.pid, metricsPort: a!.metricsPort, path: resolveReq.path, headers: resolveReq.headers, bodies: smallTokens.map(resolveBody) };
    for (const [of, max] of [["(b)", loadB?.rps], ["resolve", resolveSmall.rps]] as const) {
      if (max === undefined) continue;
      for (const fraction of OPEN_LOOP_FRACTIONS) await openLoop({ ...resolveAt, of, fraction, max });
    }
  }

  // The same resolve through the other way of serving (server.ts vs plain `next start`), on a
  // third instance that runs only for this measurement: the custom-server decision's evidence.
  const other: ServerKind = settings.server === "custom" ? "next" : "custom";
  let comparison: LoadResult | null = null;
  if (existsSync("server.ts") && want("compare")) {
    log(`resolve through ${other === "custom" ? "server.ts" : "next start"} (comparison)`);
    const c = await startInstance(other);
    try {
      const warm = await resolveOn(c, resolveBody(smallTokens[0]!));
      if (warm.status !== 200) throw new Error(`warm-up resolve (comparison) failed: ${warm.status}`);
      comparison = await runLoad({
        ...loadBase,
        name: `resolve via ${other === "custom" ? "server.ts" : "next start"} (comparison)`,
        url: base(c),
        serverGroup: c.pid,
        expectStatus: 200,
        requests: cyclingBodies(resolveReq, smallTokens.map(resolveBody)),
      });
      results.load.push(comparison);
    } finally {
      await c.stop();
    }
  }

  // RFC 8693 token exchange, private_key_jwt with a unique jti per request (signed ahead of time).
  let exchange: LoadResult | null = null;
  let loadBAfterExchange: LoadResult | null = null;
  if (want("exchange")) {
    // Enough for an exchange as fast as (b): sized from the resolve run alone, a slow resolve run
    // left a faster exchange run short of assertions (replays, counted as errors).
    const needed = Math.ceil(Math.max(300, resolveSmall.rps, loadB?.rps ?? 0) * 1.6 * (settings.durationSeconds + settings.warmupSeconds)) + settings.connections * 4;
    log(`signing ${needed} client assertions`);
    const assertions = await signClientAssertions({
      privateKeyPem: config.jwt.privateKeyPem,
      kid: config.jwt.kid,
      clientId: config.jwt.id,
      audience: `${a!.publicUrl}/oauth/token`,
      count: needed,
      threads: Math.max(1, os.cpus().length),
    });
    // Every form is built before the run, so that the load generator (on the same cores) spends
    // no more per request than it does for resolve's prepared bodies.
    const forms = assertions.map((assertion, i) =>
      new URLSearchParams({
        grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
        subject_token: smallTokens[i % smallTokens.length]!,
        subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
        audience: seed.PROVIDER_SLUG,
        scope: seed.SCOPE,
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: assertion,
      }).toString(),
    );
    log("token exchange");
    let nextAssertion = 0;
    const warmupShare = Math.floor(needed * (settings.warmupSeconds / (settings.durationSeconds + settings.warmupSeconds)));
    exchange = await runLoad({
      ...loadBase,
      ...pgStatsFrom,
      name: "token exchange (private_key_jwt)",
      url: base(a!),
      serverGroup: a!.pid,
      expectStatus: 200,
      maxWarmupRequests: warmupShare,
      maxRequests: needed - warmupShare - settings.connections * 2,
      requests: generatedBodies(
        { method: "POST", path: "/oauth/token", headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" } },
        () => forms[nextAssertion++] ?? "exhausted",
      ),
    });
    results.load.push(exchange);
    await logPgStats(exchange.name, exchange);
    // The exchange runs minutes after (b), and this host's speed drifts by a third between runs
    // (session notes, issue 16): its ratio is taken to the mean of (b) before and (b) right after.
    if (measureBAgain) {
      log("(b) again, right after token exchange");
      loadBAfterExchange = await measureBAgain("(b) again, right after token exchange");
      results.load.push(loadBAfterExchange);
    }
    if (nextAssertion >= needed) results.notes.push("Token exchange ran out of pre-signed assertions before the duration ended (the run is shorter).");
  }
  // Egress proxy: direct vs bare reverse proxy vs Frontdesk, small and 1 MiB responses (bench/egress.ts).
  if (want("egress")) {
    const { measureEgress } = await import("./egress");
    await measureEgress({
      frontdesk: a!,
      gatewayAuthorization: basicHeader,
      gatewayIds: [config.basic.id],
      users: smallTokens.map((token, i) => ({ token, userId: `usr_bench_${i}` })),
      load: loadBase,
      results,
      log,
      cleanups,
    });
  }


  // Elicitation creation: resolves for subjects with no grant (a trusted-subject gateway names a
  // new subject each time, so every request creates an elicitation).
  if (want("elicitation")) {
    log("elicitation creation");
    const runTag = randomBytes(3).toString("hex");
    let nextSubject = 0;
    const elicitations = await runLoad({
      ...loadBase,
      name: "elicitation creation (resolve -> 403)",
      url: base(a!),
      serverGroup: a!.pid,
      expectStatus: 403,
      requests: generatedBodies({ method: "POST", path: "/api/v1/resolve", headers: { "content-type": "application/json", authorization: trustedHeader } }, () =>
        JSON.stringify({ subject: `new-${runTag}-${nextSubject++}`, provider: seed.PROVIDER_SLUG, scopes: [seed.SCOPE] }),
      ),
    });
    results.load.push(elicitations);
  }

  // MCP 2026-07-28 retry: resolve with the requestState of a completed elicitation (the state is
  // opened and checked, the elicitation read, then the normal resolve answers with the credential).
  if (want("retry")) {
    log("retry with requestState (completed elicitations)");
    const bodies = await prepareCompletedRetries(a!, config.trusted.id, trustedHeader, idp.issuer, config.providerId, seed.PROVIDER_SLUG, seed.SCOPE, upstream, 100);
    const retries = await runLoad({
      ...loadBase,
      name: "retry with requestState (completed elicitation -> 200)",
      url: base(a!),
      serverGroup: a!.pid,
      expectStatus: 200,
      requests: cyclingBodies({ method: "POST", path: "/api/v1/resolve", headers: { "content-type": "application/json", authorization: trustedHeader } }, bodies),
    });
    results.load.push(retries);
  }

  // Long-poll wake-up: a poller on instance B, completion written by this process.
  if (want("longpoll")) {
    log("long-poll wake-up");
    results.longPoll = await measureLongPoll(b!, a!, trustedHeader, idp.issuer, seed.PROVIDER_SLUG, seed.SCOPE, settings.longPollSamples);
  }

  // Refresh storm across both instances.
  if (want("storm")) {
    log(`refresh storm (${settings.stormRequests} resolves, 2 instances)`);
    // Both instances have served resolves for a while, as servers that have been running have
    // (B has only answered long-polls so far: its JIT would still be cold). Not measured.
    for (const s of [a!, b!]) {
      await runLoad({ ...loadBase, warmupSeconds: 0, durationSeconds: settings.warmupSeconds, name: "storm warm-up", url: base(s), serverGroup: s.pid, expectStatus: 200, requests: cyclingBodies(resolveReq, smallTokens.map(resolveBody)) });
    }
    // The earlier scenarios' writes (elicitation creation alone leaves some 25,000 elicitations
    // and twice as many audit events) set autovacuum and the checkpointer going; left alone, that
    // work lands inside the storm's half second (PostgreSQL used 232 ms of CPU before the tokens
    // were issued in a full run, 10 ms in a storm-only run). Settled first, as growth is.
    log(`storm: ${await seed.settleDatabase(db.url)}`);
    results.storm = await measureRefreshStorm({ a: a!, b: b!, databasePid: db.pid, upstream, idp, config, basicHeader, resolveBody, requests: settings.stormRequests, delayMs: settings.upstreamDelayMs });
  }

  // Growth: 100,000 grants and 1,000,000 audit events, then resolve again. The ratio compares
  // like with like: as many active users as the small run (100, cycled in the same way), now
  // spread over the whole table, so that it shows what the data size costs. What more active
  // users cost (each is one more grant row written by the last-use batch, one more leaf page of
  // the per-user audit index, one more cached subject token) is a separate row, with 1,000.
  // Seeding ends with VACUUM ANALYZE and a CHECKPOINT (seed.settleDatabase): a table that size in
  // production is vacuumed and analyzed, and the bulk load's dirty pages are written out before
  // the measurement instead of by the checkpointer during it. The checkpoint makes every page a
  // resolve changes first pay a full-page image in the WAL, as after any checkpoint.
  if (want("growth")) {
    log(`growth: seeding ${settings.grants} grants`);
    await seed.seedUsersWithGrants(db.url, idp.issuer, config.providerId, settings.smallGrants, settings.grants);
    log(`growth: seeding audit events up to ${settings.auditEvents}`);
    const t0 = performance.now();
    const auditEvents = await seed.seedAuditEvents(db.url, settings.auditEvents, config.providerId, config.basic.id, settings.grants);
    log(`growth: ${auditEvents} audit events (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    log(`growth: ${await seed.settleDatabase(db.url)}`);
    const spreadOver = async (count: number) => {
      const users = new Set<number>();
      while (users.size < count) users.add(randomInt(settings.grants));
      return Promise.all([...users].map((i) => subjectToken(i)));
    };
    const largeName = `resolve (${settings.grants.toLocaleString("en-US")} grants, ${auditEvents.toLocaleString("en-US")} audit events`;
    log("resolve with many grants");
    const resolveLarge = await runLoad({
      ...loadBase,
      ...pgStatsFrom,
      name: `${largeName}, ${settings.smallGrants} active users)`,
      url: base(a!),
      serverGroup: a!.pid,
      expectStatus: 200,
      requests: cyclingBodies(resolveReq, (await spreadOver(settings.smallGrants)).map(resolveBody)),
    });
    results.load.push(resolveLarge);
    await logPgStats(resolveLarge.name, resolveLarge);
    log("resolve with many grants and more active users");
    const resolveWide = await runLoad({
      ...loadBase,
      ...pgStatsFrom,
      name: `${largeName}, ${settings.wideActiveUsers.toLocaleString("en-US")} active users)`,
      url: base(a!),
      serverGroup: a!.pid,
      expectStatus: 200,
      requests: cyclingBodies(resolveReq, (await spreadOver(settings.wideActiveUsers)).map(resolveBody)),
    });
    results.load.push(resolveWide);
    await logPgStats(resolveWide.name, resolveWide);
    results.growth = {
      small: { grants: settings.smallGrants, auditEvents: auditAfterSmall, activeUsers: settings.smallGrants, load: resolveSmall },
      large: { grants: settings.grants, auditEvents, activeUsers: settings.smallGrants, load: resolveLarge },
      wide: { grants: settings.grants, auditEvents, activeUsers: settings.wideActiveUsers, load: resolveWide },
      p50Ratio: resolveLarge.p50 / resolveSmall.p50,
      p99Ratio: resolveLarge.p99 / resolveSmall.p99,
    };
  }

  // What each instance holds after everything above (not the peak during a scenario).
  results.memoryAfter = [await memoryOf("instance A", a!), await memoryOf("instance B", b!)];
  if (loadB) results.ratios["resolve / (b) req/s"] = resolveSmall.rps / loadB.rps;
  if (loadB) results.ratios["resolve server CPU per request / (b)'s"] = resolveSmall.serverCpuMs / loadB.serverCpuMs;
  if (loadB && exchange) {
    const bAround = loadBAfterExchange ? (loadB.rps + loadBAfterExchange.rps) / 2 : loadB.rps;
    results.ratios["exchange / (b) req/s"] = exchange.rps / bAround;
    if (loadBAfterExchange) results.ratios["(b) after exchange / (b) before resolve req/s (host drift)"] = loadBAfterExchange.rps / loadB.rps;
  }
  if (loadC) results.ratios["resolve / (c) req/s"] = resolveSmall.rps / loadC.rps;
  if (loadA && loadC) results.ratios["(c) / (a) req/s"] = loadC.rps / loadA.rps;
  if (comparison) {
    const [custom, plain] = settings.server === "custom" ? [resolveSmall, comparison] : [comparison, resolveSmall];
    results.ratios["resolve req/s: server.ts / next start"] = custom.rps / plain.rps;
    results.ratios["resolve server CPU per request: next start / server.ts"] = plain.serverCpuMs / custom.serverCpuMs;
  }
  results.targets = targets(results, resolveSmall, exchange);
  results.machine.loadAverageAfter = loadAverage();
  const cpuAfter = machineCpuTicks();
  results.machine.stealPercent = (100 * (cpuAfter.steal - cpuBefore.steal)) / Math.max(1, cpuAfter.total - cpuBefore.total);
  results.finishedAt = new Date().toISOString();
  const written = writeResults(results, path.join("bench", "results"));
  if (results.openLoop.length > 0) {
    writeFileSync(path.join("bench", "results", "open-loop.svg"), renderOpenLoopSvg(results));
    log("plot: bench/results/open-loop.svg");
  }
  console.log("\n" + renderMarkdown(results));
  log(`results: ${written.json}, ${written.markdown}`);
}

function targets(r: BenchResults, resolve: LoadResult, exchange: LoadResult | null): Target[] {
  const list: Target[] = [];
  const ratio = (key: string) => r.ratios[key];
  const resolveRatio = ratio("resolve / (b) req/s");
  if (resolveRatio !== undefined) list.push({ name: "resolve throughput / (b)", target: ">= 0.70", actual: resolveRatio.toFixed(2), met: resolveRatio >= 0.7 });
  const cpuRatio = ratio("resolve server CPU per request / (b)'s");
  if (cpuRatio !== undefined) list.push({ name: "resolve server CPU per request / (b)'s", target: "<= 2.5x", actual: `${cpuRatio.toFixed(1)}x`, met: cpuRatio <= 2.5 });
  const exchangeRatio = ratio("exchange / (b) req/s");
  if (exchange && exchangeRatio !== undefined) list.push({ name: "token exchange (private_key_jwt, unique jti) / (b) (mean of before and after)", target: ">= 0.60", actual: exchangeRatio.toFixed(2), met: exchangeRatio >= 0.6 });
  const atHalfOfB = (server: OpenLoopRow["server"]) => r.openLoop.find((o) => o.server === server && o.of === "(b)" && o.fraction === 0.5);
  const half = atHalfOfB("resolve");
  const floor = atHalfOfB("(b)");
  const holds = (o: OpenLoopRow) => o.p99 <= 5 && o.p999 <= 20 && o.achievedRps >= o.offeredRps * 0.97 && o.errors === 0;
  const percentiles = (o: OpenLoopRow) => `${o.p99.toFixed(1)} ms (${o.p999.toFixed(1)} ms)`;
  if (half) {
    list.push({
      name: `resolve p99 (p99.9) open loop at 50% of (b) (${Math.round(half.offeredRps)} req/s offered, ${Math.round(half.achievedRps)} achieved)`,
      target: "<= 5 ms (<= 20 ms)",
      actual: percentiles(half),
      met: holds(half),
    });
  }
  // The floor: the bare baseline at the same rate. Not a target of its own; when it misses, the
  // machine cannot give the resolve target, whatever Frontdesk does.
  if (floor) {
    list.push({
      name: `floor: (b) itself p99 (p99.9) open loop at 50% of its max (${Math.round(floor.offeredRps)} req/s offered, ${Math.round(floor.achievedRps)} achieved)`,
      target: "<= 5 ms (<= 20 ms)",
      actual: percentiles(floor),
      met: holds(floor),
    });
    if (!holds(floor)) {
      r.notes.push(
        `At 50% of its own maximum the bare baseline (b) has p99 ${floor.p99.toFixed(1)} ms (p99.9 ${floor.p999.toFixed(1)} ms): on this machine (${r.machine.cores} cores shared by the load generator, PostgreSQL and the server) the open-loop target is below what a bare node:http server doing one SELECT and one INSERT achieves, so resolve cannot meet it here.`,
      );
    }
  }
  const elicitation = r.load.find((l) => l.name.startsWith("elicitation creation"));
  if (elicitation) list.push({ name: "elicitation creation", target: ">= 1,000/s", actual: `${Math.round(elicitation.rps)}/s`, met: elicitation.rps >= 1000 && elicitation.errors === 0 });
  const rss = r.memoryAfter.map((m) => m.rssMb);
  if (rss.length > 0) list.push({ name: "RSS per instance after the run", target: "<= 300 MB", actual: rss.map((x) => `${Math.round(x)} MB`).join(", "), met: Math.max(...rss) <= 300 });
  if (r.storm) {
    const s = r.storm;
    list.push({ name: "refresh storm upstream calls", target: "exactly 1", actual: String(s.upstreamRefreshCalls), met: s.upstreamRefreshCalls === 1 });
    list.push({
      name: `refresh storm (${s.requests} over ${s.instances} instances): last answer after the upstream's`,
      target: "<= +100 ms",
      actual: `+${s.overheadMs.toFixed(0)} ms (all ${s.allAnsweredMs.toFixed(0)} ms, upstream ${s.upstreamLatencyMs.toFixed(0)} ms)`,
      met: s.overheadMs <= 100 && (s.statuses["200"] ?? 0) === s.requests,
    });
  }
  if (r.longPoll) list.push({ name: "long-poll wake-up, completed in another process, p50", target: "<= 50 ms", actual: `${r.longPoll.p50.toFixed(0)} ms`, met: r.longPoll.p50 <= 50 && r.longPoll.errors === 0 });
  if (r.growth) list.push({ name: "growth p50 ratio (100k grants + 1M audit events vs 100 grants)", target: "<= 1.2", actual: r.growth.p50Ratio.toFixed(2), met: r.growth.p50Ratio <= 1.2 });
  void resolve;
  return list;
}

async function countAudit(url: string): Promise<number> {
  const pg = (await import("pg")).default;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return Number((await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM "AuditEvent"`)).rows[0]!.n);
  } finally {
    await c.end();
  }
}

/**
 * `count` users of a trusted-subject gateway, each with an elicitation that is completed and a
 * stored grant: the resolve bodies of their MCP 2026-07-28 retries (requestState from the 403).
 */
async function prepareCompletedRetries(
  server: { port: number },
  gatewayId: string,
  auth: string,
  issuer: string,
  providerId: string,
  provider: string,
  scope: string,
  upstream: { mintTokens(o: { accountId: string; scope: string; expiresIn?: number }): Promise<{ accessToken: string; refreshToken: string }> },
  count: number,
): Promise<string[]> {
  const { completeElicitation } = await import("@/lib/elicitations/settle");
  const { saveGrant } = await import("@/lib/grants/save");
  const { recordApproval } = await import("@/lib/consent/approvals");
  const { getDb } = await import("@/lib/db/client");
  const db = await getDb();
  const minted = await upstream.mintTokens({ accountId: "alice", scope, expiresIn: 3600 });
  const tag = randomBytes(3).toString("hex");
  const bodies: string[] = [];
  for (let i = 0; i < count; i++) {
    const subject = `retry-${tag}-${i}`;
    const res = await fetch(`http://127.0.0.1:${server.port}/api/v1/resolve`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: auth },
      body: JSON.stringify({ subject, provider, scopes: [scope] }),
    });
    const body = JSON.parse(await res.text()) as { error?: { data?: { elicitations?: { elicitationId: string }[] } }; inputRequired?: { requestState?: string } };
    const id = body.error?.data?.elicitations?.[0]?.elicitationId;
    const state = body.inputRequired?.requestState;
    if (res.status !== 403 || !id || !state) throw new Error(`retry setup: expected an input_required answer, got ${res.status}`);
    const user = await db.user.create({ data: { id: `usr_bench_retry_${tag}_${i}`, issuer, subject, email: `${subject}@bench.test` } });
    const { grantId } = await saveGrant({
      userId: user.id,
      providerId,
      scopes: [scope],
      credential: { kind: "oauth", accessToken: minted.accessToken, refreshToken: minted.refreshToken, expiresAt: new Date(Date.now() + 3600_000) },
    });
    // As the portal does on approval: the asking gateway is approved for the new connection.
    await db.$transaction((tx) => recordApproval(tx, { grantId, requester: { gatewayId, agentId: null }, approvedBy: "user", approvedById: user.id }));
    await completeElicitation(id, { issuer, subject });
    bodies.push(JSON.stringify({ subject, provider, scopes: [scope], request_state: state, wait: 5 }));
  }
  return bodies;
}

async function measureLongPoll(
  poller: { port: number },
  creator: { port: number },
  auth: string,
  issuer: string,
  provider: string,
  scope: string,
  samples: number,
): Promise<LongPollResult> {
  const { completeElicitation } = await import("@/lib/elicitations/settle");
  const latencies: number[] = [];
  let errors = 0;
  for (let i = 0; i < samples; i++) {
    const subject = `poll-${randomBytes(4).toString("hex")}`;
    const res = await fetch(`http://127.0.0.1:${creator.port}/api/v1/resolve`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: auth },
      body: JSON.stringify({ subject, provider, scopes: [scope] }),
    });
    const body = JSON.parse(await res.text()) as { error?: { data?: { elicitations?: { elicitationId: string }[] } } };
    const id = body.error?.data?.elicitations?.[0]?.elicitationId;
    if (res.status !== 403 || !id) throw new Error(`long-poll setup: expected an elicitation, got ${res.status}`);
    const poll = fetch(`http://127.0.0.1:${poller.port}/api/v1/elicitations/${id}?wait=30`, { headers: { authorization: auth } });
    // Vary the moment of completion relative to the poller's interval.
    await new Promise((r) => setTimeout(r, 300 + randomInt(250)));
    await completeElicitation(id, { issuer, subject });
    const completed = performance.now();
    const answer = await poll;
    const status = (JSON.parse(await answer.text()) as { status?: string }).status;
    latencies.push(performance.now() - completed);
    if (answer.status !== 200 || status !== "completed") errors++;
  }
  latencies.sort((x, y) => x - y);
  return { samples, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies[latencies.length - 1]!, errors };
}

async function measureRefreshStorm(o: {
  a: { port: number; pid: number };
  b: { port: number; pid: number };
  /** The throwaway cluster's postmaster (null on BENCH_DATABASE_URL: PostgreSQL's CPU is then not counted). */
  databasePid: number | null;
  upstream: Awaited<ReturnType<typeof import("@/tests/helpers/oidc-upstream").startUpstream>>;
  idp: Awaited<ReturnType<typeof import("@/tests/helpers/oidc-idp").startIdp>>;
  config: import("./lib/seed").BenchConfig;
  basicHeader: string;
  resolveBody: (token: string) => string;
  requests: number;
  delayMs: number;
}): Promise<StormResult> {
  const { saveGrant } = await import("@/lib/grants/save");
  const { getDb } = await import("@/lib/db/client");
  const db = await getDb();
  const user = await db.user.create({ data: { id: "usr_bench_storm", issuer: o.idp.issuer, subject: "bench-storm", email: "storm@bench.test" } });
  const minted = await o.upstream.mintTokens({ accountId: "alice", scope: "notes:read" });
  await saveGrant({
    userId: user.id,
    providerId: o.config.providerId,
    scopes: ["notes:read"],
    credential: { kind: "oauth", accessToken: minted.accessToken, refreshToken: minted.refreshToken, expiresAt: new Date(Date.now() - 1000) },
  });
  const { APPROVE_ALL_GATEWAYS_SQL } = await import("./lib/seed");
  await db.$executeRawUnsafe(APPROVE_ALL_GATEWAYS_SQL);
  const token = await o.idp.signSubjectToken({ sub: "bench-storm", aud: "frontdesk", expiresIn: 3600 });
  const body = o.resolveBody(token);
  // One keep-alive connection per request, opened by a warm-up round, so the storm measures Frontdesk.
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.requests, keepAliveMsecs: 30_000 });
  const send = (port: number, b: string) => postJson(agent, port, "/api/v1/resolve", o.basicHeader, b);
  const ports = [o.a.port, o.b.port];
  // Each instance has refreshed a token once before (provider discovery and the openid-client
  // configuration are cached, as in a server that has been running): one other expired grant each.
  for (const [i, port] of ports.entries()) {
    const warmUser = await db.user.create({ data: { id: `usr_bench_storm_warm${i}`, issuer: o.idp.issuer, subject: `bench-storm-warm${i}` } });
    const warmTokens = await o.upstream.mintTokens({ accountId: "alice", scope: "notes:read" });
    await saveGrant({
      userId: warmUser.id,
      providerId: o.config.providerId,
      scopes: ["notes:read"],
      credential: { kind: "oauth", accessToken: warmTokens.accessToken, refreshToken: warmTokens.refreshToken, expiresAt: new Date(Date.now() - 1000) },
    });
    await db.$executeRawUnsafe(APPROVE_ALL_GATEWAYS_SQL);
    const warmSubject = await o.idp.signSubjectToken({ sub: `bench-storm-warm${i}`, aud: "frontdesk", expiresIn: 3600 });
    const warmed = await send(port, o.resolveBody(warmSubject));
    if (warmed.status !== 200) throw new Error(`refresh warm-up failed: ${warmed.status}`);
  }
  const warmBody = o.resolveBody(await o.idp.signSubjectToken({ sub: "bench-user-0", aud: "frontdesk", expiresIn: 3600 }));
  await Promise.all(Array.from({ length: o.requests }, (_, i) => send(ports[i % 2]!, warmBody)));

  // The upstream's own latency for one refresh at this delay (a second grant, called directly).
  o.upstream.delayTokenEndpoint(o.delayMs);
  const probe = await o.upstream.mintTokens({ accountId: "alice", scope: "notes:read" });
  const t0 = performance.now();
  const direct = await fetch(`${o.upstream.issuer}/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(`${o.upstream.clientId}:${o.upstream.clientSecret}`).toString("base64")}`,
    },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: probe.refreshToken }).toString(),
  });
  await direct.text();
  const upstreamLatencyMs = performance.now() - t0;
  if (direct.status !== 200) throw new Error(`direct upstream refresh failed: ${direct.status}`);

  const before = o.upstream.stats.refreshRequests;
  // CPU of each party at the start, when the tokens are issued (read in the upstream's own
  // counter update, before it answers: about 1 ms), and at the end. PostgreSQL's backends are
  // those of the pools the instances opened before the storm.
  const parties = { loadGenerator: [process.pid], instanceA: pidsOf({ group: o.a.pid }), instanceB: pidsOf({ group: o.b.pid }), postgres: o.databasePid === null ? [] : pidsOf({ tree: o.databasePid }) };
  const cpuNow = () => Object.fromEntries(Object.entries(parties).map(([k, pids]) => [k, cpuMsOfThreads(pids)])) as Record<keyof typeof parties, number>;
  let cpuIssued: Record<keyof typeof parties, number> | undefined;
  // When the upstream (in this process) saw the token request and when it issued the refresh.
  const marks: { calledMs?: number; issuedMs?: number } = {};
  const watch = (field: "tokenRequests" | "refreshRequests", mark: "calledMs" | "issuedMs", onFirst?: () => void) => {
    let value = o.upstream.stats[field];
    Object.defineProperty(o.upstream.stats, field, {
      configurable: true,
      enumerable: true,
      get: () => value,
      set: (v: number) => {
        value = v;
        if (marks[mark] !== undefined) return;
        marks[mark] = performance.now() - started;
        onFirst?.();
      },
    });
  };
  watch("tokenRequests", "calledMs");
  watch("refreshRequests", "issuedMs", () => (cpuIssued = cpuNow()));
  const cpuStart = cpuNow();
  const started = performance.now();
  const answeredAt: number[] = [];
  const answers = await Promise.all(
    Array.from({ length: o.requests }, (_, i) =>
      send(ports[i % 2]!, body).then((r) => {
        answeredAt.push(performance.now() - started);
        return r;
      }),
    ),
  );
  const allAnsweredMs = performance.now() - started;
  const cpuEnd = cpuNow();
  o.upstream.delayTokenEndpoint(0);
  agent.destroy();
  const statuses: Record<string, number> = {};
  const tokens = new Set<string>();
  for (const r of answers) {
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    if (r.status === 200) tokens.add((JSON.parse(r.text) as { header: { value: string } }).header.value);
  }
  return {
    instances: 2,
    requests: o.requests,
    upstreamDelayMs: o.delayMs,
    upstreamLatencyMs,
    upstreamRefreshCalls: o.upstream.stats.refreshRequests - before,
    statuses,
    distinctTokens: tokens.size,
    upstreamCalledMs: marks.calledMs ?? NaN,
    upstreamIssuedMs: marks.issuedMs ?? NaN,
    firstAnsweredMs: answeredAt[0]!,
    medianAnsweredMs: answeredAt[Math.floor(answeredAt.length / 2)]!,
    allAnsweredMs,
    overheadMs: allAnsweredMs - upstreamLatencyMs,
    cpu: cpuIssued ? { cores: os.cpus().length, before: cpuBetween(cpuStart, cpuIssued), after: cpuBetween(cpuIssued, cpuEnd) } : null,
  };
}

function cpuBetween(from: Record<string, number>, to: Record<string, number>): StormCpu {
  const d = (k: string) => (to[k] ?? 0) - (from[k] ?? 0);
  const parts = { loadGenerator: d("loadGenerator"), instanceA: d("instanceA"), instanceB: d("instanceB"), postgres: d("postgres") };
  return { ...parts, total: parts.loadGenerator + parts.instanceA + parts.instanceB + parts.postgres };
}

function postJson(agent: http.Agent, port: number, pathname: string, authorization: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path: pathname, method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), authorization } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function cleanup() {
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch {
      // best effort
    }
  }
}

main()
  .then(cleanup)
  .then(() => process.exit(0))
  .catch(async (e: unknown) => {
    console.error(e);
    await cleanup();
    process.exit(1);
  });
