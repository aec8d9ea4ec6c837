// Vitest global setup for integration tests: the run's folder for its PGlite template, made on
// first use by tests/helpers/pglite-template.ts (which says why), removed after the run.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    pgliteTemplateRoot: string;
  }
}

export default function setup(project: TestProject) {
  const root = mkdtempSync(path.join(os.tmpdir(), "frontdesk-pglite-template-"));
  project.provide("pgliteTemplateRoot", root);
  return () => rmSync(root, { recursive: true, force: true });
}
