// RFC 8693 4.4: a subject token's `may_act` names the party allowed to act for its subject. It
// is an object of claims; every one must match the actor token's claim of the same name (a
// string claim equal, or an array claim listing the allowed values), the way agentgateway
// checks it (crates/agentgateway/src/http/auth/oauth/mod.rs, may_act_authorizes). An empty or
// non-object may_act authorizes nobody (fail closed; "all of nothing" would authorize anyone).

export function mayActAuthorizes(mayAct: unknown, actorClaims: Record<string, unknown>): boolean {
  if (typeof mayAct !== "object" || mayAct === null || Array.isArray(mayAct)) return false;
  const entries = Object.entries(mayAct as Record<string, unknown>);
  if (entries.length === 0) return false;
  return entries.every(([claim, expected]) => {
    const actual = actorClaims[claim];
    if (actual === undefined) return false;
    if (Array.isArray(expected)) return expected.some((v) => sameValue(v, actual));
    return sameValue(expected, actual);
  });
}

function sameValue(a: unknown, b: unknown): boolean {
  return typeof a === typeof b && (typeof a !== "object" || a === null) ? a === b : JSON.stringify(a) === JSON.stringify(b);
}
