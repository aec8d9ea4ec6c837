// Invariant 6 (design.md section 7): subject tokens are verified with an algorithm allow-list:
// `none` and HMAC-with-the-issuer's-public-key (algorithm confusion) are rejected, and so are
// keys the token brings along itself (embedded `jwk`, `jku`, `x5u`). Each forged token names the
// trusted IdP as issuer and a user who HAS a grant, so a lax check would hand out her token.
// Both entry points are checked: REST resolve (interface D) and token exchange (interface A).
import { createPublicKey } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
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
let resolve: (req: Request) => Promise<Response>;
let token: (req: Request) => Promise<Response>;
let accessToken: string;
let idpJwk: JWK;

beforeAll(async () => {
  bed = await startGatewayTestbed();
  resolve = (await import("@/lib/gateway-api/resolve")).handleResolve;
  token = (await import("@/lib/gateway-api/token-exchange")).handleTokenRequest;
  const minted = await connectNotes(bed);
  accessToken = minted.accessToken;
  const jwks = (await (await fetch(bed.idp.jwksUri)).json()) as { keys: JWK[] };
  idpJwk = jwks.keys.find((k) => k.kty === "RSA")!;
}, 60_000);

afterAll(async () => {
  await bed?.close();
});

const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");

function claims() {
  const now = Math.floor(Date.now() / 1000);
  return { iss: bed.idp.issuer, sub: "alice", aud: SUBJECT_AUDIENCE, iat: now, exp: now + 300 };
}

function hmacWith(secret: string | Uint8Array, alg: "HS256" | "HS384" | "HS512" = "HS256") {
  return new SignJWT({ sub: "alice" })
    .setProtectedHeader({ alg, kid: idpJwk.kid, typ: "JWT" })
    .setIssuer(bed.idp.issuer)
    .setAudience(SUBJECT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(typeof secret === "string" ? new TextEncoder().encode(secret) : secret);
}

async function forgedTokens(): Promise<Record<string, string>> {
  const pem = createPublicKey({ key: idpJwk as never, format: "jwk" }).export({ type: "spki", format: "pem" }).toString();
  const der = createPublicKey({ key: idpJwk as never, format: "jwk" }).export({ type: "spki", format: "der" });
  const attacker = await generateKeyPair("RS256", { extractable: true });
  const attackerJwk = { ...(await exportJWK(attacker.publicKey)), kid: idpJwk.kid, alg: "RS256" };
  const selfSigned = (header: Record<string, unknown>) =>
    new SignJWT({ sub: "alice" })
      .setProtectedHeader({ alg: "RS256", ...header })
      .setIssuer(bed.idp.issuer)
      .setAudience(SUBJECT_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(attacker.privateKey);
  // A genuine token's header and signature on someone else's claims, with alg switched to none.
  const genuine = await bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE });
  return {
    noneEmptySignature: `${enc({ alg: "none", typ: "JWT" })}.${enc(claims())}.`,
    noneWithKid: `${enc({ alg: "none", kid: idpJwk.kid })}.${enc(claims())}.`,
    noneUpperCase: `${enc({ alg: "NONE" })}.${enc(claims())}.`,
    noneKeepingGenuineSignature: `${enc({ alg: "none" })}.${enc(claims())}.${genuine.split(".")[2]}`,
    hs256WithJwkJson: await hmacWith(JSON.stringify(idpJwk)),
    hs256WithPublicPem: await hmacWith(pem),
    hs384WithPublicPem: await hmacWith(pem, "HS384"),
    hs512WithPublicDer: await hmacWith(new Uint8Array(der)),
    hs256WithModulus: await hmacWith(idpJwk.n!),
    embeddedJwkHeader: await selfSigned({ kid: idpJwk.kid, jwk: { kty: attackerJwk.kty, n: attackerJwk.n, e: attackerJwk.e } }),
    jkuHeader: await selfSigned({ kid: idpJwk.kid, jku: "http://127.0.0.1:1/attacker-jwks" }),
    x5uHeader: await selfSigned({ kid: idpJwk.kid, x5u: "http://127.0.0.1:1/attacker.pem" }),
  };
}

describe("subject-token algorithm allow-list", () => {
  it("the genuine token works, so the refusals below are about the forgery alone", async () => {
    const st = await bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE });
    const res = await resolve(resolveRequest(bed.frontdeskUrl, { subject_token: st, provider: "notes" }, { authorization: basicAuth(bed.basic.id, bed.basic.secret!) }));
    expect(res.status).toBe(200);
    expect((await res.json()).header.value).toBe(`Bearer ${accessToken}`);
  });

  it("REST resolve rejects alg none, HMAC keyed with the IdP's public key, and keys carried by the token", async () => {
    const results: Record<string, unknown> = {};
    for (const [name, forged] of Object.entries(await forgedTokens())) {
      const res = await resolve(resolveRequest(bed.frontdeskUrl, { subject_token: forged, provider: "notes" }, { authorization: basicAuth(bed.basic.id, bed.basic.secret!) }));
      const text = await res.text();
      results[name] = { status: res.status, code: JSON.parse(text).error?.code, leaked: text.includes(accessToken) };
    }
    const expected = Object.fromEntries(Object.keys(results).map((k) => [k, { status: 400, code: "invalid_subject", leaked: false }]));
    expect(results).toEqual(expected);
  });

  it("token exchange rejects the same forgeries with invalid_request and no access_token", async () => {
    const results: Record<string, unknown> = {};
    for (const [name, forged] of Object.entries(await forgedTokens())) {
      const res = await token(
        tokenRequest(
          bed.frontdeskUrl,
          [
            ["grant_type", TOKEN_EXCHANGE_GRANT],
            ["subject_token", forged],
            ["subject_token_type", ACCESS_TOKEN_TYPE],
            ["audience", "notes"],
          ],
          { authorization: basicAuth(bed.basic.id, bed.basic.secret!) },
        ),
      );
      const json = await res.json();
      results[name] = { status: res.status, error: json.error, hasToken: "access_token" in json };
    }
    const expected = Object.fromEntries(Object.keys(results).map((k) => [k, { status: 400, error: "invalid_request", hasToken: false }]));
    expect(results).toEqual(expected);
  });

  it("a verified subject token is remembered only under its own hash: a forgery sharing its claims is still refused", async () => {
    // The hot path caches verified tokens (lib/gateway-api/subject-cache.ts); warm it with the
    // genuine token, then present forgeries carrying the same claims.
    const genuine = await bed.idp.signSubjectToken({ sub: "alice", aud: SUBJECT_AUDIENCE });
    const { verifySubjectTokenCached } = await import("@/lib/gateway-api/subject-cache");
    await verifySubjectTokenCached(genuine);
    const [h, p] = genuine.split(".");
    for (const forged of [`${enc({ alg: "none" })}.${p}.`, `${h}.${p}.${"A".repeat(342)}`, `${h}.${p}.`]) {
      await expect(verifySubjectTokenCached(forged)).rejects.toMatchObject({ code: "invalid_subject" });
    }
  });
});
