// Which provider a request is for: `resource` (an upstream API URL registered on a provider,
// longest-prefix match) and/or `audience` (a provider slug). Everything named must point at the
// same active provider.
import { AppError } from "@/lib/errors";
import type { Provider } from "@/lib/generated/prisma/client";
import { findProviderBySlugCached as findProviderBySlug, findProviderForResourceCached as findProviderForResource } from "./providers";

function targetError(message: string): AppError {
  return new AppError("not_found", message, { oauthError: "invalid_target" });
}

function isHttpUrl(value: string): boolean {
  // Without a colon there is no scheme and the URL parser would throw: an audience that is a
  // provider slug (the usual case) costs no exception.
  if (!value.includes(":")) return false;
  try {
    const u = new URL(value);
    return (u.protocol === "https:" || u.protocol === "http:") && !u.hash;
  } catch {
    return false;
  }
}

export async function findTargetProvider(input: { resources: string[]; audiences: string[] }): Promise<Provider> {
  if (input.resources.length === 0 && input.audiences.length === 0) {
    throw new AppError("invalid_request", "resource or audience is required");
  }
  const found: Provider[] = [];
  for (const resource of input.resources) {
    if (!isHttpUrl(resource)) throw new AppError("invalid_request", "resource must be an absolute http(s) URL without a fragment");
    const p = await findProviderForResource(resource);
    if (!p) throw targetError("No provider is registered for this resource");
    found.push(p);
  }
  for (const audience of input.audiences) {
    // Gateways configured with a URL as audience mean the resource.
    const p = isHttpUrl(audience) ? await findProviderForResource(audience) : await findProviderBySlug(audience);
    if (!p) throw targetError("No provider matches this audience");
    found.push(p);
  }
  const first = found[0]!;
  if (found.some((p) => p.id !== first.id)) throw targetError("resource and audience name different providers");
  if (first.status !== "active") throw targetError("This provider is disabled");
  return first;
}

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,256}$/;

/** RFC 6749 3.3 scope syntax, at most 50 scopes. */
export function parseScopes(values: string[]): string[] {
  if (values.length > 50) throw new AppError("invalid_request", "Too many scopes", { oauthError: "invalid_scope" });
  for (const s of values) {
    if (!SCOPE_TOKEN.test(s)) throw new AppError("invalid_request", "Malformed scope", { oauthError: "invalid_scope" });
  }
  return [...new Set(values)];
}
