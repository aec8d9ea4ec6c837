// Scopes in plain words for the consent page (issue 18): "Read your notes" rather than
// `notes:read`. Each provider keeps its own lines (presets ship them, admins edit them); the
// standard OpenID Connect scopes read the same everywhere unless a provider says otherwise.
// The raw scope name always stays visible next to its line.
import { z } from "zod";

export type ScopeDescriptions = Record<string, string>;

export const scopeDescriptionsSchema = z.record(z.string().trim().min(1).max(500), z.string().trim().min(1).max(200)).refine((r) => Object.keys(r).length <= 200, {
  message: "at most 200 scope descriptions",
});

const STANDARD: ScopeDescriptions = {
  openid: "Confirm who you are",
  email: "See your e-mail address",
  profile: "See your name and basic profile",
  offline_access: "Keep access while you are signed out (a refresh token)",
};

/** The plain-language line for `scope`, or undefined when nobody wrote one. */
export function describeScope(scope: string, descriptions: unknown): string | undefined {
  const own = scopeDescriptionsSchema.safeParse(descriptions ?? {});
  return (own.success ? own.data[scope] : undefined) ?? STANDARD[scope];
}

/** The admin form's text: one `scope = description` per line. */
export function formatScopeDescriptions(descriptions: unknown): string {
  const parsed = scopeDescriptionsSchema.safeParse(descriptions ?? {});
  return parsed.success ? Object.entries(parsed.data).map(([scope, line]) => `${scope} = ${line}`).join("\n") : "";
}

/** Parses the admin form's text; a line without `=` is an error naming the line. */
export function parseScopeDescriptions(text: string): { ok: true; value: ScopeDescriptions } | { ok: false; message: string } {
  const value: ScopeDescriptions = {};
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (!line) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) return { ok: false, message: `line ${index + 1}: write it as "scope = what it lets the agent do"` };
    value[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  const checked = scopeDescriptionsSchema.safeParse(value);
  return checked.success ? { ok: true, value: checked.data } : { ok: false, message: checked.error.issues[0]?.message ?? "invalid scope descriptions" };
}
