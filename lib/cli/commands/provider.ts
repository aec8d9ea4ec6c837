// `provider add|list|disable|enable|egress|refresh-grace`: register upstream services Frontdesk
// connects users to, set what the egress proxy may send to them (request rules, private
// addresses) and the provider's refresh-token reuse grace.
// The client secret is never taken on the command line (shell history, `ps`): it is read from
// a file (--client-secret-file) or standard input (--client-secret-stdin).
import { readFileSync } from "node:fs";
import { updateProvider } from "@/lib/admin/providers";
import { AppError } from "@/lib/errors";
import type { Provider } from "@/lib/generated/prisma/client";
import { createProvider, setProviderStatus } from "@/lib/providers/create";
import { listProviders } from "@/lib/providers/find";
import type { ProviderInput } from "@/lib/providers/input";
import { isPresetName, presetDefaults, presetNames } from "@/lib/providers/presets";
import { upstreamRedirectUri } from "@/lib/portal/redirect-uri";
import { defineCommand, UsageError, type CommandContext } from "../registry";

const str = (ctx: CommandContext, name: string): string | undefined => {
  const v = ctx.options[name];
  return typeof v === "string" && v.length > 0 ? v : undefined;
};

const list = (value: string | undefined): string[] | undefined =>
  value === undefined ? undefined : value.split(/[\s,]+/).filter(Boolean);

function parseAuthParams(value: string | undefined): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const pair of value.split(",").filter(Boolean)) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--auth-param expects key=value pairs, got "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function readClientSecret(ctx: CommandContext): Promise<string | undefined> {
  const file = str(ctx, "client-secret-file");
  if (file && ctx.options["client-secret-stdin"]) throw new UsageError("use either --client-secret-file or --client-secret-stdin");
  const raw = file ? readFileSync(file, "utf8") : ctx.options["client-secret-stdin"] ? await readStdin() : undefined;
  const secret = raw?.trim();
  if (raw !== undefined && !secret) throw new UsageError("the client secret is empty");
  return secret;
}

const CLI_ACTOR = { type: "admin" as const, id: "cli" };
const PRIVATE_NETWORK_WARNING = "WARNING: the egress proxy may reach this provider's API on private and loopback addresses; on-premises or development only.";

/** The request rules from a JSON file (checked against lib/egress/request-rules.ts by the provider schema). */
function readRequestRules(ctx: CommandContext): ProviderInput["requestRules"] | undefined {
  const file = str(ctx, "request-rules-file");
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new UsageError("--request-rules-file must name a readable file");
  }
  try {
    return JSON.parse(text) as ProviderInput["requestRules"];
  } catch {
    throw new UsageError("--request-rules-file: not valid JSON");
  }
}

function describe(p: Provider): string {
  const where = p.issuer ?? p.authorizationEndpoint ?? p.validationUrl ?? "";
  return `${p.slug.padEnd(16)} ${p.kind.padEnd(8)} ${p.status.padEnd(9)} ${p.displayName}${p.preset ? ` (${p.preset})` : ""}  ${where}`;
}

function summary(p: Provider) {
  return {
    id: p.id,
    slug: p.slug,
    displayName: p.displayName,
    kind: p.kind,
    preset: p.preset,
    status: p.status,
    issuer: p.issuer,
    authorizationEndpoint: p.authorizationEndpoint,
    tokenEndpoint: p.tokenEndpoint,
    revocationEndpoint: p.revocationEndpoint,
    clientId: p.clientId,
    defaultScopes: p.defaultScopes,
    resourceUrls: p.resourceUrls,
    redirectUri: p.kind === "api_key" ? null : upstreamRedirectUri(p.slug),
    allowPrivateNetwork: p.allowPrivateNetwork,
    requestRules: p.requestRules,
    refreshReuseGraceSeconds: p.refreshReuseGraceSeconds,
  };
}

/** An audited edit by the CLI; a value the provider schema refuses is a usage error. */
async function editProvider(provider: Provider, edit: Parameters<typeof updateProvider>[1]) {
  try {
    return await updateProvider(provider.id, edit, CLI_ACTOR);
  } catch (e) {
    if (e instanceof AppError && e.code === "invalid_body") throw new UsageError(e.message);
    throw e;
  }
}

