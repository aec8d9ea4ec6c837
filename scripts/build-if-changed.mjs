// `npm start` builds only when something the build reads has changed since the last build:
// a restart with unchanged sources starts in seconds instead of rebuilding (issue 18).
// The fingerprint is a SHA-256 over the path and content of every build input (the source tree
// minus what the build never reads) plus the environment Next inlines at build time; it is kept
// next to the build output, so deleting .next or dist forces a build too.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildFingerprint } from "./build-fingerprint.mjs";

const distDir = process.env.FRONTDESK_DIST_DIR || ".next";
const stampFile = join(distDir, "frontdesk-build-inputs.sha256");
const outputs = [join(distDir, "BUILD_ID"), "dist/launch.js", "dist/server.js", "dist/cli.js"];

const fingerprint = buildFingerprint(".", process.env);
const current = outputs.every((file) => existsSync(file)) && existsSync(stampFile) && readFileSync(stampFile, "utf8").trim() === fingerprint;
if (current) {
  process.stdout.write("Frontdesk: build is current (no build input changed), starting without rebuilding.\n");
} else {
  const result = spawnSync("npm", ["run", "build"], { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
  writeFileSync(stampFile, `${fingerprint}\n`);
}
