// Verifies a gateway's client assertion (RFC 7523 §3) with node:crypto on a cached KeyObject,
// synchronously: handing a 2048-bit RS256 check (about 34 µs) to libuv's threadpool wakes a
// worker thread and returns through another event-loop turn, which on 2 busy cores cost more than
// the check itself (`npm run bench`, token exchange, three A/B pairs: 812-876 req/s at 1.00-1.08 ms
// CPU each with the callback, 939-1,105 req/s at 0.84-0.97 ms synchronously).
// Every token exchange carries a new assertion (a unique jti), so its signature cannot be
// remembered, only its key. jose's jwtVerify goes through WebCrypto, which cost about 130 µs of CPU
// more per RS256 verification than a synchronous crypto.verify on the same key (2048-bit,
// Node 20; the largest cost specific to the token endpoint in `npm run bench` profiles).
// jose still does what needs care: it parses the header and picks and imports the key
// (createLocalJWKSet / createRemoteJWKSet: kid, kty, alg, use, key_ops, crv), and its error classes
// carry each refusal, so the audited reasons (describeJoseError) are the same as with jwtVerify.
// The checks mirror jose's jwtVerify for the options authenticate.ts passed it.
import { constants, KeyObject, verify, type VerifyKeyObjectInput, type VerifyPublicKeyInput } from "node:crypto";
import { decodeProtectedHeader, errors, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { ASYMMETRIC_ALGORITHMS } from "@/lib/subject-tokens/issuers";

type Algorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

/** What the key jose imported for `alg` must be (its WebCrypto algorithm), and how node:crypto verifies it. */
interface AlgorithmSpec {
  keyAlgorithm: "RSASSA-PKCS1-v1_5" | "RSA-PSS" | "ECDSA" | "Ed25519";
  /** Digest for crypto.verify; null for Ed25519 (the curve fixes it). */
  hash: "sha256" | "sha384" | "sha512" | null;
  curve?: "P-256" | "P-384" | "P-521";
}

const SPECS: Record<Algorithm, AlgorithmSpec> = {
  RS256: { keyAlgorithm: "RSASSA-PKCS1-v1_5", hash: "sha256" },
  RS384: { keyAlgorithm: "RSASSA-PKCS1-v1_5", hash: "sha384" },
  RS512: { keyAlgorithm: "RSASSA-PKCS1-v1_5", hash: "sha512" },
  PS256: { keyAlgorithm: "RSA-PSS", hash: "sha256" },
  PS384: { keyAlgorithm: "RSA-PSS", hash: "sha384" },
  PS512: { keyAlgorithm: "RSA-PSS", hash: "sha512" },
  ES256: { keyAlgorithm: "ECDSA", hash: "sha256", curve: "P-256" },
  ES384: { keyAlgorithm: "ECDSA", hash: "sha384", curve: "P-384" },
  ES512: { keyAlgorithm: "ECDSA", hash: "sha512", curve: "P-521" },
  EdDSA: { keyAlgorithm: "Ed25519", hash: null },
};

// Compact JWS only, base64url without padding in all three parts (no unencoded payload). An empty
// signature gets as far as the algorithm check, so `alg: none` is refused as such.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

// jose's key sets hand out the same CryptoKey for a key until the set changes (lib/gateways/key-sets.ts).
const keyObjects = new WeakMap<CryptoKey, KeyObject>();

function keyObjectOf(key: CryptoKey): KeyObject {
  let keyObject = keyObjects.get(key);
  if (!keyObject) {
    keyObject = KeyObject.from(key);
    keyObjects.set(key, keyObject);
  }
  return keyObject;
}

function checkKey(key: unknown, alg: Algorithm, spec: AlgorithmSpec): CryptoKey {
  if (!(key instanceof CryptoKey) || key.type !== "public") throw new errors.JOSENotSupported("The key set did not give a public CryptoKey");
  const algorithm = key.algorithm as KeyAlgorithm & { hash?: { name: string }; modulusLength?: number; namedCurve?: string };
  const fits =
    algorithm.name === spec.keyAlgorithm &&
    (spec.keyAlgorithm === "RSASSA-PKCS1-v1_5" || spec.keyAlgorithm === "RSA-PSS"
      ? algorithm.hash?.name === `SHA-${alg.slice(2)}` && typeof algorithm.modulusLength === "number" && algorithm.modulusLength >= 2048
      : spec.curve === undefined || algorithm.namedCurve === spec.curve);
  if (!fits) throw new errors.JWSSignatureVerificationFailed(`the key does not fit ${alg}`);
  return key;
}

function verifyInput(key: KeyObject, spec: AlgorithmSpec): VerifyKeyObjectInput | VerifyPublicKeyInput | KeyObject {
  if (spec.keyAlgorithm === "RSA-PSS") return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
  // JWS ECDSA signatures are r || s (RFC 7518 §3.4), not DER.
  if (spec.keyAlgorithm === "ECDSA") return { key, dsaEncoding: "ieee-p1363" };
  return key;
}

function claimFailed(payload: JWTPayload, claim: string, message = `unexpected "${claim}" claim value`): errors.JWTClaimValidationFailed {
  return new errors.JWTClaimValidationFailed(message, payload, claim, "check_failed");
}

function numericDate(payload: JWTPayload, claim: "exp" | "nbf" | "iat"): number | undefined {
  const value = payload[claim];
  if (value === undefined) return undefined;
  if (typeof value !== "number") throw new errors.JWTClaimValidationFailed(`"${claim}" claim must be a number`, payload, claim, "invalid");
  return value;
}

export interface AssertionJwtOptions {
  issuer: string;
  subject: string;
  /** Accepted audiences: the assertion's `aud` (a string or an array) must contain one. */
  audience: string[];
  clockToleranceSeconds: number;
  /** Claims that must be present besides iss, sub and aud (client assertions: exp, jti). */
  requiredClaims: string[];
}

/**
 * The claims of a compact JWS signed with one of ASYMMETRIC_ALGORITHMS by the key `getKey` picks,
 * checked like jose's jwtVerify with the same options. `claims` is the already decoded payload
 * part of this same token (authenticate.ts needs `sub` before it can load the key set).
 * Throws jose's errors.
 */
export async function verifyAssertionJwt(token: string, claims: JWTPayload, getKey: JWTVerifyGetKey, options: AssertionJwtOptions): Promise<JWTPayload> {
  if (!COMPACT_JWS.test(token)) throw new errors.JWSInvalid("Invalid Compact JWS");
  const header = decodeProtectedHeader(token);
  // Nothing here understands critical header parameters (RFC 7515 §4.1.11), b64 included.
  if (header.crit !== undefined) throw new errors.JOSENotSupported('"crit" header parameters are not supported');
  const alg = header.alg;
  if (typeof alg !== "string" || !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
  }
  const spec = SPECS[alg as Algorithm];
  const lastDot = token.lastIndexOf(".");
  const key = checkKey(await getKey({ ...header, alg }, { payload: token.slice(token.indexOf(".") + 1, lastDot), signature: token.slice(lastDot + 1) }), alg as Algorithm, spec);
  let verified: boolean;
  try {
    verified = verify(spec.hash, Buffer.from(token.slice(0, lastDot), "ascii"), verifyInput(keyObjectOf(key), spec), Buffer.from(token.slice(lastDot + 1), "base64url"));
  } catch (cause) {
    throw new errors.JWSSignatureVerificationFailed(undefined, { cause });
  }
  if (!verified) throw new errors.JWSSignatureVerificationFailed();

  const payload = claims;
  for (const claim of ["iss", "sub", "aud", ...options.requiredClaims]) {
    if (!Object.hasOwn(payload, claim)) throw claimFailed(payload, claim, `missing required "${claim}" claim`);
  }
  if (payload.iss !== options.issuer) throw claimFailed(payload, "iss");
  if (payload.sub !== options.subject) throw claimFailed(payload, "sub");
  const aud = payload.aud;
  const audienceOk = typeof aud === "string" ? options.audience.includes(aud) : Array.isArray(aud) && options.audience.some((a) => aud.includes(a));
  if (!audienceOk) throw claimFailed(payload, "aud");
  const now = Math.floor(Date.now() / 1000);
  const tolerance = options.clockToleranceSeconds;
  numericDate(payload, "iat");
  const nbf = numericDate(payload, "nbf");
  if (nbf !== undefined && nbf > now + tolerance) throw claimFailed(payload, "nbf", '"nbf" claim timestamp check failed');
  const exp = numericDate(payload, "exp");
  if (exp !== undefined && exp <= now - tolerance) throw new errors.JWTExpired('"exp" claim timestamp check failed', payload, "exp", "check_failed");
  return payload;
}