/** --refresh-reuse-grace: whole seconds (the schema bounds it). */
function graceSeconds(ctx: CommandContext): number | undefined {
  const value = str(ctx, "refresh-reuse-grace");
  if (value === undefined) return undefined;
  if (!/^\d{1,6}$/.test(value)) throw new UsageError("--refresh-reuse-grace expects whole seconds, e.g. 30 (0: the provider has none)");
  return Number(value);
}

defineCommand({
  path: ["provider", "add"],
  summary: "Register a provider (OIDC, OAuth 2 or API key), optionally from a preset",
  args: { usage: "<slug>", min: 1, max: 1 },
  description:
    `Presets: ${presetNames.join(", ")} (microsoft needs --tenant). Options override preset values.\n` +
    "Register the printed redirect URI with the provider. The client secret is read from a file or stdin.",
  options: {
    preset: { type: "string", description: "start from a preset", placeholder: "name" },
    kind: { type: "string", description: "oidc | oauth2 | api_key", placeholder: "kind" },
    name: { type: "string", description: "display name shown to people", placeholder: "text" },
    issuer: { type: "string", description: "OIDC issuer (discovery)", placeholder: "url" },
    "authorization-endpoint": { type: "string", description: "oauth2: authorization endpoint", placeholder: "url" },
    "token-endpoint": { type: "string", description: "oauth2: token endpoint", placeholder: "url" },
    "revocation-endpoint": { type: "string", description: "RFC 7009 revocation endpoint", placeholder: "url" },
    "client-id": { type: "string", description: "OAuth client id", placeholder: "id" },
    "client-secret-file": { type: "string", description: "read the client secret from this file", placeholder: "path" },
    "client-secret-stdin": { type: "boolean", description: "read the client secret from standard input" },
    "token-auth": { type: "string", description: "client_secret_basic | client_secret_post | none", placeholder: "method" },
    scopes: { type: "string", description: "default scopes (comma or space separated)", placeholder: "list" },
    resource: { type: "string", description: "API base URLs (comma separated), used as token-exchange resources", placeholder: "urls" },
    "auth-param": { type: "string", description: "extra authorization parameters key=value,...", placeholder: "pairs" },
    "api-key-header": { type: "string", description: "api_key: header to inject, e.g. Authorization", placeholder: "name" },
    "api-key-prefix": { type: "string", description: "api_key: value prefix, e.g. 'Bearer '", placeholder: "text" },
    "validation-url": { type: "string", description: "api_key: URL that answers 2xx for a valid key", placeholder: "url" },
    tenant: { type: "string", description: "microsoft preset: tenant id or domain", placeholder: "tenant" },
    "allow-insecure-http": { type: "boolean", description: "DEVELOPMENT ONLY: allow http:// endpoints" },
    "cross-app-access": { type: "string", description: "ID-JAG through the enterprise IdP: off, when_advertised or always", placeholder: "mode" },
    "cross-app-fallback": { type: "string", description: "when the IdP refuses: deny (default) or consent", placeholder: "deny|consent" },
    "request-rules-file": { type: "string", description: "egress proxy: JSON request rules per scope (default: the preset's, else none)", placeholder: "path" },
    "allow-private-network": { type: "boolean", description: "egress proxy: allow private and loopback API addresses (on-premises, development)" },
    "refresh-reuse-grace": { type: "string", description: "seconds the provider still accepts a just-rotated refresh token (default 0: none)", placeholder: "seconds" },
  },
  async run(ctx) {
    const slug = ctx.args[0]!;
    const presetName = str(ctx, "preset");
    if (presetName && !isPresetName(presetName)) throw new UsageError(`unknown preset "${presetName}" (${presetNames.join(", ")})`);
    let base: Partial<ProviderInput> = {};
    if (presetName && isPresetName(presetName)) {
      try {
        base = presetDefaults(presetName, { tenant: str(ctx, "tenant") });
      } catch (e) {
        throw new UsageError(e instanceof Error ? e.message : String(e));
      }
    }
    const kind = str(ctx, "kind") ?? base.kind;
    if (kind !== "oidc" && kind !== "oauth2" && kind !== "api_key") throw new UsageError("--kind must be oidc, oauth2 or api_key (or use --preset)");
    const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
    const input = {
      ...base,
      ...defined({
        slug,
        kind,
        displayName: str(ctx, "name") ?? base.displayName ?? slug,
        issuer: str(ctx, "issuer"),
        authorizationEndpoint: str(ctx, "authorization-endpoint"),
        tokenEndpoint: str(ctx, "token-endpoint"),
        revocationEndpoint: str(ctx, "revocation-endpoint"),
        clientId: str(ctx, "client-id"),
        clientSecret: await readClientSecret(ctx),
        tokenEndpointAuth: str(ctx, "token-auth") as ProviderInput["tokenEndpointAuth"],
        defaultScopes: list(str(ctx, "scopes")),
        resourceUrls: list(str(ctx, "resource")),
        extraAuthParams: parseAuthParams(str(ctx, "auth-param")),
        apiKeyHeader: str(ctx, "api-key-header"),
        apiKeyPrefix: str(ctx, "api-key-prefix"),
        validationUrl: str(ctx, "validation-url"),
        allowInsecureHttp: ctx.options["allow-insecure-http"] === true ? true : undefined,
        crossAppAccess: str(ctx, "cross-app-access") as ProviderInput["crossAppAccess"],
        crossAppAccessFallback: str(ctx, "cross-app-fallback") as ProviderInput["crossAppAccessFallback"],
        allowPrivateNetwork: ctx.options["allow-private-network"] === true ? true : undefined,
        requestRules: readRequestRules(ctx),
        refreshReuseGraceSeconds: graceSeconds(ctx),
      }),
    } as ProviderInput;
    let provider: Provider;
    try {
      provider = await createProvider(input);
    } catch (e) {
      if (e instanceof AppError && (e.code === "invalid_body" || e.code === "conflict")) throw new UsageError(e.message);
      throw e;
    }
    const data = summary(provider);
    return {
      exitCode: 0,
      text: [`Added provider ${provider.slug} (${provider.id})`, ...(data.redirectUri ? [`Redirect URI: ${data.redirectUri}`] : [])].join("\n"),
      data,
      note:
        [
          provider.allowInsecureHttp ? "WARNING: this provider allows plain http; use it for development only." : null,
          provider.allowPrivateNetwork ? PRIVATE_NETWORK_WARNING : null,
        ]
          .filter(Boolean)
          .join("\n") || undefined,
    };
  },
});

