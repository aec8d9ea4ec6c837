import { describe, expect, it } from "vitest";
import { canonicalJson, computeAuditHash, GENESIS_HASH, type HashableEvent } from "@/lib/audit/hash";

const base: HashableEvent = {
  seq: 7n,
  id: "evt_1",
  at: new Date("2026-11-21T12:00:00.123Z"),
  actorType: "gateway",
  actorId: "gw_1",
  userId: "usr_1",
  gatewayId: "gw_1",
  providerId: "prv_1",
  action: "resolve",
  decision: "allow",
  reason: null,
  context: { tool: "create_issue", labels: { b: 2, a: 1 } },
  requestId: "req_1",
  prevHash: GENESIS_HASH,
};

describe("canonicalJson", () => {
  it("sorts keys recursively so a jsonb round trip (which reorders keys) hashes the same", () => {
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
    expect(canonicalJson({ b: 1, a: 2 })).toBe(canonicalJson({ a: 2, b: 1 }));
    expect(canonicalJson({ a: undefined, b: null })).toBe('{"b":null}');
  });
});

describe("computeAuditHash", () => {
  it("is a hex sha256 that ignores context key order", () => {
    const h = computeAuditHash(base);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(computeAuditHash({ ...base, context: { labels: { a: 1, b: 2 }, tool: "create_issue" } })).toBe(h);
  });

  it("changes when any stored field or the previous hash changes", () => {
    const h = computeAuditHash(base);
    const variants: Partial<HashableEvent>[] = [
      { seq: 8n },
      { id: "evt_2" },
      { at: new Date(base.at.getTime() + 1) },
      { actorType: "user" },
      { actorId: null },
      { userId: "usr_2" },
      { gatewayId: null },
      { providerId: "prv_2" },
      { action: "resolve.denied" },
      { decision: "deny" },
      { reason: "" },
      { context: { tool: "create_issue", labels: { b: 2, a: "1" } } },
      { requestId: null },
      { prevHash: "1".repeat(64) },
    ];
    const hashes = new Set(variants.map((v) => computeAuditHash({ ...base, ...v })));
    expect(hashes.size).toBe(variants.length);
    expect(hashes.has(h)).toBe(false);
  });

  it("does not confuse null with the string 'null' or shifted field boundaries", () => {
    expect(computeAuditHash({ ...base, reason: null })).not.toBe(computeAuditHash({ ...base, reason: "null" }));
    expect(computeAuditHash({ ...base, actorId: "ab", userId: "c" })).not.toBe(computeAuditHash({ ...base, actorId: "a", userId: "bc" }));
  });
});
