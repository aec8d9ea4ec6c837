// Provider administration beyond creation (lib/providers/create.ts creates and enables/disables):
// creating from a preset, editing with the same strict validation as creation, and testing an
// OIDC issuer's discovery. Client secrets are write-only: an edit replaces the secret only when
// a new one is typed, and no function here ever returns one.
import * as client from "openid-client";
import { appendAudit } from "@/lib/audit/append";
import { canonicalJson } from "@/lib/audit/hash";
import { getDb } from "@/lib/db/client";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import type { Prisma, Provider } from "@/lib/generated/prisma/client";
import { forgetProviders } from "@/lib/gateway-api/providers";
import { createProvider, setProviderStatus } from "@/lib/providers/create";
import { findProviderById } from "@/lib/providers/find";
import { log } from "@/lib/log";
import { providerInputSchema, type ParsedProviderInput, type ProviderInput } from "@/lib/providers/input";
import { isPresetName, presetDefaults } from "@/lib/providers/presets";
import { sealClientSecret } from "@/lib/providers/secret";
import type { AdminActor } from "./access";

export interface PresetProviderDraft {
  preset: string;
  slug: string;
  clientId?: string;
  clientSecret?: string;
  /** Microsoft only. */
  tenant?: string;
  displayName?: string;
}

export async function createProviderFromPreset(draft: PresetProviderDraft, actor: AdminActor): Promise<Provider> {
  if (!isPresetName(draft.preset)) throw new AppError("invalid_body", `unknown preset "${draft.preset}"`);
  let defaults;
  try {
    defaults = presetDefaults(draft.preset, { tenant: draft.tenant });
  } catch (e) {
    throw new AppError("invalid_body", e instanceof Error ? e.message : "invalid preset options");
  }
  return createProvider(
    {
      ...defaults,
      ...(draft.displayName ? { displayName: draft.displayName } : {}),
      slug: draft.slug,
      clientId: draft.clientId,
      clientSecret: draft.clientSecret,
    },
    actor,
  );
}

/** Fields an admin may change. `slug` and `kind` are identity (URLs, grants) and stay fixed. */
export type ProviderEdit = Partial<Omit<ProviderInput, "slug" | "kind" | "preset">>;

const SECRET_PLACEHOLDER = "(unchanged)";

function currentInput(p: Provider): ProviderInput {
  const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);
  return {
    slug: p.slug,
    displayName: p.displayName,
    kind: p.kind,
    preset: opt(p.preset),
    issuer: opt(p.issuer),
    authorizationEndpoint: opt(p.authorizationEndpoint),
    tokenEndpoint: opt(p.tokenEndpoint),
    revocationEndpoint: opt(p.revocationEndpoint),
    clientId: opt(p.clientId),
    tokenEndpointAuth: p.tokenEndpointAuth as ProviderInput["tokenEndpointAuth"],
    defaultScopes: p.defaultScopes,
    scopeSeparator: p.scopeSeparator,
    extraAuthParams: (p.extraAuthParams ?? {}) as Record<string, string>,
    resourceUrls: p.resourceUrls,
    apiKeyHeader: opt(p.apiKeyHeader),
    apiKeyPrefix: opt(p.apiKeyPrefix),
    validationUrl: opt(p.validationUrl),
    allowInsecureHttp: p.allowInsecureHttp,
    scopeDescriptions: (p.scopeDescriptions ?? {}) as Record<string, string>,
    crossAppAccess: p.crossAppAccess,
    crossAppAccessFallback: p.crossAppAccessFallback,
    allowPrivateNetwork: p.allowPrivateNetwork,
    requestRules: (p.requestRules ?? {}) as ProviderInput["requestRules"],
    refreshReuseGraceSeconds: p.refreshReuseGraceSeconds,
  };
}

/**
 * Applies an edit. The merged provider is validated exactly like a new one; a stored secret
 * counts as present without being read. Returns the names of the changed fields (audited).
 */
