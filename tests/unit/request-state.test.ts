// The sealed requestState (invariant 12): a state opens only unchanged, under a key Frontdesk
// holds, for the same gateway, user, agent, provider, scopes and tool-call digest, before it expires.
import { randomBytes } from "node:crypto";
import { CompactEncrypt, compactDecrypt } from "jose";
import { describe, expect, it } from "vitest";
import {
  openRequestState,
  requestStateKeyId,
  sealRequestState,
  type RequestStateKey,
  type RequestStateKeySet,
  type SealedRequestStateInput,
} from "@/lib/elicitations/request-state";

const key = (id: string): RequestStateKey => ({ id, secret: new Uint8Array(randomBytes(32)) });
const keySet = (...keys: RequestStateKey[]): RequestStateKeySet => ({ active: keys[0]!, byId: new Map(keys.map((k) => [k.id, k])) });

const k1 = key("rsk_one");
const now = Date.parse("2026-12-01T12:00:00Z");
const input: SealedRequestStateInput = {
  gatewayId: "gw_a",
  issuer: "https://idp.example",
  subject: "alice",
  providerId: "prv_notes",
  scopes: ["notes:read", "profile"],
  digest: "sha256:abc",
  elicitationId: "eli_1",
  expiresAt: new Date(now + 600_000),
};
const expected = { gatewayId: "gw_a", issuer: "https://idp.example", subject: "alice", providerId: "prv_notes", scopes: ["profile", "notes:read"], digest: "sha256:abc" };

