// Client assertions are verified with node:crypto instead of jose's jwtVerify (lib/gateways/
// assertion-jwt.ts). Differential test: for every algorithm the gateway may use and for each way an
// assertion can be wrong, it decides exactly as jwtVerify with the options authenticate.ts used to
// pass, and refuses with the same jose error class (the audited reason comes from it).
import { generateKeyPairSync, sign as cryptoSign, type KeyObject } from "node:crypto";
import { createLocalJWKSet, decodeJwt, errors, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK, type JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import { verifyAssertionJwt } from "@/lib/gateways/assertion-jwt";
import { ASYMMETRIC_ALGORITHMS } from "@/lib/subject-tokens/issuers";

const GATEWAY = "gw_test";
const AUDIENCE = ["https://frontdesk.example/oauth/token", "https://frontdesk.example"];
const OPTIONS = { issuer: GATEWAY, subject: GATEWAY, audience: AUDIENCE, clockToleranceSeconds: 30, requiredClaims: ["exp", "jti"] };

async function outcome(verifier: () => Promise<JWTPayload>): Promise<string> {
  try {
    const payload = await verifier();
    return `ok:${payload.jti as string}`;
  } catch (e) {
    const claim = e instanceof errors.JWTClaimValidationFailed ? `:${e.claim}` : "";
    return `${(e as Error).constructor.name}${claim}`;
  }
}

async function both(token: string, keys: ReturnType<typeof createLocalJWKSet>) {
  const ours = await outcome(() => verifyAssertionJwt(token, decodeJwt(token), keys, OPTIONS));
  const jose = await outcome(async () =>
    (
      await jwtVerify(token, keys, {
        algorithms: [...ASYMMETRIC_ALGORITHMS],
        issuer: GATEWAY,
        subject: GATEWAY,
        audience: AUDIENCE,
        clockTolerance: 30,
        requiredClaims: ["exp", "jti"],
      })
    ).payload,
  );
  return { ours, jose };
}

const now = () => Math.floor(Date.now() / 1000);

async function sign(alg: string, key: CryptoKey | Parameters<SignJWT["sign"]>[0], claims: JWTPayload, kid = "k1", header: Record<string, unknown> = {}) {
  return new SignJWT(claims).setProtectedHeader({ alg, kid, ...header }).sign(key);
}

function signWith(key: KeyObject, alg: "RS256", kid: string, claims: JWTPayload): string {
  const input = `${b64({ alg, kid })}.${b64(claims)}`;
  return `${input}.${cryptoSign("sha256", Buffer.from(input), key).toString("base64url")}`;
}
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");

const standard = (jti: string): JWTPayload => ({ iss: GATEWAY, sub: GATEWAY, aud: AUDIENCE[0], jti, iat: now(), exp: now() + 300 });

describe("client assertion verification (node:crypto) decides as jose's jwtVerify", () => {
  it.each([...ASYMMETRIC_ALGORITHMS])("%s: a valid assertion passes; another key, a changed payload or a changed signature does not", async (alg) => {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    const { privateKey: otherKey } = await generateKeyPair(alg);
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: "k1", alg, use: "sig" };
    const keys = createLocalJWKSet({ keys: [jwk] });
    const valid = await sign(alg, privateKey, standard(`${alg}-1`));
    expect(await both(valid, keys)).toEqual({ ours: `ok:${alg}-1`, jose: `ok:${alg}-1` });
    // A second call uses the cached KeyObject.
    expect((await both(await sign(alg, privateKey, standard(`${alg}-2`)), keys)).ours).toBe(`ok:${alg}-2`);

    const otherSigner = await sign(alg, otherKey, standard(`${alg}-3`));
    const [h, p, s] = valid.split(".");
    const changedPayload = `${h}.${Buffer.from(JSON.stringify({ ...decodeJwt(valid), jti: "x" })).toString("base64url")}.${s}`;
    const changedSignature = `${h}.${p}.${s!.slice(0, -4)}${s!.slice(-4) === "AAAA" ? "BBBB" : "AAAA"}`;
    const truncatedSignature = `${h}.${p}.${s!.slice(0, 20)}`;
    for (const token of [otherSigner, changedPayload, changedSignature, truncatedSignature]) {
      expect(await both(token, keys)).toEqual({ ours: "JWSSignatureVerificationFailed", jose: "JWSSignatureVerificationFailed" });
    }
  });

  it("refuses wrong claims, times, algorithms and keys with the same error as jwtVerify", async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
    const es = await generateKeyPair("ES384", { extractable: true });
    const weak = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const keys = createLocalJWKSet({
      keys: [
        { ...(await exportJWK(publicKey)), kid: "k1", use: "sig" },
        // Registered as a P-384 key: ES256 with this kid must find no key (curve check).
        { ...(await exportJWK(es.publicKey)), kid: "p384" },
        { ...(weak.publicKey.export({ format: "jwk" }) as JWK), kid: "weak" },
      ],
    });
    const t = now();
    const es256 = await generateKeyPair("ES256");
    const cases: Record<string, string> = {
      aud_array: await sign("RS256", privateKey, { ...standard("a"), aud: ["https://other.example", AUDIENCE[1]!] }),
      issuer_audience: await sign("RS256", privateKey, { ...standard("b"), aud: AUDIENCE[1] }),
      wrong_aud: await sign("RS256", privateKey, { ...standard("c"), aud: "https://other.example" }),
      wrong_aud_array: await sign("RS256", privateKey, { ...standard("d"), aud: ["https://other.example"] }),
      no_aud: await sign("RS256", privateKey, { iss: GATEWAY, sub: GATEWAY, jti: "e", exp: t + 60 }),
      wrong_iss: await sign("RS256", privateKey, { ...standard("f"), iss: "gw_other" }),
      wrong_sub: await sign("RS256", privateKey, { ...standard("g"), sub: "gw_other" }),
      no_jti: await sign("RS256", privateKey, { iss: GATEWAY, sub: GATEWAY, aud: AUDIENCE[0], exp: t + 60 }),
      no_exp: await sign("RS256", privateKey, { iss: GATEWAY, sub: GATEWAY, aud: AUDIENCE[0], jti: "h" }),
      exp_string: await sign("RS256", privateKey, { ...standard("i"), exp: String(t + 60) as unknown as number }),
      iat_string: await sign("RS256", privateKey, { ...standard("j"), iat: String(t) as unknown as number }),
      expired: await sign("RS256", privateKey, { ...standard("k"), exp: t - 31 }),
      expired_within_skew: await sign("RS256", privateKey, { ...standard("l"), exp: t - 10 }),
      not_yet_valid: await sign("RS256", privateKey, { ...standard("m"), nbf: t + 120 }),
      nbf_within_skew: await sign("RS256", privateKey, { ...standard("n"), nbf: t + 10 }),
      unknown_kid: await sign("RS256", privateKey, standard("o"), "nope"),
      wrong_curve: await sign("ES256", es256.privateKey, standard("p"), "p384"),
      // jose will not sign with a 1024-bit key either.
      rsa_1024: signWith(weak.privateKey, "RS256", "weak", standard("q")),
      hmac: await sign("HS256", new TextEncoder().encode("k".repeat(32)), standard("r")),
    };
    const expected: Record<string, string> = {
      aud_array: "ok:a",
      issuer_audience: "ok:b",
      wrong_aud: "JWTClaimValidationFailed:aud",
      wrong_aud_array: "JWTClaimValidationFailed:aud",
      no_aud: "JWTClaimValidationFailed:aud",
      wrong_iss: "JWTClaimValidationFailed:iss",
      wrong_sub: "JWTClaimValidationFailed:sub",
      no_jti: "JWTClaimValidationFailed:jti",
      no_exp: "JWTClaimValidationFailed:exp",
      exp_string: "JWTClaimValidationFailed:exp",
      iat_string: "JWTClaimValidationFailed:iat",
      expired: "JWTExpired",
      expired_within_skew: "ok:l",
      not_yet_valid: "JWTClaimValidationFailed:nbf",
      nbf_within_skew: "ok:n",
      unknown_kid: "JWKSNoMatchingKey",
      wrong_curve: "JWKSNoMatchingKey",
      hmac: "JOSEAlgNotAllowed",
    };
    for (const [name, token] of Object.entries(cases)) {
      const { ours, jose } = await both(token, keys);
      if (name === "rsa_1024") {
        // jose throws a TypeError; both refuse (describeJoseError: "client_assertion is invalid").
        expect({ name, ours, jose }).toEqual({ name, ours: "JWSSignatureVerificationFailed", jose: "TypeError" });
        continue;
      }
      expect({ name, ours, jose }).toEqual({ name, ours: expected[name], jose: expected[name] });
    }
  });

  it("refuses alg none, critical header parameters and anything but a compact JWS", async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
    const keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1" }] });
    const enc = b64;
    const none = `${enc({ alg: "none" })}.${enc(standard("n"))}.`;
    expect(await both(none, keys)).toEqual({ ours: "JOSEAlgNotAllowed", jose: "JOSEAlgNotAllowed" });
    const [h, p] = (await sign("RS256", privateKey, standard("e"))).split(".");
    expect(await both(`${h}.${p}.`, keys)).toEqual({ ours: "JWSSignatureVerificationFailed", jose: "JWSSignatureVerificationFailed" });
    const noneWithSig = `${enc({ alg: "none" })}.${enc(standard("n"))}.AAAA`;
    expect((await both(noneWithSig, keys)).ours).toBe("JOSEAlgNotAllowed");
    // jose accepts crit ["b64"] with b64 true; nothing here needs it, so it is refused.
    const crit = await sign("RS256", privateKey, standard("c"), "k1", { crit: ["b64"], b64: true });
    expect((await both(crit, keys)).ours).toBe("JOSENotSupported");
    const valid = await sign("RS256", privateKey, standard("v"));
    for (const token of [`${valid}=`, ` ${valid}`, valid.replace(".", ". "), `${valid}.x`]) {
      // (decodeJwt, which authenticate.ts calls first, refuses some of them already.)
      expect((await both(token, keys)).ours).toMatch(/^JW[ST]Invalid$/);
    }
  });
});
