// `npm run bench:kek`: what holding the key-encryption keys in a PKCS#11 token (SoftHSM2 here)
// costs against the local keys (FRONTDESK_KEYS). Measures, in this process:
//  1. wrap and unwrap of one data key: latency per call (sequential) and calls/s at 16 at once;
//  2. gateway resolves (the real handler, real PostgreSQL, IdP and upstream; the grant's data key
//     unwrapped on every resolve) per second at 16 at once, the grant wrapped under each key kind.
// A benchmark, not a test: it prints a table and writes bench/results/kek.md; it never fails on a
// figure. Settings: BENCH_DURATION (s per resolve run, 10), BENCH_KEK_CALLS (sequential calls, 2000),
// BENCH_DATABASE_URL (else a throwaway cluster).
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createSoftHsm } from "@/tests/helpers/softhsm";
import { startBenchDatabase } from "./lib/postgres";

const num = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const DURATION_S = num("BENCH_DURATION", 10);
const CALLS = num("BENCH_KEK_CALLS", 2000);
const CONCURRENCY = 16;

const hsm = createSoftHsm(["bench"]);
const db = await startBenchDatabase(process.env.BENCH_DATABASE_URL);
const LOCAL = `local1:${randomBytes(32).toString("base64")}`;
Object.assign(process.env, { DATABASE_URL: db.url, FRONTDESK_KEYS: LOCAL, LOG_LEVEL: "warn" });

const { createTokenKey, pkcs11KeySource } = await import("@/lib/crypto/pkcs11-keys");
const { createLocalKeyring, setKeyring, useKeySource, combineKeyrings } = await import("@/lib/crypto/keyring");
const { parseKeySpecs } = await import("@/lib/crypto/key-spec");
const { dataKeyAad } = await import("@/lib/crypto/envelope");
const { rotateDataKeys } = await import("@/lib/crypto/rotate");
await createTokenKey(hsm.config("bench", []), "hsm1");
const local = createLocalKeyring(parseKeySpecs(LOCAL));
const token = await pkcs11KeySource(hsm.config("bench", ["hsm1"])).load();

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function perCall(name: string, op: () => Promise<unknown>) {
  for (let i = 0; i < 200; i++) await op();
  const times: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t = process.hrtime.bigint();
    await op();
    times.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  times.sort((a, b) => a - b);
  const started = process.hrtime.bigint();
  let done = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = 0; i < CALLS / CONCURRENCY; i++) {
        await op();
        done++;
      }
    }),
  );
  const perSecond = done / (Number(process.hrtime.bigint() - started) / 1e9);
  return { name, p50: percentile(times, 50), p99: percentile(times, 99), perSecond };
}

const dek = randomBytes(32);
const aad = dataKeyAad("Grant", "grt_bench", "x");
const localBlob = await local.wrap("local1", dek, aad);
const tokenBlob = await token.wrap("hsm1", dek, aad);
const calls = [
  await perCall("wrap, local key", () => local.wrap("local1", dek, aad)),
  await perCall("wrap, PKCS#11 token", () => token.wrap("hsm1", dek, aad)),
  await perCall("unwrap, local key", () => local.unwrap("local1", localBlob, aad)),
  await perCall("unwrap, PKCS#11 token", () => token.unwrap("hsm1", tokenBlob, aad)),
];

// Resolves: the gateway test bed (real oidc-provider IdP and upstream) against the bench database.
const { startGatewayTestbed, connectNotes, resolveRequest, basicAuth, SUBJECT_AUDIENCE } = await import("@/tests/helpers/gateway-testbed");
setKeyring(local);
const bed = await startGatewayTestbed();
const { handleResolve } = await import("@/lib/gateway-api/resolve");
const notes = await connectNotes(bed, { scope: "notes:read" });
const subject = await bed.idp.signSubjectToken({ sub: bed.idp.users.alice.sub, aud: SUBJECT_AUDIENCE, expiresIn: 3600 });
const authorization = basicAuth(bed.basic.id, bed.basic.secret!);

async function resolveRate(label: string) {
  const once = async () => {
    const res = await handleResolve(resolveRequest(bed.frontdeskUrl, { subject_token: subject, provider: "notes" }, { authorization }));
    const body = await res.text();
    if (res.status !== 200 || !body.includes(notes.accessToken)) throw new Error(`resolve answered ${res.status}`);
  };
  for (let i = 0; i < 100; i++) await once();
  const cpuBefore = process.cpuUsage();
  const until = Date.now() + DURATION_S * 1000;
  const started = Date.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < until) {
        await once();
        done++;
      }
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { label, perSecond: done / seconds, cpuMsPerResolve: (cpu.user + cpu.system) / 1000 / done };
}

const resolves = [await resolveRate("grant wrapped under the local key")];
// Move every row to the token's key (the migration path), then measure with the token alone.
setKeyring(combineKeyrings(token, local));
const rotated = await rotateDataKeys();
await useKeySource(pkcs11KeySource(hsm.config("bench", ["hsm1"])));
resolves.push(await resolveRate("grant wrapped in the PKCS#11 token"));
// And back to local, so machine drift between the two runs shows.
setKeyring(combineKeyrings(local, token));
await rotateDataKeys();
setKeyring(local);
resolves.push(await resolveRate("grant wrapped under the local key (again)"));

const fmt = (n: number, d = 1) => n.toFixed(d);
const lines = [
  `# Key-encryption keys: local vs PKCS#11 token (SoftHSM2)`,
  "",
  `${new Date().toISOString()}; ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}; ${db.describe}; rows rotated to the token: ${rotated.rewrapped}.`,
  "",
  `| Call (32-byte data key, AES-256-GCM) | p50 µs | p99 µs | calls/s at ${CONCURRENCY} at once |`,
  "|---|---|---|---|",
  ...calls.map((c) => `| ${c.name} | ${fmt(c.p50)} | ${fmt(c.p99)} | ${fmt(c.perSecond, 0)} |`),
  "",
  `| Resolve (${CONCURRENCY} at once, ${DURATION_S} s, in-process handler) | resolves/s | CPU ms per resolve |`,
  "|---|---|---|",
  ...resolves.map((r) => `| ${r.label} | ${fmt(r.perSecond, 0)} | ${fmt(r.cpuMsPerResolve, 2)} |`),
  "",
];
const report = lines.join("\n");
console.log(report);
writeFileSync(path.join("bench", "results", "kek.md"), report);

await bed.close();
const { closeDb } = await import("@/lib/db/client");
await closeDb();
await db.close();
hsm.cleanup();
process.exit(0);