defineCommand({
  path: ["provider", "list"],
  summary: "List providers",
  async run() {
    const providers = await listProviders();
    return {
      exitCode: 0,
      text: providers.length ? providers.map(describe).join("\n") : "No providers registered.",
      data: providers.map(summary),
    };
  },
});

for (const status of ["disabled", "active"] as const) {
  defineCommand({
    path: ["provider", status === "disabled" ? "disable" : "enable"],
    summary: status === "disabled" ? "Disable a provider (no new connections, no credentials handed out)" : "Enable a disabled provider",
    args: { usage: "<slug>", min: 1, max: 1 },
    async run(ctx) {
      let provider: Provider;
      try {
        provider = await setProviderStatus(ctx.args[0]!, status);
      } catch (e) {
        if (e instanceof AppError && e.code === "not_found") throw new UsageError(e.message);
        throw e;
      }
      return { exitCode: 0, text: `Provider ${provider.slug} is now ${provider.status}.`, data: summary(provider) };
    },
  });
}

defineCommand({
  path: ["provider", "egress"],
  summary: "Show or set what the egress proxy may send to a provider (request rules, private addresses)",
  args: { usage: "<slug>", min: 1, max: 1 },
  description:
    'The rules file holds { "<scope>" | "*": [{ "methods": [...], "paths": ["/repos/*/*", "/user/**"] }] }.\n' +
    "Without options, prints the current settings. Every change is audited (admin.provider_updated).",
  options: {
    "request-rules-file": { type: "string", description: "replace the request rules with this JSON file", placeholder: "path" },
    "clear-request-rules": { type: "boolean", description: "remove every rule (the proxy then forwards nothing)" },
    "allow-private-network": { type: "boolean", description: "allow private and loopback API addresses (on-premises, development)" },
    "deny-private-network": { type: "boolean", description: "refuse private and loopback API addresses (the default)" },
  },
  async run(ctx) {
    const provider = (await listProviders()).find((p) => p.slug === ctx.args[0]);
    if (!provider) throw new UsageError(`no provider with slug "${ctx.args[0]}"`);
    if (ctx.options["allow-private-network"] && ctx.options["deny-private-network"]) throw new UsageError("use either --allow-private-network or --deny-private-network");
    const rules = readRequestRules(ctx);
    if (rules !== undefined && ctx.options["clear-request-rules"]) throw new UsageError("use either --request-rules-file or --clear-request-rules");
    const edit: Parameters<typeof updateProvider>[1] = {};
    if (rules !== undefined) edit.requestRules = rules;
    if (ctx.options["clear-request-rules"]) edit.requestRules = {};
    if (ctx.options["allow-private-network"]) edit.allowPrivateNetwork = true;
    if (ctx.options["deny-private-network"]) edit.allowPrivateNetwork = false;
    let current = provider;
    let changed: string[] = [];
    if (Object.keys(edit).length > 0) {
      ({ provider: current, changed } = await editProvider(provider, edit));
    }
    const rulesText = JSON.stringify(current.requestRules ?? {}, null, 2);
    return {
      exitCode: 0,
      text: [
        ...(Object.keys(edit).length > 0 ? [changed.length ? `Updated ${current.slug}: ${changed.join(", ")}` : `Nothing changed for ${current.slug}`] : []),
        `Private network: ${current.allowPrivateNetwork ? "allowed" : "refused"}`,
        `Request rules: ${rulesText === "{}" ? "none (the egress proxy forwards nothing)" : rulesText}`,
      ].join("\n"),
      data: { ...summary(current), changed },
      note: current.allowPrivateNetwork ? PRIVATE_NETWORK_WARNING : undefined,
    };
  },
});

