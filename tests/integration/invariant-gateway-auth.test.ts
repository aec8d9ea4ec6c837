// Invariant 5 (design.md section 7), the race the sequential replay test cannot see: a client
// assertion is single use even when the same assertion arrives many times at once, at both
// endpoints that accept it (form client_assertion at the token endpoint, Bearer at resolve).
// The jti is consumed with one INSERT ... ON CONFLICT DO NOTHING in PostgreSQL, so exactly one
// request may win; a check-then-insert would let several through.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase } from "../helpers/test-db";
import {
  ACCESS_TOKEN_TYPE,
  CLIENT_ASSERTION_TYPE,
  connectNotes,
  type GatewayTestbed,
  resolveRequest,
  signClientAssertion,
  startGatewayTestbed,
  SUBJECT_AUDIENCE,
  TOKEN_EXCHANGE_GRANT,
  tokenRequest,
} from "../helpers/gateway-testbed";

await useTestDatabase();

let bed: GatewayTestbed;

beforeAll(async () => {
  bed = await startGatewayTestbed();
  await connectNotes(bed);
}, 60_000);

afterAll(async () => {
  await bed?.close();
});

describe("client assertions under concurrency", () => {
  it("the same assertion sent 12 times at once, to the token endpoint and to resolve, succeeds exactly once", async () => {
    const { handleTokenRequest } = await import("@/lib/gateway-api/token-exchange");
    const { handleResolve } = await import("@/lib/gateway-api/resolve");
    const base = bed.frontdeskUrl;
    const subjectToken = await bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE });
    const assertion = await signClientAssertion(bed.jwt, base);
    const viaToken = () =>
      handleTokenRequest(
        tokenRequest(base, [
          ["grant_type", TOKEN_EXCHANGE_GRANT],
          ["subject_token", subjectToken],
          ["subject_token_type", ACCESS_TOKEN_TYPE],
          ["audience", "notes"],
          ["client_assertion_type", CLIENT_ASSERTION_TYPE],
          ["client_assertion", assertion],
        ]),
      );
    const viaResolve = () => handleResolve(resolveRequest(base, { subject_token: subjectToken, provider: "notes" }, { authorization: `Bearer ${assertion}` }));
    const responses = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? viaToken() : viaResolve())));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(11);

    const { flushAudit } = await import("@/lib/audit/append");
    await flushAudit();
    const { getDb } = await import("@/lib/db/client");
    const replays = await (await getDb()).auditEvent.count({ where: { action: "gateway.auth_failed", reason: "assertion_replayed", gatewayId: bed.jwt.id } });
    expect(replays).toBe(11);
  });
});
