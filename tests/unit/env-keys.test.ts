// lib/env.ts validates FRONTDESK_KEYS at parse time, so any process reading its configuration
// stops on a malformed key, with the variable named and the value withheld.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { EnvError, parseEnv } from "@/lib/env";

describe("FRONTDESK_KEYS in parseEnv", () => {
  it("accepts a well-formed key list and leaves it unset when empty", () => {
    const keys = `v2:${randomBytes(32).toString("base64")},v1:${randomBytes(32).toString("base64")}`;
    expect(parseEnv({ FRONTDESK_KEYS: keys }).FRONTDESK_KEYS).toBe(keys);
    expect(parseEnv({ FRONTDESK_KEYS: "" }).FRONTDESK_KEYS).toBeUndefined();
  });

  const secret = randomBytes(20).toString("base64");
  it.each([
    ["wrong length", `v1:${secret}`],
    ["bad base64", `v1:${secret.slice(0, 20)}$$$$`],
    ["duplicate version", `v1:${randomBytes(32).toString("base64")},v1:${randomBytes(32).toString("base64")}`],
    ["only a comma", ","],
  ])("rejects %s with an EnvError naming FRONTDESK_KEYS and not the value", (_name, value) => {
    let error: unknown;
    try {
      parseEnv({ FRONTDESK_KEYS: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EnvError);
    const message = (error as Error).message;
    expect(message).toMatch(/FRONTDESK_KEYS: /);
    for (const part of value.split(",")) {
      const material = part.slice(part.indexOf(":") + 1);
      if (material.length > 4) expect(message).not.toContain(material);
    }
  });
});

describe("secrets from files (<NAME>_FILE)", () => {
  it("reads DATABASE_URL, AUTH_SECRET, OIDC_CLIENT_SECRET and the metrics token from files, refuses both or an unreadable file", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const os = await import("node:os");
    const path = await import("node:path");
    const { parseEnv } = await import("@/lib/env");
    const dir = mkdtempSync(path.join(os.tmpdir(), "fd-secrets-"));
    const file = (name: string, value: string) => {
      const p = path.join(dir, name);
      writeFileSync(p, `${value}\n`);
      return p;
    };
    const e = parseEnv({
      DATABASE_URL_FILE: file("db", "postgresql://fd:pw@db/fd"),
      AUTH_SECRET_FILE: file("auth", "a".repeat(40)),
      OIDC_CLIENT_SECRET_FILE: file("oidc", "client-secret-value"),
      FRONTDESK_METRICS_TOKEN_FILE: file("metrics", "m".repeat(20)),
      FRONTDESK_KEYS: `v1:${Buffer.alloc(32, 1).toString("base64")}`,
    });
    expect(e).toMatchObject({ DATABASE_URL: "postgresql://fd:pw@db/fd", AUTH_SECRET: "a".repeat(40), OIDC_CLIENT_SECRET: "client-secret-value", FRONTDESK_METRICS_TOKEN: "m".repeat(20) });
    expect(() => parseEnv({ AUTH_SECRET: "b".repeat(40), AUTH_SECRET_FILE: file("auth2", "a".repeat(40)) })).toThrow(/AUTH_SECRET or AUTH_SECRET_FILE, not both/);
    expect(() => parseEnv({ DATABASE_URL_FILE: path.join(dir, "missing") })).toThrow(/DATABASE_URL_FILE: cannot read .*ENOENT/);
    // A file's content is validated like the variable (and never echoed).
    expect(() => parseEnv({ AUTH_SECRET_FILE: file("short", "too-short-secret") })).toThrow(/AUTH_SECRET/);
    expect(() => parseEnv({ AUTH_SECRET_FILE: file("short2", "too-short-secret") })).not.toThrow(/too-short-secret/);
  });
});

describe("FRONTDESK_PKCS11_* in parseEnv", () => {
  const module = { FRONTDESK_PKCS11_MODULE: "/usr/lib/softhsm/libsofthsm2.so" };
  const issues = (source: Record<string, string>) => {
    try {
      parseEnv(source);
    } catch (e) {
      expect(e).toBeInstanceOf(EnvError);
      return (e as EnvError).issues;
    }
    return [];
  };

  it("takes the module, a token label or a slot, the PIN file and the key labels (first active)", () => {
    const e = parseEnv({ ...module, FRONTDESK_PKCS11_TOKEN_LABEL: "frontdesk", FRONTDESK_PKCS11_PIN_FILE: "/run/secrets/pin", FRONTDESK_PKCS11_KEYS: "hsm2, hsm1" });
    expect(e).toMatchObject({ FRONTDESK_PKCS11_KEYS: ["hsm2", "hsm1"], FRONTDESK_PKCS11_SESSIONS: 4 });
    expect(parseEnv({ ...module, FRONTDESK_PKCS11_SLOT: "7", FRONTDESK_PKCS11_PIN_FILE: "/pin" }).FRONTDESK_PKCS11_SLOT).toBe(7);
  });

  it("refuses a half configuration: no token or both, no PIN file, settings without a module, bad key labels", () => {
    expect(issues({ ...module, FRONTDESK_PKCS11_PIN_FILE: "/pin" })).toEqual([expect.stringMatching(/FRONTDESK_PKCS11_TOKEN_LABEL: set FRONTDESK_PKCS11_TOKEN_LABEL or FRONTDESK_PKCS11_SLOT/)]);
    expect(issues({ ...module, FRONTDESK_PKCS11_PIN_FILE: "/pin", FRONTDESK_PKCS11_TOKEN_LABEL: "t", FRONTDESK_PKCS11_SLOT: "1" })).toHaveLength(1);
    expect(issues({ ...module, FRONTDESK_PKCS11_TOKEN_LABEL: "t" })).toEqual([expect.stringMatching(/FRONTDESK_PKCS11_PIN_FILE: required/)]);
    expect(issues({ FRONTDESK_PKCS11_KEYS: "hsm1", FRONTDESK_PKCS11_PIN_FILE: "/pin" })).toEqual([
      expect.stringMatching(/FRONTDESK_PKCS11_PIN_FILE: needs FRONTDESK_PKCS11_MODULE/),
      expect.stringMatching(/FRONTDESK_PKCS11_KEYS: needs FRONTDESK_PKCS11_MODULE/),
    ]);
    expect(issues({ ...module, FRONTDESK_PKCS11_TOKEN_LABEL: "t", FRONTDESK_PKCS11_PIN_FILE: "/pin", FRONTDESK_PKCS11_KEYS: "ok,not ok" })).toEqual([expect.stringMatching(/FRONTDESK_PKCS11_KEYS: key labels are key versions/)]);
  });
});
