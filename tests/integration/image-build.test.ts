// The container image, reproduced from the Dockerfile in a clean directory and run. There is no
// container runtime here, so each stage becomes a folder standing for its root filesystem, and
// every instruction is read from the Dockerfile (tests/helpers/dockerfile.ts) and carried out or,
// where it cannot run here, checked instead; an instruction this file does not know fails it:
// - FROM node:X: this machine's node, which must be the image's version; the image's node
//   prefix (/usr/local) is this node's prefix.
// - build stage: its RUN `npm run build` is the same build `npm test` makes before the suites
//   (checked: the build script's steps are steps of the test script), so its outputs are taken
//   from the repository instead of building twice (CI time); `rm -rf .next/cache` is honoured by
//   not copying the cache. Its `npm ci` is the suite's own install of the same lockfile.
// - prod-deps stage: carried out for real, `npm ci --omit=dev` with `--offline` added (from the
//   npm cache, no network); `npm cache clean --force` is skipped (it would empty this machine's
//   shared cache; in the image it only shrinks a stage that is never shipped).
// - apt-get install: not run (no image filesystem to install into); each package must be
//   installed on this machine instead (.ci/run installs them).
// - runtime stage: COPY, ENV, WORKDIR carried out; VOLUME paths are the only writable folders;
//   USER node runs the processes as uid 1000 (the official image's node user) when the test runs
//   as root, so a write anywhere else fails as it would in the image (root-owned files), and a
//   snapshot of the tree before and after proves nothing outside the VOLUMEs changed; HEALTHCHECK's
//   command is run against the started server (its timing flags are not exercised).
// Then, as the image would be used (compose.yaml): the migrator, the CLI and the server (ENTRYPOINT
// + CMD: node, no shell, no tsx) against a real PostgreSQL, live and ready health-checked, a
// portal page and a gateway call answered, and SIGTERM ending the server cleanly.
// Not exercised here: the base image's own files, image layers and size on a registry, Docker's
// read-only mount itself, the network namespace (the server binds 0.0.0.0 as CMD says, and is
// only called on 127.0.0.1).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import ignore from "@balena/dockerignore";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import { distDir } from "../helpers/frontdesk-server";
import { healthcheckCommand, only, readDockerfile, stageEnv, steps, writablePaths, type DockerStage, type DockerStep } from "../helpers/dockerfile";
import { startIdp, type TestIdp } from "../helpers/oidc-idp";
import { freePort } from "../helpers/postgres-cluster";
import { useTestDatabase } from "../helpers/test-db";

const repo = path.resolve(import.meta.dirname, "../..");
const databaseUrl = await useTestDatabase({ migrated: false });
const stages = readDockerfile(path.join(repo, "Dockerfile"));
const runtime = stages[stages.length - 1]!;
const dockerignore = ignore().add(readFileSync(path.join(repo, ".dockerignore"), "utf8"));
const work = mkdtempSync(path.join(os.tmpdir(), "frontdesk-image-"));
chmodSync(work, 0o755);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** This node's installation prefix stands for the image's /usr/local (where the official image installs node). */
const NODE_PREFIX = path.dirname(path.dirname(process.execPath));
const IMAGE_NODE_PREFIX = "/usr/local";
/** What the build stage produces (everything else it holds comes from the build context). */
const BUILD_OUTPUTS = ["node_modules", ".next", "dist", "lib/generated"];
/** The official node image's `node` user. */
const NODE_USER = { uid: 1000, gid: 1000 };
const asRoot = process.getuid?.() === 0;
/** How long the image's server may take to answer its health endpoints (only ends a hang). */
const HEALTH_DEADLINE_MS = 120_000;

const stageRoot = (s: DockerStage) => path.join(work, s.name);
/** An absolute path inside a stage's filesystem. */
const inStage = (s: DockerStage, p: string) => path.join(stageRoot(s), p);
const fail = (step: DockerStep, why: string): never => {
  throw new Error(`Dockerfile line ${step.line} (${step.keyword} ${step.text.slice(0, 80)}): ${why}`);
};

const done: string[] = []; // every instruction and what was done with it, printed at the end

function mapEnv(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === IMAGE_NODE_PREFIX ? NODE_PREFIX : v]));
}