defineCommand({
  path: ["provider", "refresh-grace"],
  summary: "Show or set how long the provider still accepts a refresh token it has just rotated",
  args: { usage: "<slug>", min: 1, max: 1 },
  description:
    "The provider's refresh-token reuse grace period (Okta's grace period, Auth0's reuse interval), in seconds.\n" +
    "Within it, a refresh cut off by a crash after the provider rotated the token is redone; 0: the provider has none\n" +
    "(such a grant is lost and the user connects again). Without options, prints the current value. Audited.",
  options: {
    seconds: { type: "string", description: "set it (0 turns recovery off)", placeholder: "n" },
  },
  async run(ctx) {
    const provider = (await listProviders()).find((p) => p.slug === ctx.args[0]);
    if (!provider) throw new UsageError(`no provider with slug "${ctx.args[0]}"`);
    const value = str(ctx, "seconds");
    let current = provider;
    let changed: string[] = [];
    if (value !== undefined) {
      if (!/^\d{1,6}$/.test(value)) throw new UsageError("--seconds expects whole seconds, e.g. 30");
      ({ provider: current, changed } = await editProvider(provider, { refreshReuseGraceSeconds: Number(value) }));
    }
    const grace = current.refreshReuseGraceSeconds;
    return {
      exitCode: 0,
      text: [
        ...(value !== undefined ? [changed.length ? `Updated ${current.slug}: ${changed.join(", ")}` : `Nothing changed for ${current.slug}`] : []),
        `Refresh-token reuse grace: ${grace > 0 ? `${grace} s (interrupted refreshes are redone within it)` : "none (an interrupted refresh after rotation loses the grant)"}`,
      ].join("\n"),
      data: { ...summary(current), changed },
    };
  },
});