describe("sealed requestState", () => {
  it("opens for the same gateway, user, target and digest, and names the elicitation", async () => {
    const state = sealRequestState(keySet(k1), input, now);
    expect(openRequestState(keySet(k1), state, expected, now + 1000)).toEqual({
      ok: true,
      elicitationId: "eli_1",
      expiresAt: new Date(Math.floor(input.expiresAt.getTime() / 1000) * 1000),
    });
  });

  it("is a standard compact JWE (dir + A256GCM): jose opens what Frontdesk seals, and Frontdesk opens what jose seals", async () => {
    const state = sealRequestState(keySet(k1), input, now);
    const { plaintext, protectedHeader } = await compactDecrypt(state, k1.secret, { keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256GCM"] });
    expect(protectedHeader).toEqual({ alg: "dir", enc: "A256GCM", kid: "rsk_one", typ: "frontdesk-request-state+jwe" });
    expect(JSON.parse(new TextDecoder().decode(plaintext))).toMatchObject({ v: 1, gw: "gw_a", sub: "alice", eli: "eli_1", scp: ["notes:read", "profile"] });
    // A tampered state does not open in jose either.
    const [h, , iv, ct, tag] = state.split(".");
    const flipped = ct!.slice(0, 5) + (ct![5] === "A" ? "B" : "A") + ct!.slice(6);
    await expect(compactDecrypt([h, "", iv, flipped, tag].join("."), k1.secret)).rejects.toThrow();

    const claims = JSON.parse(new TextDecoder().decode(plaintext)) as Record<string, unknown>;
    const byJose = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claims)))
      .setProtectedHeader({ alg: "dir", enc: "A256GCM", kid: "rsk_one", typ: "frontdesk-request-state+jwe" })
      .encrypt(k1.secret);
    expect(openRequestState(keySet(k1), byJose, expected, now)).toEqual({ ok: true, elicitationId: "eli_1", expiresAt: new Date(Math.floor(input.expiresAt.getTime() / 1000) * 1000) });
    // Every seal has a fresh IV.
    expect(sealRequestState(keySet(k1), input, now).split(".")[2]).not.toBe(iv);
  });

  it("refuses a state with an encrypted key, a short IV or a short tag", async () => {
    const [h, , iv, ct, tag] = sealRequestState(keySet(k1), input, now).split(".");
    const cases = [
      [h, "AAAA", iv, ct, tag],
      [h, "", Buffer.from(iv!, "base64url").subarray(0, 8).toString("base64url"), ct, tag],
      [h, "", iv, ct, Buffer.from(tag!, "base64url").subarray(0, 12).toString("base64url")],
    ];
    for (const parts of cases) expect(openRequestState(keySet(k1), parts.join("."), expected, now)).toEqual({ ok: false, reason: "does_not_authenticate" });
  });

  it("is encrypted: neither the user nor the elicitation id can be read from it", async () => {
    const state = sealRequestState(keySet(k1), input, now);
    const decoded = state
      .split(".")
      .map((part) => Buffer.from(part, "base64url").toString("latin1"))
      .join(" ");
    for (const secret of ["alice", "eli_1", "gw_a", "prv_notes", "notes:read", "sha256:abc"]) expect(decoded).not.toContain(secret);
    const agentState = sealRequestState(keySet(k1), { ...input, agentId: "agt_scheduler" }, now);
    expect(agentState.split(".").map((part) => Buffer.from(part, "base64url").toString("latin1")).join(" ")).not.toContain("agt_scheduler");
    expect(state.length).toBeLessThan(1000);
  });

  it("refuses every single-byte change anywhere in the state", async () => {
    const state = sealRequestState(keySet(k1), input, now);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (let i = 0; i < state.length; i++) {
      if (state[i] === ".") continue;
      const replacement = alphabet[(alphabet.indexOf(state[i]!) + 1) % alphabet.length]!;
      const tampered = state.slice(0, i) + replacement + state.slice(i + 1);
      const opened = openRequestState(keySet(k1), tampered, expected, now);
      expect(opened.ok, `byte ${i} changed`).toBe(false);
    }
  });

  it("refuses a truncated or extended state, and garbage", async () => {
    const state = sealRequestState(keySet(k1), input, now);
    for (const cut of [1, 2, 10, 30, state.length - 40, state.length - 1]) {
      expect((openRequestState(keySet(k1), state.slice(0, cut), expected, now)).ok).toBe(false);
    }
    expect((openRequestState(keySet(k1), `${state}A`, expected, now)).ok).toBe(false);
    const [h, , iv, ct, tag] = state.split(".");
    expect(openRequestState(keySet(k1), [h, "", iv, ct, tag!.slice(0, 8)].join("."), expected, now)).toMatchObject({ ok: false, reason: "does_not_authenticate" });
    for (const junk of ["", "x", "a.b.c.d.e", "{}", "x".repeat(5000)]) {
      expect(openRequestState(keySet(k1), junk, expected, now)).toMatchObject({ ok: false, reason: "malformed" });
    }
  });

  it("refuses a state naming a key version Frontdesk does not hold, or sealed under another key with the same id", async () => {
    const state = sealRequestState(keySet(k1), input, now);
    expect(requestStateKeyId(state)).toBe("rsk_one");
    expect(openRequestState(keySet(key("rsk_two")), state, expected, now)).toEqual({ ok: false, reason: "unknown_key" });
    const impostor = { id: "rsk_one", secret: new Uint8Array(randomBytes(32)) };
    expect(openRequestState(keySet(impostor), state, expected, now)).toEqual({ ok: false, reason: "does_not_authenticate" });
  });

  it("rotation: the new key seals, the old one still opens until it is retired", async () => {
    const k2 = key("rsk_two");
    const old = sealRequestState(keySet(k1), input, now);
    const rotated = keySet(k2, k1);
    const fresh = sealRequestState(rotated, input, now);
    expect(requestStateKeyId(fresh)).toBe("rsk_two");
    expect((openRequestState(rotated, old, expected, now)).ok).toBe(true);
    expect((openRequestState(rotated, fresh, expected, now)).ok).toBe(true);
    const retired = keySet(k2);
    expect(openRequestState(retired, old, expected, now)).toEqual({ ok: false, reason: "unknown_key" });
    expect((openRequestState(retired, fresh, expected, now)).ok).toBe(true);
  });

  it("is bound to the gateway, the user, the provider and scopes, and the tool-call digest", async () => {
    const state = sealRequestState(keySet(k1), input, now);
    const cases: [Partial<typeof expected>, string][] = [
      [{ gatewayId: "gw_b" }, "other_gateway"],
      [{ subject: "bob" }, "other_user"],
      [{ issuer: "https://other-idp.example" }, "other_user"],
      [{ providerId: "prv_other" }, "other_target"],
      [{ scopes: ["notes:read"] }, "other_target"],
      [{ scopes: ["notes:read", "profile", "notes:write"] }, "other_target"],
      [{ digest: "sha256:other" }, "digest_mismatch"],
      [{ digest: undefined }, "digest_mismatch"],
    ];
    for (const [change, reason] of cases) {
      expect(openRequestState(keySet(k1), state, { ...expected, ...change }, now), reason).toEqual({ ok: false, reason, elicitationId: "eli_1" });
    }
  });

  it("is bound to the verified agent: another agent, a dropped actor, or an actor where none was", async () => {
    const withAgent = sealRequestState(keySet(k1), { ...input, agentId: "agt_scheduler" }, now);
    expect((openRequestState(keySet(k1), withAgent, { ...expected, agentId: "agt_scheduler" }, now)).ok).toBe(true);
    for (const agentId of ["agt_report", undefined]) {
      expect(openRequestState(keySet(k1), withAgent, { ...expected, agentId }, now), String(agentId)).toEqual({
        ok: false,
        reason: "other_agent",
        elicitationId: "eli_1",
      });
    }
    const withoutAgent = sealRequestState(keySet(k1), input, now);
    expect(openRequestState(keySet(k1), withoutAgent, { ...expected, agentId: "agt_scheduler" }, now)).toEqual({
      ok: false,
      reason: "other_agent",
      elicitationId: "eli_1",
    });
  });

  it("expires with its elicitation", async () => {
    const state = sealRequestState(keySet(k1), input, now);
    expect((openRequestState(keySet(k1), state, expected, input.expiresAt.getTime() - 1000)).ok).toBe(true);
    expect(openRequestState(keySet(k1), state, expected, input.expiresAt.getTime())).toEqual({ ok: false, reason: "expired", elicitationId: "eli_1" });
  });
});
