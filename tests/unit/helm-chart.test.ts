// The Helm chart rendered by the real Helm CLI (v3.8.1, tests/helpers/helm.ts), with the default
// values and with two non-default sets, and every rendered object validated against the
// Kubernetes OpenAPI schemas (package kubernetes-models: generated from the Kubernetes v1.33.0
// OpenAPI definitions, one ajv validator per kind). Then the properties the chart promises,
// read from what Kubernetes would receive: at least two replicas, probes on live/ready, a PDB, a
// NetworkPolicy, non-root with a read-only root filesystem (writable only where the Dockerfile's
// VOLUMEs say), secrets only by reference, resources, and the migrations as a hook Job running
// the same image. What is not run: no API server (so no server-side defaulting, admission or
// strict unknown-field validation: these schemas accept unknown fields), no `helm install`.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { FILE_SECRETS } from "@/lib/env";
import { only, readDockerfile, stage, stageEnv, writablePaths } from "../helpers/dockerfile";
import { helm } from "../helpers/helm";

const CHART = "deploy/helm/frontdesk";
const KUBE_VERSION = "1.33.0"; // the schema version of kubernetes-models 4.5 (its CHANGELOG)
const tmp = mkdtempSync(path.join(os.tmpdir(), "frontdesk-helm-values-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered manifests are checked field by field */
type Manifest = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: any; [k: string]: any };

function render(values?: object, extra: string[] = []): Manifest[] {
  const args = ["template", "fd", CHART, "--namespace", "frontdesk", "--kube-version", KUBE_VERSION, ...extra];
  if (values) {
    const file = path.join(tmp, `values-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, stringify(values));
    args.push("--values", file);
  }
  const run = helm(args);
  if (run.status !== 0) throw new Error(`helm template failed (${run.status}):\n${run.stderr}`);
  // Kubernetes reads manifests as YAML 1.1 (sigs.k8s.io/yaml): `defaultMode: 0400` is octal there.
  return parseAllDocuments(run.stdout, { version: "1.1" })
    .map((d) => d.toJS() as Manifest | null)
    .filter((d): d is Manifest => d !== null);
}

/** Validates against the Kubernetes schema of the object's apiVersion and kind; unknown kinds fail the import. */
async function validateAgainstKubernetes(m: Manifest): Promise<void> {
  const specifier = `kubernetes-models/${m.apiVersion}/${m.kind}`;
  const module = (await import(/* @vite-ignore */ specifier)) as Record<string, new (d: object) => { validate(): void }>;
  const Model = module[m.kind];
  if (!Model) throw new Error(`kubernetes-models has no ${m.apiVersion} ${m.kind}`);
  new Model(m).validate();
}

const one = (ms: Manifest[], kind: string): Manifest => {
  const found = ms.filter((m) => m.kind === kind);
  expect(found.map((m) => m.kind), `exactly one ${kind}`).toEqual([kind]);
  return found[0]!;
};
const selects = (selector: Record<string, string>, labels: Record<string, string> = {}) => Object.entries(selector).every(([k, v]) => labels[k] === v);

const dockerfile = readDockerfile();
const runtime = stage(dockerfile, dockerfile[dockerfile.length - 1]!.name);

const nonDefault = {
  replicaCount: 3,
  image: { repository: "registry.example.com/platform/frontdesk", tag: "1.4.2", pullPolicy: "Always" },
  publicUrl: "https://broker.internal.example",
  oidc: { issuer: "https://login.example.org/realms/staff", clientId: "broker", adminGroup: "frontdesk-admins" },
  secrets: { existingSecret: "broker-secrets", keys: { databaseUrl: "db", frontdeskKeys: "kek", authSecret: "auth", oidcClientSecret: "oidc", metricsToken: "metrics" } },
  env: { LOG_LEVEL: "debug", RATE_LIMIT_RESOLVE_PER_MINUTE: "600" },
  trustedProxies: "10.0.0.0/8",
  metrics: { enabled: true, port: 9100 },
  tracing: { otlpEndpoint: "http://otel-collector.observability:4318/v1/traces" },
  resources: { requests: { cpu: "1", memory: "768Mi" }, limits: { cpu: "2", memory: "1536Mi" } },
  podDisruptionBudget: { minAvailable: 2 },
  service: { type: "LoadBalancer", port: 8443 },
  nodeSelector: { "kubernetes.io/arch": "amd64" },
  tolerations: [{ key: "dedicated", operator: "Equal", value: "broker", effect: "NoSchedule" }],
  affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { "app.kubernetes.io/name": "frontdesk" } } }] } },
};
const optionalPartsOff = { metrics: { enabled: false }, migrations: { enabled: false }, networkPolicy: { enabled: false } };

describe("Helm chart deploy/helm/frontdesk, rendered by helm", () => {
  const defaults = render();
  const custom = render(nonDefault);
  const minimal = render(optionalPartsOff);

  it("passes helm lint --strict", () => {
    const run = helm(["lint", "--strict", CHART, "--namespace", "frontdesk"]);
    expect(run.stderr + run.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(run.status).toBe(0);
  });

  it("renders the expected objects for each value set", () => {
    const kinds = (ms: Manifest[]) => ms.map((m) => m.kind).sort();
    expect(kinds(defaults)).toEqual(["Deployment", "Job", "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceAccount"]);
    expect(kinds(custom)).toEqual(kinds(defaults));
    expect(kinds(minimal)).toEqual(["Deployment", "PodDisruptionBudget", "Service", "ServiceAccount"]);
  });

  it("every rendered object is valid against the Kubernetes schema of its kind", async () => {
    for (const m of [...defaults, ...custom, ...minimal]) await validateAgainstKubernetes(m);
    // The validator is not a no-op: a wrong type and a missing required field are refused.
    const deployment = one(defaults, "Deployment");
    await expect(validateAgainstKubernetes({ ...deployment, spec: { ...deployment.spec, replicas: "2" } })).rejects.toThrow(/replicas must be integer/);
    const { selector: _dropped, ...noSelector } = deployment.spec;
    await expect(validateAgainstKubernetes({ ...deployment, spec: noSelector })).rejects.toThrow(/must have required property selector/);
  });

  it("helm refuses values the schema forbids: one replica, a missing secret key", () => {
    const oneReplica = helm(["template", "fd", CHART, "--kube-version", KUBE_VERSION, "--set", "replicaCount=1"]);
    expect(oneReplica.status).not.toBe(0);
    expect(oneReplica.stderr).toMatch(/replicaCount: Must be greater than or equal to 2/);
    const file = path.join(tmp, "no-db-key.yaml");
    // Helm merges maps with the defaults, so a key can only be removed with null.
    writeFileSync(file, stringify({ secrets: { keys: { databaseUrl: null } } }));
    const noKey = helm(["template", "fd", CHART, "--kube-version", KUBE_VERSION, "--values", file]);
    expect(noKey.status).not.toBe(0);
    expect(noKey.stderr).toMatch(/databaseUrl is required/);
  });

  for (const [name, ms, values] of [
    ["default values", defaults, {}],
    ["non-default values", custom, nonDefault],
  ] as const) {
    describe(name, () => {
      const deployment = one(ms, "Deployment");
      const pod = deployment.spec.template;
      const job = one(ms, "Job");
      const jobPod = job.spec.template;
      const secretName = (values as typeof nonDefault).secrets?.existingSecret ?? "frontdesk";

      it("Deployment: ≥ 2 replicas, rolling update that never drops below the replica count, the image's command", () => {
        expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
        expect(deployment.spec.replicas).toBe((values as typeof nonDefault).replicaCount ?? 2);
        expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
        const [container] = pod.spec.containers;
        const image = (values as typeof nonDefault).image;
        expect(container.image).toBe(image ? `${image.repository}:${image.tag}` : "frontdesk:0.1.0");
        // The chart sets args only, so the image's ENTRYPOINT (node, no shell) stays and signals reach the server.
        expect(container.command).toBeUndefined();
        expect(container.args).toEqual(only(runtime, "CMD").args);
        expect(only(runtime, "ENTRYPOINT").args).toEqual(["node"]);
      });

      it("probes: readiness on /api/health/ready, liveness and start-up on /api/health/live, on the image's port", () => {
        const [container] = pod.spec.containers;
        const http = container.ports.find((p: { name: string }) => p.name === "http");
        expect(String(http.containerPort)).toBe(stageEnv(runtime).PORT);
        expect(container.env.find((e: { name: string }) => e.name === "PORT").value).toBe(stageEnv(runtime).PORT);
        expect(container.readinessProbe.httpGet).toEqual({ path: "/api/health/ready", port: "http" });
        expect(container.livenessProbe.httpGet).toEqual({ path: "/api/health/live", port: "http" });
        expect(container.startupProbe.httpGet).toEqual({ path: "/api/health/live", port: "http" });
      });

      it("non-root, read-only root filesystem, no privilege escalation, no capabilities, for every container", () => {
        for (const spec of [pod.spec, jobPod.spec]) {
          for (const c of spec.containers) {
            expect(c.securityContext).toMatchObject({
              runAsNonRoot: true,
              runAsUser: 1000, // the node user of the official image (Dockerfile: USER node)
              readOnlyRootFilesystem: true,
              allowPrivilegeEscalation: false,
              capabilities: { drop: ["ALL"] },
              seccompProfile: { type: "RuntimeDefault" },
            });
          }
          expect(spec.automountServiceAccountToken).toBe(false);
        }
        expect(only(runtime, "USER").args).toEqual(["node"]);
      });

      it("writable only where the Dockerfile declares (its VOLUMEs), as emptyDir", () => {
        const [container] = pod.spec.containers;
        const writable = container.volumeMounts.filter((m: { readOnly?: boolean }) => !m.readOnly);
        expect(writable.map((m: { mountPath: string }) => m.mountPath).sort()).toEqual(writablePaths(runtime).sort());
        for (const m of writable) expect(pod.spec.volumes.find((v: { name: string }) => v.name === m.name).emptyDir).toBeDefined();
        const jobWritable = jobPod.spec.containers[0].volumeMounts.filter((m: { readOnly?: boolean }) => !m.readOnly).map((m: { mountPath: string }) => m.mountPath);
        expect(writablePaths(runtime)).toEqual(expect.arrayContaining(jobWritable));
      });

      it("secrets only by reference: no Secret object, no secret value or secretKeyRef in env, files from the named Secret", () => {
        expect(ms.filter((m) => m.kind === "Secret")).toEqual([]);
        for (const spec of [pod.spec, jobPod.spec]) {
          const [c] = spec.containers;
          const env: { name: string; value?: string; valueFrom?: unknown }[] = c.env;
          expect(env.filter((e) => e.valueFrom !== undefined)).toEqual([]);
          const names = env.map((e) => e.name);
          for (const secret of [...FILE_SECRETS, "FRONTDESK_KEYS"]) expect(names).not.toContain(secret);
          const mount = c.volumeMounts.find((m: { name: string }) => m.name === "secrets");
          expect(mount.readOnly).toBe(true);
          for (const e of env.filter((x) => x.name.endsWith("_FILE"))) {
            expect([...FILE_SECRETS.map((n) => `${n}_FILE`), "FRONTDESK_KEYS_FILE"]).toContain(e.name);
            expect(e.value?.startsWith(`${mount.mountPath}/`)).toBe(true);
          }
          const volume = spec.volumes.find((v: { name: string }) => v.name === "secrets");
          expect(volume.secret).toEqual({ secretName, defaultMode: 0o400 });
        }
        const serverEnv = pod.spec.containers[0].env.map((e: { name: string }) => e.name);
        expect(serverEnv).toEqual(expect.arrayContaining(["DATABASE_URL_FILE", "FRONTDESK_KEYS_FILE", "AUTH_SECRET_FILE", "OIDC_CLIENT_SECRET_FILE", "FRONTDESK_METRICS_TOKEN_FILE"]));
      });

      it("resources: requests and a memory limit on every container", () => {
        for (const c of [...pod.spec.containers, ...jobPod.spec.containers]) {
          expect(c.resources.requests.cpu).toBeDefined();
          expect(c.resources.requests.memory).toBeDefined();
          expect(c.resources.limits.memory).toBeDefined();
        }
        const wanted = (values as typeof nonDefault).resources;
        if (wanted) expect(pod.spec.containers[0].resources).toEqual(wanted);
      });

      it("migrations: a pre-install/pre-upgrade hook Job running the image's migrator, same image, never restarted in place", () => {
        expect(job.metadata.annotations?.["helm.sh/hook"]).toBe("pre-install,pre-upgrade");
        const [c] = jobPod.spec.containers;
        expect(c.args).toEqual(["dist/cli.js", "db", "migrate"]);
        expect(c.command).toBeUndefined();
        expect(c.image).toBe(pod.spec.containers[0].image);
        expect(jobPod.spec.restartPolicy).toBe("Never");
      });

      it("PDB, Service and Deployment select the server pods only; the NetworkPolicy covers them and the migration pod", () => {
        const podLabels = pod.metadata.labels;
        const jobLabels = jobPod.metadata.labels;
        const pdb = one(ms, "PodDisruptionBudget");
        const service = one(ms, "Service");
        expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
        expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
        for (const selector of [deployment.spec.selector.matchLabels, pdb.spec.selector.matchLabels, service.spec.selector]) {
          expect(selects(selector, podLabels)).toBe(true);
          expect(selects(selector, jobLabels)).toBe(false);
        }
        const policy = one(ms, "NetworkPolicy");
        expect(selects(policy.spec.podSelector.matchLabels, podLabels)).toBe(true);
        expect(selects(policy.spec.podSelector.matchLabels, jobLabels)).toBe(true);
        expect(policy.spec.policyTypes).toEqual(["Ingress", "Egress"]);
        expect(policy.spec.ingress.map((r: { ports: { port: string }[] }) => r.ports[0]!.port)).toEqual(["http", "metrics"]);
        // Egress is open except the cloud metadata endpoint (documented in values.yaml: narrow it).
        const except = policy.spec.egress.flatMap((r: { to?: { ipBlock?: { except?: string[] } }[] }) => r.to?.flatMap((t) => t.ipBlock?.except ?? []) ?? []);
        expect(except).toContain("169.254.169.254/32");
      });

      it("metrics port matches the one the image exposes (default) and the container port the Service targets", () => {
        const [c] = pod.spec.containers;
        const metricsPort = c.ports.find((p: { name: string }) => p.name === "metrics").containerPort;
        expect(c.env.find((e: { name: string }) => e.name === "FRONTDESK_METRICS_PORT").value).toBe(String(metricsPort));
        if (!(values as typeof nonDefault).metrics) expect(only(runtime, "EXPOSE").args).toContain(String(metricsPort));
        expect(one(ms, "ServiceAccount").automountServiceAccountToken).toBe(false);
        expect(pod.spec.serviceAccountName).toBe(one(ms, "ServiceAccount").metadata.name);
      });
    });
  }

  it("non-default values reach the objects: env, tracing, trusted proxies, admin group, scheduling, service", () => {
    const deployment = one(custom, "Deployment");
    const env = Object.fromEntries(deployment.spec.template.spec.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(env).toMatchObject({
      FRONTDESK_URL: nonDefault.publicUrl,
      OIDC_ISSUER: nonDefault.oidc.issuer,
      OIDC_CLIENT_ID: nonDefault.oidc.clientId,
      OIDC_ADMIN_GROUP: nonDefault.oidc.adminGroup,
      FRONTDESK_TRUSTED_PROXIES: nonDefault.trustedProxies,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: nonDefault.tracing.otlpEndpoint,
      LOG_LEVEL: "debug",
      RATE_LIMIT_RESOLVE_PER_MINUTE: "600",
      DATABASE_URL_FILE: "/run/secrets/frontdesk/db",
    });
    const spec = deployment.spec.template.spec;
    expect(spec.nodeSelector).toEqual(nonDefault.nodeSelector);
    expect(spec.tolerations).toEqual(nonDefault.tolerations);
    expect(spec.affinity).toEqual(nonDefault.affinity);
    expect(one(custom, "Service").spec).toMatchObject({ type: "LoadBalancer", ports: [{ name: "http", port: 8443 }, { name: "metrics", port: 9100 }] });
    const defaultsEnv = one(defaults, "Deployment").spec.template.spec.containers[0].env.map((e: { name: string }) => e.name);
    for (const unset of ["OIDC_ADMIN_GROUP", "FRONTDESK_TRUSTED_PROXIES", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]) expect(defaultsEnv).not.toContain(unset);
  });

  it("with metrics off, no metrics port, listener or token file anywhere", () => {
    const deployment = one(minimal, "Deployment");
    const [c] = deployment.spec.template.spec.containers;
    expect(c.ports.map((p: { name: string }) => p.name)).toEqual(["http"]);
    expect(c.env.map((e: { name: string }) => e.name).filter((n: string) => n.startsWith("FRONTDESK_METRICS"))).toEqual([]);
    expect(one(minimal, "Service").spec.ports.map((p: { name: string }) => p.name)).toEqual(["http"]);
  });
});