export async function updateProvider(providerId: string, edit: ProviderEdit, actor: AdminActor): Promise<{ provider: Provider; changed: string[] }> {
  const db = await getDb();
  const existing = await db.provider.findUnique({ where: { id: providerId }, omit: { clientSecretCipher: false } });
  if (!existing) throw new AppError("not_found", "No such provider");
  const hasSecret = existing.clientSecretCipher !== null;
  const { clientSecret, ...fields } = edit;
  const merged: ProviderInput = { ...currentInput(existing as Provider), ...fields };
  const parsed = providerInputSchema.safeParse({ ...merged, clientSecret: clientSecret ?? (hasSecret ? SECRET_PLACEHOLDER : undefined) });
  if (!parsed.success) {
    throw new AppError("invalid_body", parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  }
  const { clientSecret: _secret, slug: _slug, kind: _kind, preset: _preset, ...next } = parsed.data as ParsedProviderInput;
  const before = currentInput(existing as Provider) as Record<string, unknown>;
  // Canonical: jsonb columns (requestRules, extraAuthParams) come back with their keys reordered.
  const changed = Object.keys(fields).filter((k) => canonicalJson(before[k]) !== canonicalJson((next as Record<string, unknown>)[k]));
  if (clientSecret) changed.push("clientSecret");
  if (changed.length === 0) return { provider: existing as Provider, changed };
  const sealed = clientSecret ? await sealClientSecret(providerId, clientSecret) : null;
  // Absent optional fields become null, so clearing a field in the form clears it in the row.
  const data: Prisma.ProviderUpdateInput = {
    displayName: next.displayName,
    issuer: next.issuer ?? null,
    authorizationEndpoint: next.authorizationEndpoint ?? null,
    tokenEndpoint: next.tokenEndpoint ?? null,
    revocationEndpoint: next.revocationEndpoint ?? null,
    clientId: next.clientId ?? null,
    tokenEndpointAuth: next.tokenEndpointAuth,
    defaultScopes: next.defaultScopes,
    scopeSeparator: next.scopeSeparator,
    extraAuthParams: next.extraAuthParams,
    resourceUrls: next.resourceUrls,
    apiKeyHeader: next.apiKeyHeader ?? null,
    apiKeyPrefix: next.apiKeyPrefix ?? null,
    validationUrl: next.validationUrl ?? null,
    allowInsecureHttp: next.allowInsecureHttp,
    scopeDescriptions: next.scopeDescriptions,
    crossAppAccess: next.crossAppAccess,
    crossAppAccessFallback: next.crossAppAccessFallback,
    allowPrivateNetwork: next.allowPrivateNetwork,
    requestRules: next.requestRules,
    refreshReuseGraceSeconds: next.refreshReuseGraceSeconds,
    ...(sealed ?? {}),
  };
  const provider = await db.$transaction(async (tx) => {
    const updated = await tx.provider.update({ where: { id: providerId }, data });
    await appendAudit(
      { actorType: "admin", actorId: actor.id, providerId, action: "admin.provider_updated", decision: "info", context: { changed } },
      tx,
    );
    return updated;
  });
  forgetProviders();
  if (changed.includes("allowPrivateNetwork") && next.allowPrivateNetwork) {
    log.warn("provider's API may be reached on private addresses through the egress proxy", { providerId, slug: existing.slug });
  }
  return { provider: provider as Provider, changed };
}

/** Disable or enable by id; the gateway API's provider caches drop it at once (this process). */
export async function setProviderStatusById(providerId: string, status: "active" | "disabled", actor: AdminActor): Promise<Provider> {
  const provider = await findProviderById(providerId);
  if (!provider) throw new AppError("not_found", "No such provider");
  const updated = await setProviderStatus(provider.slug, status, actor);
  forgetProviders();
  return updated;
}

export interface DiscoveryReport {
  issuer: string;
  authorizationEndpoint: string | null;
  tokenEndpoint: string | null;
  revocationEndpoint: string | null;
  pkceMethods: string[];
  scopesSupported: string[];
}

function insecureAllowed(issuer: URL, providerAllows: boolean): boolean {
  if (providerAllows) return true;
  return env().FRONTDESK_INSECURE_HTTP_ISSUERS.some((i) => {
    try {
      return new URL(i).origin === issuer.origin;
    } catch {
      return false;
    }
  });
}

/** Fetches and validates an issuer's discovery document (openid-client checks the issuer matches). */
export async function testIssuerDiscovery(issuerUrl: string, opts: { allowInsecureHttp?: boolean } = {}): Promise<DiscoveryReport> {
  let issuer: URL;
  try {
    issuer = new URL(issuerUrl);
  } catch {
    throw new AppError("invalid_body", "issuer is not a URL");
  }
  if (issuer.protocol !== "https:" && !(issuer.protocol === "http:" && insecureAllowed(issuer, opts.allowInsecureHttp ?? false))) {
    throw new AppError("invalid_body", "issuer must use https");
  }
  let config: client.Configuration;
  try {
    config = await client.discovery(issuer, "frontdesk-discovery-test", undefined, client.None(), {
      execute: issuer.protocol === "http:" ? [client.allowInsecureRequests] : [],
      timeout: 10,
    });
  } catch (e) {
    const why = e instanceof Error ? e.message.slice(0, 200) : "unknown error";
    throw new AppError("upstream_unavailable", `Discovery failed: ${why}`);
  }
  const m = config.serverMetadata();
  return {
    issuer: m.issuer,
    authorizationEndpoint: m.authorization_endpoint ?? null,
    tokenEndpoint: m.token_endpoint ?? null,
    revocationEndpoint: m.revocation_endpoint ?? null,
    pkceMethods: m.code_challenge_methods_supported ?? [],
    scopesSupported: (m.scopes_supported ?? []).slice(0, 30),
  };
}

export async function testProviderDiscovery(providerId: string): Promise<DiscoveryReport> {
  const provider = await findProviderById(providerId);
  if (!provider) throw new AppError("not_found", "No such provider");
  if (provider.kind !== "oidc" || !provider.issuer) throw new AppError("invalid_request", "Discovery applies to OIDC providers with an issuer");
  return testIssuerDiscovery(provider.issuer, { allowInsecureHttp: provider.allowInsecureHttp });
}
