// Hashes of secrets Frontdesk issues, and constant-time comparison.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { constantTimeEqual, hashSecret, sha256Hex, verifySecret } from "@/lib/crypto/hash";

describe("hash", () => {
  it("sha256Hex matches the FIPS 180-2 test vector", () => {
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("hashSecret/verifySecret accept the secret and reject anything else", () => {
    const secret = randomBytes(32).toString("base64url");
    const hash = hashSecret(secret);
    expect(hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(hash).not.toContain(secret);
    expect(verifySecret(secret, hash)).toBe(true);
    expect(verifySecret(secret.slice(0, -1), hash)).toBe(false);
    expect(verifySecret(`${secret}x`, hash)).toBe(false);
    expect(verifySecret("", hash)).toBe(false);
    expect(verifySecret(secret, sha256Hex(secret))).toBe(false); // no prefix: not ours
    expect(verifySecret(secret, "sha256:abcd")).toBe(false); // truncated hash
    expect(verifySecret(secret, hash.toUpperCase())).toBe(false);
  });

  it("hashSecret refuses low-entropy input (it is not a password hash)", () => {
    expect(() => hashSecret("hunter2")).toThrow(/high-entropy/);
  });

  it("constantTimeEqual compares exactly, including different lengths", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
    expect(constantTimeEqual("", "")).toBe(true);
    expect(constantTimeEqual("", "a")).toBe(false);
  });

  it("verifySecret is fast enough for every gateway call (well under 1 ms)", () => {
    const secret = randomBytes(32).toString("base64url");
    const hash = hashSecret(secret);
    const n = 20_000;
    const start = performance.now();
    for (let i = 0; i < n; i++) verifySecret(secret, hash);
    const perCall = (performance.now() - start) / n;
    expect(perCall).toBeLessThan(0.5);
  });
});
