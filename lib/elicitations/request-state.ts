// The requestState of an MCP 2026-07-28 `input_required` answer, sealed by Frontdesk (design.md
// invariant 12). The MCP server returns it to its client unchanged and passes the retry's copy
// back to Frontdesk, so it needs no state and no codec of its own. The spec calls requestState
// attacker-controlled input: it is a compact JWE (`dir` + A256GCM, RFC 7516) under a request-state
// key of its own (lib/elicitations/request-state-keys.ts), so it is confidential (it names the
// user and the elicitation) and any change to a single byte, a truncation or a foreign key fails
// authentication. The protected header, including `kid` (the key version), is part of the AAD.
//
// What it binds, all checked on the way back in: the gateway, the user (issuer + subject), the
// agent when the call carried a verified actor token (so a retry by another agent, or one that
// drops the actor token, is refused), the elicitation, the provider and the requested scopes, an
// expiry no later than the elicitation's, and an optional digest of the tool call that the MCP
// server supplies. A state
// never yields a credential by itself: it only names the elicitation a retry may wait for; the
// credential still comes from the verified user's own grant.
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from "node:crypto";
import { decodeProtectedHeader } from "jose";
import { freshBytes } from "@/lib/ids";
import { z } from "zod";

export const REQUEST_STATE_TYP = "frontdesk-request-state+jwe";
const FORMAT = 1;
/** Longer is not a state Frontdesk sealed (about 700 characters in practice). */
export const MAX_REQUEST_STATE_LENGTH = 4096;
/** What an MCP server may send as request digest: a hash or id of the tool call, opaque here. */
export const REQUEST_DIGEST_PATTERN = /^[A-Za-z0-9._~:+/=-]{1,128}$/;

export interface RequestStateKey {
  /** Key version, carried as the JWE `kid`. */
  id: string;
  /** 32 random bytes. */
  secret: Uint8Array;
}

/** The keys a process holds: the newest seals, every one opens. */
export interface RequestStateKeySet {
  active: RequestStateKey;
  /** All keys that may open a state, the active one included. */
  byId: ReadonlyMap<string, RequestStateKey>;
}

export interface RequestStateBinding {
  gatewayId: string;
  issuer: string;
  subject: string;
  /** The verified agent (Agent id) acting for the user; absent when no actor token was presented. */
  agentId?: string;
  providerId: string;
  /** The scopes the call asked for (as sent; order and repeats do not matter). */
  scopes: readonly string[];
  /** The MCP server's digest of the tool call, if it supplied one. */
  digest?: string;
}

export interface SealedRequestStateInput extends RequestStateBinding {
  elicitationId: string;
  /** No later than the elicitation's own expiry. */
  expiresAt: Date;
}

export type RequestStateFailure =
  | "malformed"
  | "unknown_key"
  | "does_not_authenticate"
  | "other_gateway"
  | "other_user"
  | "other_agent"
  | "other_target"
  | "digest_mismatch"
  | "expired";

export type OpenedRequestState =
  | { ok: true; elicitationId: string; expiresAt: Date }
  | { ok: false; reason: RequestStateFailure; /** Set once the seal verified. */ elicitationId?: string };

const claimsSchema = z
  .object({
    v: z.literal(FORMAT),
    gw: z.string().min(1),
    iss: z.string().min(1),
    sub: z.string().min(1),
    agt: z.string().min(1).optional(),
    eli: z.string().min(1),
    prv: z.string().min(1),
    scp: z.array(z.string()),
    dig: z.string().optional(),
    iat: z.number().int(),
    exp: z.number().int(),
  })
  .strict();

// Sealed and opened with node:crypto in one synchronous call each, in exactly the compact
// serialization jose's CompactEncrypt writes and compactDecrypt opens (tests/unit/request-state.test.ts
// checks both ways): jose's WebCrypto path goes through the thread pool and several promise
// hops per state, most of a seal's CPU. Each key becomes a KeyObject once.
const keyObjects = new WeakMap<Uint8Array, KeyObject>();

function keyObjectOf(key: RequestStateKey): KeyObject {
  let object = keyObjects.get(key.secret);
  if (!object) {
    object = createSecretKey(key.secret);
    keyObjects.set(key.secret, object);
  }
  return object;
}

/** The encoded protected header of a key id (also the AAD: RFC 7516 section 5.1, step 14). */
const encodedHeaders = new Map<string, string>();

