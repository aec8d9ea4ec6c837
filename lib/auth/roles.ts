// Role and groups from the IdP's claims, recomputed at every sign-in so that removing someone
// from the admin group (or ADMIN_EMAILS) takes effect at their next sign-in.
export interface RoleConfig {
  groupsClaim: string;
  adminGroup?: string;
  adminEmails: string[];
}

/** The groups claim as a list of strings (arrays, or a single space/comma separated string). */
export function readGroups(claims: Record<string, unknown>, groupsClaim: string): string[] {
  const value = claims[groupsClaim];
  const list = Array.isArray(value) ? value : typeof value === "string" ? value.split(/[\s,]+/) : [];
  return [...new Set(list.filter((g): g is string => typeof g === "string" && g.length > 0 && g.length <= 200))].slice(0, 200);
}

export function computeRole(user: { email?: string | null; emailVerified?: boolean; groups: string[] }, config: RoleConfig): "admin" | "user" {
  if (config.adminGroup && user.groups.includes(config.adminGroup)) return "admin";
  // An email allow-list only counts for an address the IdP says it verified (absent claim = trusted IdP).
  const email = user.email?.toLowerCase();
  if (email && user.emailVerified !== false && config.adminEmails.some((a) => a.toLowerCase() === email)) return "admin";
  return "user";
}
