// Keeps secrets and unbounded data out of audit events. Audit rows are read by admins,
// exported and kept for years, so anything that could be a credential is removed before it
// is hashed and stored: values under secret-looking keys, JWTs, bearer/basic credentials and
// well-known token formats inside any string. False positives only cost detail; a false
// negative would leak a credential into an append-only table that cannot be cleaned.

export const REDACTED = "[redacted]";

/**
 * Keys whose values are never stored (substring match, case-insensitive). "session" is not
 * in the list on purpose: a session's id is a reference worth keeping in an admin's audit
 * trail; the secret is its token, caught by "token" (sessionToken, session-token).
 */
const SECRET_KEY =
  /token|secret|passw|pwd|authorization|cookie|assertion|code|key|verifier|credential|bearer|signature|jwt|private|nonce|state|cipher|otp/i;

// Credentials that can appear inside free text (an upstream error message, a header value).
const SECRET_IN_TEXT: [RegExp, string][] = [
  // JWS (3 segments) and JWE (5 segments) compact serializations.
  [/eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){2,4}/g, "[redacted:jwt]"],
  // HTTP credentials: "Bearer xyz", "Basic xyz", "token xyz" after an auth scheme.
  [/\b(Bearer|Basic|Token|Negotiate|Digest|DPoP)\s+[A-Za-z0-9._~+/=:-]{4,}/gi, "$1 [redacted]"],
  // Provider token formats: GitHub, Slack, Google OAuth, OpenAI/Anthropic-style keys, AWS keys.
  [/\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g, "[redacted:token]"],
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}/g, "[redacted:token]"],
  [/\bya29\.[A-Za-z0-9._-]{10,}/g, "[redacted:token]"],
  [/\bsk-[A-Za-z0-9_-]{16,}/g, "[redacted:token]"],
  [/\bAKIA[0-9A-Z]{16}\b/g, "[redacted:token]"],
  // Secrets in URLs: userinfo and secret-looking query parameters.
  [/(\/\/)[^/\s:@]+:[^/\s@]+@/g, "$1[redacted]@"],
  [
    /([?&#](?:[a-z_]*token|code|client_secret|password|assertion|state|code_verifier|key|api_key)=)[^&#\s]+/gi,
    "$1[redacted]",
  ],
];

// A superset of what SECRET_IN_TEXT can match (each pattern needs one of these substrings).
const MAYBE_SECRET_IN_TEXT = /eyJ|bearer|basic|token|negotiate|digest|dpop|gh[pousr]_|github_pat_|xox|ya29\.|sk-|AKIA|@|[?&#]/i;

export const LIMITS = {
  depth: 4,
  keysPerObject: 40,
  arrayItems: 40,
  keyLength: 64,
  stringLength: 512,
  /** Upper bound of the serialized context; larger contexts are replaced by a marker. */
  contextBytes: 8192,
  idLength: 256,
  reasonLength: 1024,
} as const;

/** True when a key name suggests its value is a credential. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/**
 * Makes a string safe to store: well-formed UTF-16 (PostgreSQL would otherwise store a
 * replacement character and the row would no longer match its hash), no NUL (PostgreSQL
 * text rejects it), known credential formats redacted, length capped.
 */
export function scrubText(value: string, maxLength: number = LIMITS.stringLength): string {
  let s = value.toWellFormed().replace(/\u0000/g, "");
  // Most strings are short ids: one cheap test rules out every pattern below at once.
  if (MAYBE_SECRET_IN_TEXT.test(s)) {
    for (const [pattern, replacement] of SECRET_IN_TEXT) s = s.replace(pattern, replacement);
  }
  return truncate(s, maxLength);
}

function truncate(s: string, maxLength: number): string {
  if (s.length <= maxLength) return s;
  // Do not cut a surrogate pair in half.
  return `${s.slice(0, maxLength).toWellFormed()}…[truncated]`;
}

/** A plain JSON value built only from own enumerable data; never a class instance. */
export type SafeJson = string | number | boolean | null | SafeJson[] | { [key: string]: SafeJson };

function sanitizeValue(value: unknown, depth: number): SafeJson | undefined {
  if (value === null) return null;
  switch (typeof value) {
    case "string":
      return scrubText(value);
    case "number":
      // JSON has no NaN or Infinity; store null the way JSON.stringify would.
      return Number.isFinite(value) ? value : null;
    case "boolean":
      return value;
    case "bigint":
      return value.toString();
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Error) return { name: scrubText(value.name), message: scrubText(value.message) };
  if (depth >= LIMITS.depth) return "[truncated:depth]";
  if (Array.isArray(value)) {
    const items = value.slice(0, LIMITS.arrayItems).map((v) => sanitizeValue(v, depth + 1) ?? null);
    if (value.length > LIMITS.arrayItems) items.push(`[truncated:${value.length - LIMITS.arrayItems} more]`);
    return items;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return "[unsupported]";
  return sanitizeObject(value as Record<string, unknown>, depth);
}

function sanitizeObject(obj: Record<string, unknown>, depth: number): { [key: string]: SafeJson } {
  const entries: [string, SafeJson][] = [];
  let skipped = 0;
  for (const [rawKey, raw] of Object.entries(obj)) {
    if (entries.length >= LIMITS.keysPerObject) {
      skipped++;
      continue;
    }
    // Keys are text too (a map keyed by token would otherwise leak through its keys).
    const key = scrubText(rawKey, LIMITS.keyLength);
    if (isSecretKey(key)) {
      // Keep the key so a reader sees that something was there, never the value.
      if (raw !== undefined) entries.push([key, REDACTED]);
      continue;
    }
    const v = sanitizeValue(raw, depth + 1);
    if (v !== undefined) entries.push([key, v]);
  }
  if (skipped > 0) entries.push(["[truncated]", `${skipped} more keys`]);
  // fromEntries defines own properties, so a "__proto__" key stays data, not a prototype.
  return Object.fromEntries(entries);
}

/** Sanitizes an event context into a bounded, secret-free plain JSON object. */
export function sanitizeContext(context: Record<string, unknown> | null | undefined): { [key: string]: SafeJson } {
  if (context === null || context === undefined || typeof context !== "object" || Array.isArray(context)) return {};
  const out = sanitizeObject(context, 0);
  const bytes = Buffer.byteLength(JSON.stringify(out));
  if (bytes > LIMITS.contextBytes) return { "[truncated]": `context of ${bytes} bytes exceeds ${LIMITS.contextBytes}` };
  return out;
}
