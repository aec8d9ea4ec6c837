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
