import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM script without type declarations
import { buildFingerprint } from "@/scripts/build-fingerprint.mjs";

// `npm start` rebuilds exactly when this fingerprint changes (scripts/build-if-changed.mjs).
describe("build fingerprint", () => {
  let root: string;
  const write = (path: string, content: string) => {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  const fingerprint = (env: Record<string, string> = {}): string => buildFingerprint(root, env);

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "fingerprint-"));
    write("app/page.tsx", "export default 1;");
    write("lib/x.ts", "export const x = 1;");
    write("package-lock.json", "{}");
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("is stable while nothing the build reads changes", () => {
    const before = fingerprint();
    write("tests/unit/a.test.ts", "changed");
    write("docs/guide.md", "changed");
    write("README.md", "changed");
    write("lib/generated/client.ts", "regenerated");
    write(".next/BUILD_ID", "abc");
    write("dist/server.js", "built");
    write(".data/pglite/file", "data");
    expect(fingerprint()).toBe(before);
  });

  it("changes with a source file, a new file, the lockfile or a build-time variable", () => {
    const before = fingerprint();
    write("lib/x.ts", "export const x = 2;");
    const edited = fingerprint();
    expect(edited).not.toBe(before);
    write("components/new.tsx", "export {};");
    const added = fingerprint();
    expect(added).not.toBe(edited);
    write("package-lock.json", '{"lockfileVersion":3}');
    const locked = fingerprint();
    expect(locked).not.toBe(added);
    expect(fingerprint({ NEXT_PUBLIC_X: "1" })).not.toBe(locked);
    expect(fingerprint({ DATABASE_URL: "postgres://elsewhere" })).toBe(locked);
  });

  it("tells a test folder inside lib from the top-level tests folder", () => {
    const before = fingerprint();
    write("lib/tests/helper.ts", "export {};");
    expect(fingerprint()).not.toBe(before);
  });
});
