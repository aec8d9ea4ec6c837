// next-auth's request inputs checked before Next.js sees them. Auth.js treats a callback URL it
// cannot use as a *configuration* error and answers 500 ("There was a problem with the server
// configuration", @auth/core index.js after lib/utils/assert.js `assertConfig`), on every auth
// route, for two values any client controls:
//  - the `callbackUrl` query parameter of an /api/auth/* request: refused with a structured
//    400 by check-request.ts (Frontdesk's own sign-in links carry same-origin paths);
//  - the callback-url cookie (a tampered or cookie-tossed `authjs.callback-url=%ZZ`): dropped from
//    the request, so the sign-in still works and next-auth writes a fresh cookie. Other next-auth
//    cookies with a malformed percent-escape are dropped too: they were never written by
//    next-auth, which percent-encodes what it sets.
// No open redirect either way: whatever reaches next-auth still goes through the redirect
// callback's same-origin rule (lib/auth/config.ts).

/** Auth.js's base path (app/api/auth/[...nextauth]). */
export const AUTH_BASE_PATH = "/api/auth/";

// Auth.js's cookies are `authjs.*` (`__Secure-`/`__Host-` over https); the session cookie is
// Frontdesk's own name (lib/auth/cookies.ts).
const NEXT_AUTH_COOKIE = /^(?:__Secure-|__Host-)?(?:authjs\.|frontdesk\.session-token$)/;
const CALLBACK_URL_COOKIE = /^(?:__Secure-)?authjs\.callback-url$/;

/** Auth.js's own test (lib/utils/assert.js `isValidHttpUrl`): an http(s) URL, or a path resolved against the origin. */
export function isUsableCallbackUrl(value: string): boolean {
  try {
    return /^https?:$/.test(new URL(value, value.startsWith("/") ? "http://origin.invalid" : undefined).protocol);
  } catch {
    return false;
  }
}

/** A cookie value as Auth.js reads it (its vendored `cookie` parser): percent-decoded, kept raw when that fails. */
function decodeLikeAuthJs(value: string): { value: string; clean: boolean } {
  if (!value.includes("%")) return { value, clean: true };
  try {
    return { value: decodeURIComponent(value), clean: true };
  } catch {
    return { value, clean: false };
  }
}

function isTampered(name: string, rawValue: string): boolean {
  if (!NEXT_AUTH_COOKIE.test(name)) return false;
  const { value, clean } = decodeLikeAuthJs(rawValue);
  if (!clean) return true;
  return CALLBACK_URL_COOKIE.test(name) && value !== "" && !isUsableCallbackUrl(value);
}

/**
 * The Cookie header without tampered next-auth cookies, or null when nothing was dropped (the
 * common case: the header is passed on untouched). Every other cookie is kept byte for byte.
 */
export function dropTamperedAuthCookies(header: string): string | null {
  if (!header.includes("authjs.") && !header.includes("frontdesk.session-token")) return null;
  const pairs = header.split(";");
  const kept = pairs.filter((pair) => {
    const eq = pair.indexOf("=");
    return eq === -1 || !isTampered(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  });
  if (kept.length === pairs.length) return null;
  return kept.map((p) => p.trim()).filter(Boolean).join("; ");
}

/** Whether an /api/auth/* request carries a callbackUrl that Auth.js would answer with 500. */
export function hasUnusableAuthCallbackUrl(path: string, query: string): boolean {
  if (!path.startsWith(AUTH_BASE_PATH) || !query.includes("callbackUrl")) return false;
  // Auth.js reads the last value (Object.fromEntries over the search params); every one must be usable.
  return new URLSearchParams(query).getAll("callbackUrl").some((value) => value !== "" && !isUsableCallbackUrl(value));
}
