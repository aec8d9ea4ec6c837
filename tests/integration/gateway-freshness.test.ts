// A gateway disabled or re-keyed on ANOTHER instance gets no credential on its very next call
// here, although this instance still holds the gateway row in its short cache. "Another
// instance" is simulated by changing the row in PostgreSQL behind this process's back (which is
// all another instance does); forgetGateway is never called.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase } from "../helpers/test-db";
import {
  ACCESS_TOKEN_TYPE,
  basicAuth,
  connectNotes,
  type GatewayTestbed,
  resolveRequest,
  startGatewayTestbed,
  SUBJECT_AUDIENCE,
  TOKEN_EXCHANGE_GRANT,
  tokenRequest,
} from "../helpers/gateway-testbed";

await useTestDatabase();

let bed: GatewayTestbed;
let accessToken: string;

beforeAll(async () => {
  bed = await startGatewayTestbed();
  accessToken = (await connectNotes(bed)).accessToken;
}, 60_000);

afterAll(async () => {
  await bed?.close();
});

async function resolveWithBasic() {
  const { handleResolve } = await import("@/lib/gateway-api/resolve");
  const subject_token = await bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE });
  const res = await handleResolve(
    resolveRequest(bed.frontdeskUrl, { subject_token, provider: "notes" }, { authorization: basicAuth(bed.basic.id, bed.basic.secret!) }),
  );
  return { status: res.status, text: await res.text() };
}

async function exchangeWithPost() {
  const { handleTokenRequest } = await import("@/lib/gateway-api/token-exchange");
  const subject_token = await bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE });
  const res = await handleTokenRequest(
    tokenRequest(bed.frontdeskUrl, [
      ["grant_type", TOKEN_EXCHANGE_GRANT],
      ["subject_token", subject_token],
      ["subject_token_type", ACCESS_TOKEN_TYPE],
      ["audience", "notes"],
      ["client_id", bed.post.id],
      ["client_secret", bed.post.secret!],
    ]),
  );
  return { status: res.status, text: await res.text() };
}

async function db() {
  return (await import("@/lib/db/client")).getDb();
}

async function lastDenial(gatewayId: string) {
  const { flushAudit } = await import("@/lib/audit/append");
  await flushAudit();
  return (await db()).auditEvent.findFirst({ where: { gatewayId, decision: "deny" }, orderBy: { seq: "desc" } });
}

describe("gateway changes made elsewhere", () => {
  it("a gateway disabled on another instance is refused on its next call, with its row still cached here", async () => {
    const warm = await resolveWithBasic();
    expect(warm.status).toBe(200);
    expect(warm.text).toContain(accessToken);

    await (await db()).gateway.update({ where: { id: bed.basic.id }, data: { status: "disabled" } });
    const next = await resolveWithBasic();
    expect(next.status).toBe(401);
    expect(JSON.parse(next.text).error.code).toBe("invalid_client");
    expect(next.text).not.toContain(accessToken);
    expect(await lastDenial(bed.basic.id)).toMatchObject({ action: "resolve", reason: "gateway:gateway_disabled" });

    await (await db()).gateway.update({ where: { id: bed.basic.id }, data: { status: "active" } });
    expect((await resolveWithBasic()).status).toBe(200);
  });

  it("a secret rotated on another instance stops the old secret on its next call", async () => {
    const warm = await exchangeWithPost();
    expect(warm.status).toBe(200);

    const { hashSecret } = await import("@/lib/crypto/hash");
    await (await db()).gateway.update({ where: { id: bed.post.id }, data: { secretHash: hashSecret("a-new-secret-issued-by-another-instance-0123456789") } });
    const next = await exchangeWithPost();
    expect(next.status).toBe(401);
    const body = JSON.parse(next.text);
    expect(body.error).toBe("invalid_client");
    expect(body).not.toHaveProperty("access_token");
    expect(next.text).not.toContain(accessToken);
    expect(await lastDenial(bed.post.id)).toMatchObject({ action: "token_exchange", reason: "gateway:secret_rotated" });
  });
});