function checkAptPackages(step: DockerStep, command: string): void {
  const packages = command.split(/\s+/).slice(2).filter((w) => !w.startsWith("-"));
  for (const pkg of packages) {
    const status = spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" });
    if (status.stdout !== "install ok installed") fail(step, `Debian package ${pkg} is not installed here (.ci/run installs what the Dockerfile's stages install)`);
  }
  done.push(`line ${step.line}: apt-get install ${packages.join(" ")}: not run; installed on this machine`);
}

/** One `&&`-separated command of a RUN in the prod-deps (or any really executed) stage. */
function runCommand(s: DockerStage, step: DockerStep, command: string, cwd: string, env: Record<string, string>): void {
  if (command === "apt-get update" || command === "rm -rf /var/lib/apt/lists/*") return void done.push(`line ${step.line}: ${command}: not run (apt state of an image)`);
  if (command.startsWith("apt-get install ")) return checkAptPackages(step, command);
  if (command === "npm cache clean --force") return void done.push(`line ${step.line}: ${command}: skipped (would empty this machine's npm cache; the stage's cache is never shipped)`);
  let run = command;
  if (/^npm ci\b/.test(command)) run = `${command} --offline`;
  else if (!/^node -e /.test(command)) fail(step, `image-build.test.ts does not know how to reproduce \`${command}\` in stage ${s.name}: teach it`);
  const started = Date.now();
  // A RUN sees the image's environment, not this test's: above all no npm_config_* of the npm
  // that started the suite (its local prefix would point npm ci at the repository).
  const runEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", ...env };
  const result = spawnSync("/bin/sh", ["-c", run], { cwd, env: runEnv as unknown as NodeJS.ProcessEnv, encoding: "utf8", timeout: 900_000 });
  if (result.status !== 0) fail(step, `\`${run}\` exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  done.push(`line ${step.line}: ${run}: ran (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

/** The build stage's RUNs, each matched to the build the suite already made. */
function checkBuildCommand(step: DockerStep, command: string): void {
  if (command.startsWith("apt-get install ")) return checkAptPackages(step, command);
  if (command === "apt-get update" || command === "rm -rf /var/lib/apt/lists/*") return;
  if (/^npm ci( --no-audit| --no-fund)*$/.test(command)) return void done.push(`line ${step.line}: ${command}: the suite's install of the same package-lock.json`);
  if (command === "rm -rf .next/cache") return void done.push(`line ${step.line}: ${command}: .next copied without its cache`);
  if (command === "npm run build") {
    const scripts = (JSON.parse(readFileSync(path.join(repo, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    const buildSteps = scripts.build!.split("&&").map((x) => x.trim());
    const testSteps = scripts.test!.split("&&").map((x) => x.trim());
    // npm test builds with the same steps, in the same order, before the suites run.
    const positions = buildSteps.map((b) => testSteps.indexOf(b));
    if (positions.some((p) => p < 0) || positions.some((p, i) => i > 0 && p < positions[i - 1]!)) {
      fail(step, `npm test no longer makes the build the image makes (build: ${scripts.build}; test: ${scripts.test}); keep them equal or build here`);
    }
    return void done.push(`line ${step.line}: npm run build: the build npm test made (${buildSteps.join(" && ")})`);
  }
  fail(step, `image-build.test.ts does not know how the suite's build reproduces \`${command}\`: teach it`);
}

/** Where a path of the build stage's /app is in the repository (the build stage is the suite's own build). */
function buildStageSource(step: DockerStep, appPath: string): { from: string; filter: (src: string) => boolean } {
  const rel = path.posix.relative("/app", appPath);
  if (rel.startsWith("..")) fail(step, `${appPath} is outside the build stage's /app`);
  const output = BUILD_OUTPUTS.find((o) => rel === o || rel.startsWith(`${o}/`));
  if (output === ".next") {
    const dir = path.resolve(repo, distDir());
    if (!existsSync(path.join(dir, "BUILD_ID"))) fail(step, `no Next.js build in ${dir}: npm test makes it (or run \`npx next build && npm run build:server\`)`);
    const notCache = (src: string) => {
      const r = path.relative(dir, src);
      return r !== "cache" && !r.startsWith(`cache${path.sep}`);
    };
    return { from: path.join(dir, rel.slice(".next".length)), filter: notCache };
  }
  if (output) return { from: path.join(repo, rel), filter: () => true };
  if (dockerignore.ignores(rel)) fail(step, `${rel} is excluded by .dockerignore and is not a build output: it is not in the build stage`);
  return { from: path.join(repo, rel), filter: (src) => src === path.join(repo, rel) || !dockerignore.ignores(path.relative(repo, src)) };
}

interface Image {
  root: string;
  workdir: string;
  env: Record<string, string>;
  volumes: string[];
}

function reproduce(): Image {
  const [nodeVersion] = /\d+\.\d+(\.\d+)?/.exec(runtime.image.split(":")[1] ?? "") ?? [];
  for (const s of stages) {
    if (!s.image.startsWith("node:") || !nodeVersion || !process.versions.node.startsWith(`${nodeVersion}.`)) {
      throw new Error(`stage ${s.name} is FROM ${s.image}: this test stands in this machine's node ${process.versions.node} for it; they must agree`);
    }
  }
  let image: Image | undefined;
  for (const s of stages) {
    mkdirSync(stageRoot(s), { recursive: true, mode: 0o755 });
    let workdir = "/";
    const isBuild = s.name === "build" && s !== runtime;
    const env = mapEnv(stageEnv(s));
    if (isBuild) {
      const inlined = Object.keys(env).filter((k) => k.startsWith("NEXT_PUBLIC_"));
      if (inlined.length > 0) throw new Error(`the build stage sets ${inlined.join(", ")}, which Next inlines: the suite's build would differ`);
    }
    for (const step of s.steps) {
      switch (step.keyword) {
        case "WORKDIR":
          workdir = path.posix.resolve(workdir, step.args[0]!);
          if (isBuild && workdir !== "/app") fail(step, "the build stage's WORKDIR must be /app (the repository stands for it)");
          mkdirSync(inStage(s, workdir), { recursive: true, mode: 0o755 });
          break;
        case "ENV":
        case "ARG":
        case "LABEL":
          break;
        case "COPY": {
          const [dest, ...sources] = [step.args[step.args.length - 1]!, ...step.args.slice(0, -1)];
          const target = path.posix.resolve(workdir, dest);
          const from = step.flags.from ? stages.find((x) => x.name === step.flags.from) : undefined;
          if (step.flags.from && !from) fail(step, `--from=${step.flags.from} names no earlier stage`);
          if (Object.keys(step.flags).some((f) => f !== "from")) fail(step, "COPY flags other than --from are not reproduced here");
          for (const src of sources) {
            const destPath = dest.endsWith("/") ? path.posix.join(target, path.posix.basename(src)) : target;
            if (isBuild) {
              // The repository is the build stage's /app: check the context allows it, copy nothing.
              if (src !== "." && dockerignore.ignores(src)) fail(step, `${src} is excluded by .dockerignore`);
              continue;
            }
            let origin: { from: string; filter: (p: string) => boolean };
            if (from?.name === "build") origin = buildStageSource(step, path.posix.resolve("/app", src));
            else if (from) origin = { from: inStage(from, src), filter: () => true };
            else {
              if (dockerignore.ignores(src)) fail(step, `${src} is excluded by .dockerignore`);
              origin = { from: path.join(repo, src), filter: (p) => !dockerignore.ignores(path.relative(repo, p) || ".") };
            }
            if (!existsSync(origin.from)) fail(step, `${src} does not exist in ${from ? `stage ${from.name}` : "the build context"}`);
            const out = inStage(s, destPath);
            mkdirSync(path.dirname(out), { recursive: true, mode: 0o755 });
            // A COPY of a whole folder from a stage nothing else reads is a move here (node_modules: 700 MB).
            const moveable = from && from.name !== "build" && !stages.some((x) => x !== s && x.steps.some((o) => o.flags.from === from.name));
            if (moveable && statSync(origin.from).isDirectory()) renameSync(origin.from, out);
            else cpSync(origin.from, out, { recursive: true, filter: origin.filter, verbatimSymlinks: true });
          }
          done.push(`line ${step.line}: COPY ${step.flags.from ? `--from=${step.flags.from} ` : ""}${step.args.join(" ")}${isBuild ? ": the repository (context checked against .dockerignore)" : ""}`);
          break;
        }
        case "RUN": {
          if (s === runtime) fail(step, "the final stage must not RUN anything (no build tools there)");
          // Continuation lines joined, then each `&&` command on its own (as /bin/sh -c would run them in turn).
          for (const command of step.text.replace(/\\\r?\n\s*/g, " ").split(/\s+&&\s+/).map((c) => c.trim().replace(/\s+/g, " "))) {
            if (isBuild) checkBuildCommand(step, command);
            else runCommand(s, step, command, inStage(s, workdir), env);
          }
          break;
        }
        case "VOLUME":
        case "USER":
        case "EXPOSE":
        case "HEALTHCHECK":
        case "ENTRYPOINT":
        case "CMD":
          if (s !== runtime) fail(step, `${step.keyword} in a stage that is not shipped has no effect; this test expects it in the final stage only`);
          break;
        default:
          fail(step, `image-build.test.ts does not reproduce ${step.keyword}: teach it`);
      }
    }
    if (s === runtime) image = { root: stageRoot(s), workdir: inStage(s, workdir), env, volumes: writablePaths(s) };
  }
  const img = image!;
  // The writable places: empty, owned by the app user (compose mounts tmpfs uid=1000, the chart emptyDir with fsGroup 1000).
  for (const v of img.volumes) {
    const dir = path.join(img.root, v);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    if (readdirSync(dir).length > 0) throw new Error(`VOLUME ${v} is not empty in the image: ${readdirSync(dir).join(", ")}`);
    if (asRoot) chownSync(dir, NODE_USER.uid, NODE_USER.gid);
  }
  return img;
}

/** path -> size/mtime/mode of every entry outside the writable folders. */
function snapshot(root: string, volumes: string[]): Map<string, string> {
  const skip = new Set(volumes.map((v) => path.join(root, v)));
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      if (skip.has(p)) continue;
      const st = lstatSync(p);
      out.set(path.relative(root, p), `${st.size}:${st.mtimeMs}:${st.mode}:${st.uid}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

interface Compose {
  services: { migrate: { command: string[]; environment: Record<string, string> }; "frontdesk-1": { environment: Record<string, string> } };
}
const compose = parse(readFileSync(path.join(repo, "compose.yaml"), "utf8"), { merge: true }) as Compose;

let image: Image;
let idp: TestIdp;
let secretsDir: string;
let before: Map<string, string>;
const figures: Record<string, string | number> = {};
const outputs: string[] = [];

/** The container's environment: the image's ENV, then what compose sets (secrets as files), with paths of the image mapped here. */
function containerEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: path.join(image.root, "home", "node"),
    TMPDIR: path.join(image.root, "tmp"),
    ...image.env,
    ...extra,
  } as unknown as NodeJS.ProcessEnv;
}
const secretFiles = () => ({
  DATABASE_URL_FILE: path.join(secretsDir, "database_url"),
  FRONTDESK_KEYS_FILE: path.join(secretsDir, "frontdesk_keys"),
  AUTH_SECRET_FILE: path.join(secretsDir, "auth_secret"),
  OIDC_CLIENT_SECRET_FILE: path.join(secretsDir, "oidc_client_secret"),
  FRONTDESK_METRICS_TOKEN_FILE: path.join(secretsDir, "metrics_token"),
});

/** `docker run IMAGE <args>`: ENTRYPOINT + args, in WORKDIR, as the image's user. */
function run(args: string[], env: Record<string, string>) {
  const entrypoint = only(runtime, "ENTRYPOINT").args;
  if (entrypoint[0] !== "node") throw new Error(`ENTRYPOINT ${entrypoint.join(" ")}: this test runs node as the entrypoint`);
  return spawn(process.execPath, [...entrypoint.slice(1), ...args], {
    cwd: image.workdir,
    env: containerEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
    ...(asRoot ? NODE_USER : {}),
  });
}

function runToEnd(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = run(args, env);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (code) => {
      outputs.push(stdout, stderr);
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  const started = Date.now();
  image = reproduce();
  figures.reproduceSeconds = Math.round((Date.now() - started) / 100) / 10;
  mkdirSync(path.join(image.root, "home", "node"), { recursive: true, mode: 0o755 });
  // Secrets as files, readable by the app user only (compose secrets, the chart's Secret volume).
  secretsDir = path.join(work, "run-secrets");
  mkdirSync(secretsDir, { mode: 0o755 });
  idp = await startIdp({ redirectUris: ["http://localhost/api/auth/callback/oidc"] });
  const secrets = {
    database_url: databaseUrl,
    frontdesk_keys: `v1:${randomBytes(32).toString("base64")}`,
    auth_secret: randomBytes(32).toString("base64url"),
    oidc_client_secret: idp.clientSecret,
    metrics_token: randomBytes(24).toString("base64url"),
  };
  for (const [name, value] of Object.entries(secrets)) {
    const file = path.join(secretsDir, name);
    writeFileSync(file, `${value}\n`, { mode: 0o400 });
    if (asRoot) chownSync(file, NODE_USER.uid, NODE_USER.gid);
  }
  const du = (p: string) => Number(execFileSync("du", ["-s", "--block-size=1", p], { encoding: "utf8" }).split("\t")[0]);
  const apparent = (p: string) => Number(execFileSync("du", ["-s", "--apparent-size", "--block-size=1", p], { encoding: "utf8" }).split("\t")[0]);
  figures.imageDiskMB = Math.round(du(image.root) / 1e6);
  figures.imageApparentMB = Math.round(apparent(image.root) / 1e6);
  figures.nodeModulesMB = Math.round(du(path.join(image.workdir, "node_modules")) / 1e6);
  figures.nextMB = Math.round(du(path.join(image.workdir, ".next")) / 1e6);
  figures.distMB = Math.round((du(path.join(image.workdir, "dist")) / 1e6) * 10) / 10;
  before = snapshot(image.root, image.volumes);
}, 1_200_000);

afterAll(async () => {
  await idp?.close();
  console.log(`image-build: ${done.join("\n  ")}\nimage-build figures: ${JSON.stringify(figures)}`);
});

describe("the image, reproduced from the Dockerfile", () => {
  it("final stage: no dev dependencies or build tools, only what the Dockerfile copies", () => {
    const top = readdirSync(image.workdir).sort();
    const copied = steps(runtime, "COPY").map((c) => path.posix.normalize(c.args[c.args.length - 1]!).split("/")[0]!);
    expect(top).toEqual([...new Set(copied)].sort());
    const modules = path.join(image.workdir, "node_modules");
    // Dev dependencies of package.json are absent (unless a production dependency needs them too).
    const pkg = JSON.parse(readFileSync(path.join(repo, "package.json"), "utf8")) as { devDependencies: Record<string, string> };
    const lock = JSON.parse(readFileSync(path.join(repo, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean; devOptional?: boolean }> };
    const devOnly = Object.keys(pkg.devDependencies).filter((d) => lock.packages[`node_modules/${d}`]?.dev === true);
    expect(devOnly.length).toBeGreaterThan(10);
    expect(devOnly).toContain("vitest");
    expect(devOnly.filter((d) => existsSync(path.join(modules, d)))).toEqual([]);
    // npm keeps "devOptional" packages (dev dependencies that a production dependency names as an
    // optional peer, e.g. typescript, @playwright/test) with --omit=dev: reported, not hidden.
    const devOptional = Object.keys(pkg.devDependencies).filter((d) => lock.packages[`node_modules/${d}`]?.devOptional === true && existsSync(path.join(modules, d)));
    figures.devOptionalInImage = devOptional.map((d) => `${d} ${(Number(execFileSync("du", ["-s", "--block-size=1", path.join(modules, d)], { encoding: "utf8" }).split("\t")[0]) / 1e6).toFixed(1)} MB`).join(", ");
    // The native PKCS#11 binding was compiled in prod-deps and copied, not built in the final stage.
    if (existsSync(path.join(modules, "pkcs11js"))) expect(existsSync(path.join(modules, "pkcs11js", "build", "Release", "pkcs11.node"))).toBe(true);
    for (const p of ["dist/server.js", "dist/cli.js", ".next/BUILD_ID", "prisma/migrations"]) expect(existsSync(path.join(image.workdir, p)), p).toBe(true);
    expect(existsSync(path.join(image.workdir, ".next", "cache"))).toBe(true); // the VOLUME, empty
    expect(readdirSync(path.join(image.workdir, ".next", "cache"))).toEqual([]);
    for (const source of ["app", "lib/cli", "server.ts", "tests", ".git", ".env"]) expect(existsSync(path.join(image.workdir, source)), source).toBe(false);
  });

  it("the migrator (compose's migrate command) applies every migration, as the image's user", async () => {
    const env = Object.fromEntries(Object.keys(compose.services.migrate.environment).map((k) => [k, secretFiles()[k as keyof ReturnType<typeof secretFiles>]!]));
    expect(Object.keys(env).sort()).toEqual(["DATABASE_URL_FILE", "FRONTDESK_KEYS_FILE"]);
    const result = await runToEnd(compose.services.migrate.command, env);
    const migrations = readdirSync(path.join(repo, "prisma", "migrations"), { withFileTypes: true }).filter((e) => e.isDirectory());
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain(`applied ${migrations.length} migration`);
    expect(result.code).toBe(0);
    const again = await runToEnd(compose.services.migrate.command, env);
    expect(again.code).toBe(0);
  }, 300_000);

  it("the CLI runs from the same artifact: help, and an audit-chain check against the database", async () => {
    const help = await runToEnd(["dist/cli.js", "--help"], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/db migrate/);
    const verify = await runToEnd(["dist/cli.js", "audit", "verify"], { ...secretFiles() });
    expect(verify.stderr).toBe("");
    expect(verify.code).toBe(0);
  }, 300_000);

  describe("the server, started as the image's CMD", () => {
    let server: ReturnType<typeof run>;
    let port: number;
    let metricsPort: number;
    let log = "";
    let exited: Promise<number | null>;

    beforeAll(async () => {
      port = await freePort();
      metricsPort = await freePort();
      const cmd = only(runtime, "CMD").args;
      const serverEnv: Record<string, string> = {
        ...secretFiles(),
        // `docker run -e PORT=...`: the image's PORT is 3000; here a free port, parallel test files share the machine.
        PORT: String(port),
        FRONTDESK_URL: `http://localhost:${port}`,
        OIDC_ISSUER: idp.issuer,
        OIDC_CLIENT_ID: idp.clientId,
        FRONTDESK_INSECURE_HTTP_ISSUERS: idp.issuer,
        // compose's metrics listener (all interfaces, bearer token from a file), on a free port.
        FRONTDESK_METRICS_PORT: String(metricsPort),
        FRONTDESK_METRICS_HOST: compose.services["frontdesk-1"].environment.FRONTDESK_METRICS_HOST!,
        LOG_LEVEL: "info",
      };
      // Everything compose gives a replica, with values here (the test fails if compose adds something this does not set).
      const composeNames = Object.keys(compose.services["frontdesk-1"].environment).filter((k) => !/^(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT|OIDC_ADMIN_GROUP|FRONTDESK_TRUSTED_PROXIES)$/.test(k));
      expect(composeNames.filter((k) => !(k in serverEnv))).toEqual([]);
      const t0 = performance.now();
      server = run(cmd, serverEnv);
      server.stdout!.on("data", (d: Buffer) => (log += d.toString()));
      server.stderr!.on("data", (d: Buffer) => (log += d.toString()));
      exited = new Promise((resolve) => server.on("exit", (code) => resolve(code)));
      // Each health endpoint answering 200 is the event; the server exiting ends the wait at once,
      // and the deadline (far above the 1.5-3.8 s it takes here) only ends a hang.
      let gone = false;
      const died = exited.then((code) => {
        gone = true;
        throw new Error(`the server exited (code ${code}) during start-up; its log:\n${log}`);
      });
      const waitFor = async (p: string) => {
        const healthy = vi
          .waitFor(
            async () => {
              if (gone) return; // died rejects the race
              const status = await fetch(`http://127.0.0.1:${port}${p}`).then((r) => r.status, () => 0);
              if (status !== 200) throw new Error(status === 0 ? "no connection" : `status ${status}`);
            },
            { timeout: HEALTH_DEADLINE_MS, interval: 100 },
          )
          .catch((e: Error) => {
            throw new Error(`${p} did not answer 200 within ${HEALTH_DEADLINE_MS} ms (last: ${e.message}); the server's log:\n${log}`);
          });
        await Promise.race([healthy, died]);
        return performance.now() - t0;
      };
      figures.startToLiveMs = Math.round(await waitFor("/api/health/live"));
      figures.startToReadyMs = Math.round(await waitFor("/api/health/ready"));
      figures.rssAfterReadyMB = rssMB(server.pid!);
    }, 600_000);

    afterAll(async () => {
      if (server && server.exitCode === null) {
        server.kill("SIGKILL");
        await exited;
      }
    });

    it("is node running dist/server.js directly: no shell, no tsx, no child process", () => {
      const cmdline = readFileSync(`/proc/${server.pid}/cmdline`, "utf8").split("\0").filter(Boolean);
      expect(cmdline).toEqual([process.execPath, ...only(runtime, "ENTRYPOINT").args.slice(1), ...only(runtime, "CMD").args]);
      const children = readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, "utf8").trim();
      expect(children).toBe("");
      if (asRoot) expect(readFileSync(`/proc/${server.pid}/status`, "utf8")).toMatch(/^Uid:\s+1000\s/m);
    });

    it("live and ready answer 200, and the image's HEALTHCHECK command passes", async () => {
      const live = await fetch(`http://127.0.0.1:${port}/api/health/live`);
      expect(live.status).toBe(200);
      const ready = await fetch(`http://127.0.0.1:${port}/api/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: "ready", database: "ok", migrations: "current", keys: "loaded", shutdown: "no" });
      const [command, ...args] = healthcheckCommand(only(runtime, "HEALTHCHECK"));
      expect(command).toBe("node");
      const check = await new Promise<number | null>((resolve) => {
        const c = spawn(process.execPath, args, { cwd: image.workdir, env: containerEnv({ PORT: String(port) }), stdio: "ignore", ...(asRoot ? NODE_USER : {}) });
        c.on("exit", resolve);
      });
      expect(check).toBe(0);
    });

    it("serves the portal (Next.js from the copied build) and the gateway API (structured 401)", async () => {
      const page = await fetch(`http://127.0.0.1:${port}/`, { redirect: "manual" });
      expect(page.status).toBeLessThan(400);
      expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      const signIn = await fetch(`http://127.0.0.1:${port}/sign-in`, { redirect: "manual" });
      expect(signIn.status).toBeLessThan(500);
      const resolve = await fetch(`http://127.0.0.1:${port}/api/v1/resolve`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect(resolve.status).toBe(401);
      const body = (await resolve.json()) as { error: { code: string; requestId: string } };
      expect(body.error.code).toBeTruthy();
      expect(body.error.requestId).toBeTruthy();
      figures.rssAfterPortalMB = rssMB(server.pid!);
    });

    it("serves /metrics on its own listener, only with the bearer token from its file", async () => {
      const url = `http://127.0.0.1:${metricsPort}/metrics`;
      expect((await fetch(url)).status).toBe(401);
      const token = readFileSync(secretFiles().FRONTDESK_METRICS_TOKEN_FILE, "utf8").trim();
      const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/^# TYPE frontdesk_gateway_requests_total counter$/m);
    });

    it("SIGTERM reaches the server and it exits cleanly; nothing was written outside the VOLUMEs", async () => {
      const t = performance.now();
      server.kill("SIGTERM");
      expect(await exited).toBe(0);
      figures.sigtermToExitMs = Math.round(performance.now() - t);
      const after = snapshot(image.root, image.volumes);
      const changed = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k));
      expect(changed).toEqual([]);
      for (const v of image.volumes) figures[`written:${v}`] = filesUnder(path.join(image.root, v)).length;
      const all = [log, ...outputs].join("\n");
      expect(all).not.toMatch(/EACCES|EROFS|permission denied/i);
      for (const secret of readdirSync(secretsDir).map((f) => readFileSync(path.join(secretsDir, f), "utf8").trim())) expect(all).not.toContain(secret);
    }, 120_000);
  });
});

function rssMB(pid: number): number {
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
  return Math.round(kb / 1024);
}
