// The pure parts of actor verification: SPIFFE IDs, RFC 8693 act chains and may_act, the choice
// of the trusted issuer entry, SPIFFE bundle keys, and the audit hash staying the same for rows
// without an agent (so chains written before the agent column still verify).
import { describe, expect, it } from "vitest";
import { parseActChain, MAX_ACT_DEPTH } from "@/lib/agents/act-chain";
import { actorIssuerListSchema } from "@/lib/agents/issuer-config";
import { findActorIssuer, jwtSvidKeys } from "@/lib/agents/issuers";
import { mayActAuthorizes } from "@/lib/agents/may-act";
import { isSpiffeId, spiffeTrustDomain } from "@/lib/agents/spiffe";
import { computeAuditHash, GENESIS_HASH, type HashableEvent } from "@/lib/audit/hash";

describe("SPIFFE IDs", () => {
  it("accepts spiffe://<trust domain>/<path> and refuses anything looser", () => {
    expect(isSpiffeId("spiffe://corp.example/ns/prod/sa/scheduler")).toBe(true);
    expect(spiffeTrustDomain("spiffe://corp.example/ns/prod")).toBe("corp.example");
    for (const bad of ["spiffe://corp.example", "spiffe://corp.example/", "spiffe://Corp.example/x", "spiffe://corp.example/a//b", "spiffe://corp.example/a/../b", "spiffe://corp.example/./b", "spiffe://corp.example:8443/x", "spiffe://u@corp.example/x", "spiffe://corp.example/x?y", "https://corp.example/x"]) {
      expect(isSpiffeId(bad), bad).toBe(false);
    }
  });
});

describe("act chains (RFC 8693 4.1)", () => {
  it("flattens nested act, keeping only iss and sub", () => {
    expect(parseActChain(undefined)).toEqual([]);
    expect(parseActChain({ sub: "a", iss: "https://i", extra: "dropped", act: { sub: "b" } })).toEqual([{ sub: "a", iss: "https://i" }, { sub: "b" }]);
  });
  it("refuses malformed or too deep chains", () => {
    expect(parseActChain("x")).toBeNull();
    expect(parseActChain({ iss: "only-iss" })).toBeNull();
    expect(parseActChain({ sub: "a", act: [] })).toBeNull();
    let deep: Record<string, unknown> = { sub: "leaf" };
    for (let i = 0; i < MAX_ACT_DEPTH; i++) deep = { sub: `s${i}`, act: deep };
    expect(parseActChain(deep)).toBeNull();
  });
});

describe("may_act (RFC 8693 4.4)", () => {
  const actor = { sub: "spiffe://corp.example/ns/prod/sa/scheduler", iss: "spiffe://corp.example", client_id: "sched" };
  it("every claim must match; arrays list allowed values", () => {
    expect(mayActAuthorizes({ sub: actor.sub }, actor)).toBe(true);
    expect(mayActAuthorizes({ sub: actor.sub, iss: "spiffe://corp.example" }, actor)).toBe(true);
    expect(mayActAuthorizes({ sub: ["x", actor.sub] }, actor)).toBe(true);
    expect(mayActAuthorizes({ sub: actor.sub, iss: "https://other" }, actor)).toBe(false);
    expect(mayActAuthorizes({ sub: "someone-else" }, actor)).toBe(false);
    expect(mayActAuthorizes({ azp: "missing-claim" }, actor)).toBe(false);
  });
  it("an empty or non-object may_act authorizes nobody", () => {
    for (const m of [{}, null, "sched", ["sched"], 1]) expect(mayActAuthorizes(m, actor)).toBe(false);
  });
});

describe("trusted issuer entries", () => {
  const entries = actorIssuerListSchema.parse([
    { issuer: "https://auth.example" },
    { trustDomain: "corp.example", jwksUri: "https://spire.corp.example/bundle" },
    { issuer: "https://spire-oidc.corp.example", trustDomain: "other.example" },
  ]);
  it("chooses by iss, else by the SPIFFE trust domain; an issuer entry bound to a trust domain checks it", () => {
    expect(findActorIssuer(entries, "https://auth.example", "client-1")).toBe(entries[0]);
    expect(findActorIssuer(entries, undefined, "spiffe://corp.example/ns/x")).toBe(entries[1]);
    expect(findActorIssuer(entries, "https://spire-oidc.corp.example", "spiffe://other.example/x")).toBe(entries[2]);
    expect(findActorIssuer(entries, "https://spire-oidc.corp.example", "spiffe://corp.example/x")).toBeNull();
    expect(findActorIssuer(entries, undefined, "client-1")).toBeNull();
    expect(findActorIssuer(entries, "https://evil.example", "spiffe://evil.example/x")).toBeNull();
    // A token naming an untrusted iss does not fall back to its subject's trust domain.
    expect(findActorIssuer(entries, "https://evil.example", "spiffe://corp.example/x")).toBe(entries[1]);
  });
  it("validates the configuration", () => {
    for (const bad of [[{}], [{ trustDomain: "corp.example" }], [{ issuer: "x", jwks: { keys: [{ kty: "oct", k: "c2VjcmV0" }] } }], [{ issuer: "x", jwks: { keys: [{ kty: "RSA", n: "x", e: "AQAB", d: "private" }] } }], [{ issuer: "x", extra: 1 }]]) {
      expect(actorIssuerListSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
  it("SPIFFE bundles: only JWT-SVID keys, as signing keys", () => {
    expect(jwtSvidKeys({ keys: [{ kty: "EC", use: "jwt-svid", kid: "j" }, { kty: "EC", use: "x509-svid", kid: "x" }, { kty: "EC", kid: "plain" }] })).toEqual({
      keys: [{ kty: "EC", kid: "j" }, { kty: "EC", kid: "plain" }],
    });
  });
});

describe("audit hash with the agent column", () => {
  const event: HashableEvent = {
    seq: 7n, id: "evt_1", at: new Date("2026-11-21T10:00:00.000Z"), actorType: "gateway", actorId: "gw_1", userId: "usr_1", gatewayId: "gw_1",
    providerId: "prv_1", action: "resolve", decision: "allow", reason: null, context: { scopes: ["a"] }, requestId: "req_1", prevHash: GENESIS_HASH,
  };
  // This event's hash as lib/audit/hash.ts computed it before the agent column existed (commit fbcb5a1).
  const PRE_AGENT_HASH = "d4c8a4b3edd59bf4614148ffb263d3efc2230343cbcc291816501f6470eceb67";
  it("is unchanged for rows without an agent, and covers the agent when there is one", () => {
    expect(computeAuditHash(event)).toBe(PRE_AGENT_HASH);
    expect(computeAuditHash({ ...event, agentId: null })).toBe(PRE_AGENT_HASH);
    expect(computeAuditHash({ ...event, agentId: undefined })).toBe(PRE_AGENT_HASH);
    const withAgent = computeAuditHash({ ...event, agentId: "agt_1" });
    expect(withAgent).not.toBe(PRE_AGENT_HASH);
    expect(computeAuditHash({ ...event, agentId: "agt_2" })).not.toBe(withAgent);
  });
});