function encodedHeaderOf(kid: string): string {
  let encoded = encodedHeaders.get(kid);
  if (!encoded) {
    encoded = Buffer.from(JSON.stringify({ alg: "dir", enc: "A256GCM", kid, typ: REQUEST_STATE_TYP })).toString("base64url");
    encodedHeaders.set(kid, encoded);
  }
  return encoded;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

function normalScopes(scopes: readonly string[]): string[] {
  return [...new Set(scopes)].sort();
}

/** Seals a requestState under the active key. */
export function sealRequestState(keys: RequestStateKeySet, input: SealedRequestStateInput, now = Date.now()): string {
  const claims: z.infer<typeof claimsSchema> = {
    v: FORMAT,
    gw: input.gatewayId,
    iss: input.issuer,
    sub: input.subject,
    ...(input.agentId !== undefined ? { agt: input.agentId } : {}),
    eli: input.elicitationId,
    prv: input.providerId,
    scp: normalScopes(input.scopes),
    ...(input.digest !== undefined ? { dig: input.digest } : {}),
    iat: Math.floor(now / 1000),
    exp: Math.floor(input.expiresAt.getTime() / 1000),
  };
  const header = encodedHeaderOf(keys.active.id);
  // From the id module's CSPRNG pool: a call into OpenSSL for 12 bytes cost half a seal.
  const iv = freshBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", keyObjectOf(keys.active), iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(header, "ascii"));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(claims), "utf8"), cipher.final()]);
  // header . (no encrypted key with `dir`) . iv . ciphertext . tag
  return `${header}..${iv.toString("base64url")}.${ciphertext.toString("base64url")}.${cipher.getAuthTag().toString("base64url")}`;
}

/** The key version a state names, without verifying anything (to decide whether to reload keys). */
export function requestStateKeyId(token: string): string | null {
  if (token.length > MAX_REQUEST_STATE_LENGTH) return null;
  try {
    const kid = decodeProtectedHeader(token).kid;
    return typeof kid === "string" ? kid : null;
  } catch {
    return null;
  }
}

/**
 * Opens and checks a requestState against who is asking now. Never throws: every failure is a
 * reason the caller audits. The binding is checked only after the seal authenticates.
 */
export function openRequestState(
  keys: RequestStateKeySet,
  token: string,
  expected: RequestStateBinding,
  now = Date.now(),
): OpenedRequestState {
  const parts = typeof token === "string" && token.length <= MAX_REQUEST_STATE_LENGTH ? token.split(".") : [];
  if (parts.length !== 5) return { ok: false, reason: "malformed" };
  const bytes = parts.map((part) => Buffer.from(part, "base64url"));
  // Canonical base64url only: the last character of a segment has spare bits that decode to the
  // same bytes, and a changed state should never open, not merely open to the same content.
  if (!bytes.every((decoded, i) => decoded.toString("base64url") === parts[i])) return { ok: false, reason: "malformed" };
  let header;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (header.typ !== REQUEST_STATE_TYP || header.alg !== "dir" || header.enc !== "A256GCM" || typeof header.kid !== "string") {
    return { ok: false, reason: "malformed" };
  }
  const key = keys.byId.get(header.kid);
  if (!key) return { ok: false, reason: "unknown_key" };
  const [, encryptedKey, iv, ciphertext, tag] = bytes as [Buffer, Buffer, Buffer, Buffer, Buffer];
  // `dir` carries no encrypted key; a 96-bit IV and a full 128-bit tag, as sealed.
  if (encryptedKey.length !== 0 || iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return { ok: false, reason: "does_not_authenticate" };
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv("aes-256-gcm", keyObjectOf(key), iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(parts[0]!, "ascii"));
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    return { ok: false, reason: "does_not_authenticate" };
  }
  let claims: z.infer<typeof claimsSchema>;
  try {
    const parsed = claimsSchema.safeParse(JSON.parse(plaintext.toString("utf8")));
    if (!parsed.success) return { ok: false, reason: "malformed" };
    claims = parsed.data;
  } catch {
    return { ok: false, reason: "malformed" };
  }
  const fail = (reason: RequestStateFailure): OpenedRequestState => ({ ok: false, reason, elicitationId: claims.eli });
  if (claims.gw !== expected.gatewayId) return fail("other_gateway");
  if (claims.iss !== expected.issuer || claims.sub !== expected.subject) return fail("other_user");
  // Both ways: another agent, an agent where none was, or none where one was.
  if (claims.agt !== expected.agentId) return fail("other_agent");
  if (claims.prv !== expected.providerId || JSON.stringify(claims.scp) !== JSON.stringify(normalScopes(expected.scopes))) return fail("other_target");
  if (claims.dig !== expected.digest) return fail("digest_mismatch");
  if (claims.exp * 1000 <= now) return fail("expired");
  return { ok: true, elicitationId: claims.eli, expiresAt: new Date(claims.exp * 1000) };
}
