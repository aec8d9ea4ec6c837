// The requestState of an MCP 2026-07-28 `input_required` answer, sealed by Frontdesk (design.md
// invariant 12). The MCP server returns it to its client unchanged and passes the retry's copy
// back to Frontdesk, so it needs no state and no codec of its own. The spec calls requestState
// attacker-controlled input: it is a compact JWE (`dir` + A256GCM, jose) under a request-state
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
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from "jose";
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

// The AES key of each request-state key, imported into WebCrypto once: jose imports a raw
// Uint8Array key again on every call, which was about half of a seal's CPU (~60 µs of ~130 µs).
const cryptoKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();

function cryptoKeyOf(key: RequestStateKey): Promise<CryptoKey> {
  let imported = cryptoKeys.get(key.secret);
  if (!imported) {
    imported = crypto.subtle.importKey("raw", key.secret as Uint8Array<ArrayBuffer>, "AES-GCM", false, ["encrypt", "decrypt"]);
    cryptoKeys.set(key.secret, imported);
  }
  return imported;
}

function normalScopes(scopes: readonly string[]): string[] {
  return [...new Set(scopes)].sort();
}

/** Seals a requestState under the active key. */
export async function sealRequestState(keys: RequestStateKeySet, input: SealedRequestStateInput, now = Date.now()): Promise<string> {
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
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: "dir", enc: "A256GCM", kid: keys.active.id, typ: REQUEST_STATE_TYP })
    .encrypt(await cryptoKeyOf(keys.active));
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
export async function openRequestState(
  keys: RequestStateKeySet,
  token: string,
  expected: RequestStateBinding,
  now = Date.now(),
): Promise<OpenedRequestState> {
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_REQUEST_STATE_LENGTH || token.split(".").length !== 5) {
    return { ok: false, reason: "malformed" };
  }
  // Canonical base64url only: the last character of a segment has spare bits that decode to the
  // same bytes, and a changed state should never open, not merely open to the same content.
  if (!token.split(".").every((part) => Buffer.from(part, "base64url").toString("base64url") === part)) {
    return { ok: false, reason: "malformed" };
  }
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
  let claims: z.infer<typeof claimsSchema>;
  try {
    const { plaintext } = await compactDecrypt(token, await cryptoKeyOf(key), { keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256GCM"] });
    const parsed = claimsSchema.safeParse(JSON.parse(new TextDecoder().decode(plaintext)));
    if (!parsed.success) return { ok: false, reason: "malformed" };
    claims = parsed.data;
  } catch {
    return { ok: false, reason: "does_not_authenticate" };
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
