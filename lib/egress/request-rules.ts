// Request rules: which upstream requests a caller may send through the egress proxy (or have
// authorized by ext_authz), by the scopes it asked for. Most providers cannot down-scope a token
// (a GitHub `repo` token can also delete), so Frontdesk does: a provider declares, per scope,
// the methods and path patterns that scope allows, and a request passes only if one of the
// requested scopes (or the catch-all key "*") allows its method and path.
//
// Shape (the Provider.requestRules JSON column):
//   { "notes:read": [{ "methods": ["GET", "HEAD"], "paths": ["/notes", "/notes/*"] }], ... }
// Paths are relative to the provider's API base. A pattern is `/`-separated segments: a literal
// segment matches itself exactly (compared as sent, percent-encoding included), `*` matches one
// non-empty segment, and a final `**` matches any number of further segments (zero included).
// The pattern that matched is also the request's path template in the audit log, so query values
// and identifiers in paths never reach it.
import { z } from "zod";

export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

const LITERAL_SEGMENT = /^[A-Za-z0-9._~!$&'()+,;=:@%-]+$/;

const pathPatternSchema = z
  .string()
  .max(500)
  .refine((p) => {
    if (p === "/") return true;
    if (!p.startsWith("/")) return false;
    const segments = p.slice(1).split("/");
    return segments.every((s, i) => s === "*" || (s === "**" && i === segments.length - 1) || (LITERAL_SEGMENT.test(s) && s !== "." && s !== ".."));
  }, "a path pattern is /-separated literal segments, `*` (one segment) or a final `**` (any rest)");

export const requestRuleSchema = z
  .object({
    methods: z.array(z.enum(HTTP_METHODS)).min(1).max(HTTP_METHODS.length),
    paths: z.array(pathPatternSchema).min(1).max(100),
  })
  .strict();

/** Scope (or "*": whatever the caller asked for) -> the requests it allows. */
export const requestRulesSchema = z.record(z.string().min(1).max(500), z.array(requestRuleSchema).max(50));

export type RequestRule = z.infer<typeof requestRuleSchema>;
export type RequestRules = z.infer<typeof requestRulesSchema>;

export type RuleDecision = { allowed: true; template: string; scope: string } | { allowed: false; template: string };

function matches(pattern: string, segments: string[]): boolean {
  const want = pattern === "/" ? [] : pattern.slice(1).split("/");
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    if (w === "**") return true;
    const got = segments[i];
    if (got === undefined) return false;
    if (w === "*" ? got === "" : w !== got) return false;
  }
  return segments.length === want.length;
}

/**
 * A template for a request no rule allowed: the first segment, the rest as `*`. Enough for an
 * admin to see what was tried without recording identifiers or values.
 */
export function redactedTemplate(path: string): string {
  const segments = path === "/" ? [] : path.slice(1).split("/");
  if (segments.length === 0) return "/";
  const first = LITERAL_SEGMENT.test(segments[0]!) && segments[0]!.length <= 40 ? segments[0] : "*";
  return `/${[first, ...segments.slice(1).map(() => "*")].join("/")}`;
}

/** Parses a stored rules value; a malformed one allows nothing (fail closed) and says why. */
export function parseRequestRules(value: unknown): { rules: RequestRules; problem: string | null } {
  const parsed = requestRulesSchema.safeParse(value ?? {});
  if (parsed.success) return { rules: parsed.data, problem: null };
  const issue = parsed.error.issues[0];
  return { rules: {}, problem: `${issue?.path.join(".") || "rules"}: ${issue?.message ?? "invalid"}` };
}

/**
 * Whether `method` + `path` (relative to the API base, starting with "/") is allowed by one of
 * `scopes` or by the catch-all key. `path` must already be normalized (lib/egress/target.ts).
 */
export function checkRequestRules(rules: RequestRules, scopes: readonly string[], method: string, path: string): RuleDecision {
  const segments = path === "/" ? [] : path.slice(1).split("/");
  for (const scope of [...scopes, "*"]) {
    for (const rule of rules[scope] ?? []) {
      if (!(rule.methods as readonly string[]).includes(method)) continue;
      const hit = rule.paths.find((p) => matches(p, segments));
      if (hit) return { allowed: true, template: hit, scope };
    }
  }
  return { allowed: false, template: redactedTemplate(path) };
}
