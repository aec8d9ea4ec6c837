// The portal user's identity as the IdP states it: (issuer, subject) from the ID token, plus
// the profile fields and role computed from its claims. next-auth's provider `profile()` returns
// this, and the adapter creates users from it.
import { computeRole, readGroups, type RoleConfig } from "./roles";

export interface PortalProfile {
  /** next-auth's providerAccountId: an injective encoding of (issuer, subject). */
  id: string;
  issuer: string;
  subject: string;
  email: string | null;
  name: string | null;
  groups: string[];
  role: "admin" | "user";
}

export function accountKey(issuer: string, subject: string): string {
  return JSON.stringify([issuer, subject]);
}

export function parseAccountKey(key: string): { issuer: string; subject: string } | null {
  try {
    const value: unknown = JSON.parse(key);
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === "string" && typeof value[1] === "string") {
      return { issuer: value[0], subject: value[1] };
    }
  } catch {
    // not ours
  }
  return null;
}

export function profileFromClaims(claims: Record<string, unknown>, config: RoleConfig): PortalProfile {
  const issuer = claims.iss;
  const subject = claims.sub;
  if (typeof issuer !== "string" || !issuer || typeof subject !== "string" || !subject) {
    throw new Error("the ID token has no iss or sub");
  }
  const email = typeof claims.email === "string" ? claims.email.toLowerCase() : null;
  const name = typeof claims.name === "string" ? claims.name : typeof claims.preferred_username === "string" ? claims.preferred_username : null;
  const groups = readGroups(claims, config.groupsClaim);
  const role = computeRole({ email, emailVerified: claims.email_verified === false ? false : undefined, groups }, config);
  return { id: accountKey(issuer, subject), issuer, subject, email, name, groups, role };
}
