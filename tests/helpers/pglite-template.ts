// One PGlite initdb per test run. PGlite's initdb is tens of CPU-seconds of WebAssembly (28 s at
// load 13 on this machine), while copying its result takes about a second: the first test that
// needs a fresh embedded database makes the run's template, later ones (in any worker) copy it.
// A copy is the same empty cluster initdb leaves (no migrations applied), so start-up and
// migration code run on it exactly as on a first start. Four files used to pay an initdb each,
// in parallel, which next to a CPU hog pushed cli's two embedded start-ups past its timeout
// (measured at load 13: initdb 28 s; copy 1.4 s plus opening the copy 3.3 s).
// The run's folder: tests/helpers/pglite-global-setup.ts.
import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { inject, vi } from "vitest";

/** The template's path, made on first use; a second worker waits for the first one's. */
async function templateDir(): Promise<string> {
  const dir = path.join(inject("pgliteTemplateRoot"), "pglite");
  if (existsSync(dir)) return dir;
  let maker = false;
  try {
    mkdirSync(`${dir}.making`);
    maker = true;
  } catch {
    // Another worker is making it.
  }
  if (maker) {
    const partial = `${dir}.partial`;
    const pglite = await PGlite.create(partial);
    await pglite.close();
    renameSync(partial, dir);
  } else {
    // The timeout only ends a hang (the maker died).
    await vi.waitFor(() => expectExists(dir), { timeout: 300_000, interval: 200 });
  }
  return dir;
}

function expectExists(dir: string): void {
  if (!existsSync(dir)) throw new Error(`PGlite template ${dir} not made yet`);
}

/** Copies the run's empty PGlite cluster to `target` (which must not exist yet); returns `target`. */
export async function copyPgliteTemplate(target: string): Promise<string> {
  cpSync(await templateDir(), target, { recursive: true, errorOnExist: true, force: false });
  return target;
}

/**
 * A new FRONTDESK_DATA_DIR whose embedded database (lib/db/client.ts `embeddedDataPath`,
 * <dir>/pglite) is a fresh copy of the template.
 */
export async function freshEmbeddedDataDir(prefix: string): Promise<string> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), prefix));
  await copyPgliteTemplate(path.join(dataDir, "pglite"));
  return dataDir;
}
