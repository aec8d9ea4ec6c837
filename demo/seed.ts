// Registers what the demo needs in Frontdesk, idempotently, through the same lib/ functions the
// admin CLI and dashboard use (so every change is audited): the Notes provider, the reference
// egress gateway (a fresh client secret at every start, since the secret is shown only once and
// the demo keeps none on disk), and the two policy rules resolve needs (which gateway may ask
// for which Notes scopes, and who may connect Notes); and Team Notes, the same kind of server
// reached by cross-app access (`when_advertised`: its metadata advertises the ID-JAG grant profile,
// so Frontdesk asks the demo IdP instead of showing a consent page; the IdP's refusal is a denial).
// Import it only after process.env holds the Frontdesk configuration (lib/env parses it once).
import { getDb } from "@/lib/db/client";
import { createGateway, findGateway, rotateGatewaySecret } from "@/lib/gateways/register";
import { revokeGrant } from "@/lib/grants/revoke";
import { createPolicyRule, listPolicyRules } from "@/lib/policy/rules";
import { createProvider } from "@/lib/providers/create";
import { findProviderBySlug } from "@/lib/providers/find";
import { DEMO_GATEWAY_NAME, DEMO_NOTES_SCOPES, DEMO_PROVIDER_SLUG, DEMO_TEAM_NOTES_SLUG } from "./ports";
import { NOTES_REQUEST_RULES, NOTES_SCOPE_DESCRIPTIONS, UPSTREAM_SCOPES } from "./upstream-provider";

const ACTOR = { type: "admin", id: "demo-setup" } as const;

interface UpstreamInput {
  issuer: string;
  apiUrl: string;
  clientId: string;
  clientSecret: string;
}

export interface SeedDemoInput {
  notes: UpstreamInput;
  /** Team Notes: a Notes server that redeems the demo IdP's ID-JAGs (cross-app access). */
  teamNotes?: UpstreamInput;
  /** Where Frontdesk POSTs signed elicitation webhooks for the gateway (set at creation only). */
  gatewayWebhookUrl?: string;
  /**
   * The demo Notes server keeps its tokens in memory, so connections stored by a previous run
   * point at tokens it no longer knows: revoke them so users are asked to connect again.
   */
  revokeStaleGrants?: boolean;
}

export interface SeedDemoResult {
  providerId: string;
  teamNotesProviderId: string | null;
  gatewayId: string;
  gatewaySecret: string;
  revokedGrants: number;
  warnings: string[];
}

export async function seedDemo(input: SeedDemoInput): Promise<SeedDemoResult> {
  const warnings: string[] = [];
  let provider = await findProviderBySlug(DEMO_PROVIDER_SLUG);
  if (!provider) {
    provider = await createProvider(
      {
        slug: DEMO_PROVIDER_SLUG,
        displayName: "Notes",
        kind: "oidc",
        issuer: input.notes.issuer,
        clientId: input.notes.clientId,
        clientSecret: input.notes.clientSecret,
        defaultScopes: DEMO_NOTES_SCOPES,
        resourceUrls: [input.notes.apiUrl],
        // The demo upstream runs on http://localhost; allowed for this provider only, and logged.
        allowInsecureHttp: true,
        // ... which is a loopback address: the egress proxy may reach it for this provider only.
        allowPrivateNetwork: true,
        requestRules: NOTES_REQUEST_RULES,
        scopeDescriptions: NOTES_SCOPE_DESCRIPTIONS,
      },
      ACTOR,
    );
  } else if (
    !provider.allowPrivateNetwork ||
    JSON.stringify(provider.requestRules) !== JSON.stringify(NOTES_REQUEST_RULES) ||
    JSON.stringify(provider.scopeDescriptions) === "{}"
  ) {
    // A data folder from an earlier version: give its Notes provider what the proxy and the consent page need.
    const db = await getDb();
    await db.provider.update({
      where: { id: provider.id },
      data: { allowPrivateNetwork: true, requestRules: NOTES_REQUEST_RULES, scopeDescriptions: NOTES_SCOPE_DESCRIPTIONS },
    });
  }
  if (provider.issuer !== input.notes.issuer) {
    warnings.push(
      `The Notes provider in this data folder points at ${provider.issuer}, not ${input.notes.issuer}: ` +
        "start the demo with the same FRONTDESK_DEMO_BASE_PORT as before, or use a fresh FRONTDESK_DATA_DIR.",
    );
  }

  const existing = await findGateway(DEMO_GATEWAY_NAME);
  const { gateway, secret } = existing
    ? await rotateGatewaySecret(existing.id, ACTOR)
    : await createGateway(
        { name: DEMO_GATEWAY_NAME, authMethod: "client_secret_basic", ...(input.gatewayWebhookUrl ? { webhookUrl: input.gatewayWebhookUrl } : {}) },
        ACTOR,
      );
  if (!secret) throw new Error("the demo gateway has no client secret");

  await ensureRules(provider.id, gateway.id, "Notes");

  let teamNotesProviderId: string | null = null;
  if (input.teamNotes) {
    const t = input.teamNotes;
    const existingTeam = await findProviderBySlug(DEMO_TEAM_NOTES_SLUG);
    const team =
      existingTeam ??
      (await createProvider(
        {
          slug: DEMO_TEAM_NOTES_SLUG,
          displayName: "Team Notes",
          kind: "oidc",
          issuer: t.issuer,
          clientId: t.clientId,
          clientSecret: t.clientSecret,
          defaultScopes: DEMO_NOTES_SCOPES,
          resourceUrls: [t.apiUrl],
          allowInsecureHttp: true,
          allowPrivateNetwork: true,
          requestRules: NOTES_REQUEST_RULES,
          scopeDescriptions: NOTES_SCOPE_DESCRIPTIONS,
          // Its metadata lists the ID-JAG grant profile: the IdP's policy replaces the consent page.
          crossAppAccess: "when_advertised",
          crossAppAccessFallback: "deny",
        },
        ACTOR,
      ));
    if (team.issuer !== t.issuer) warnings.push(`The Team Notes provider in this data folder points at ${team.issuer}, not ${t.issuer}.`);
    await ensureRules(team.id, gateway.id, "Team Notes");
    teamNotesProviderId = team.id;
  }

  let revokedGrants = 0;
  if (input.revokeStaleGrants) {
    const db = await getDb();
    const providerIds = [provider.id, ...(teamNotesProviderId ? [teamNotesProviderId] : [])];
    const stale = await db.grant.findMany({ where: { providerId: { in: providerIds }, status: { not: "revoked" } }, select: { id: true } });
    for (const g of stale) {
      await revokeGrant(g.id, ACTOR);
      revokedGrants++;
    }
  }
  return { providerId: provider.id, teamNotesProviderId, gatewayId: gateway.id, gatewaySecret: secret, revokedGrants, warnings };
}

/** The two rules resolve needs: the gateway may ask for reading, and everyone may connect. */
async function ensureRules(providerId: string, gatewayId: string, name: string): Promise<void> {
  const rules = await listPolicyRules({ providerId });
  if (!rules.some((r) => r.gatewayId === gatewayId)) {
    await createPolicyRule({ providerId, gatewayId, scopes: DEMO_NOTES_SCOPES, description: `Demo: the egress gateway may read ${name}` }, ACTOR);
  }
  if (!rules.some((r) => r.gatewayId === null)) {
    await createPolicyRule({ providerId, gatewayId: null, scopes: UPSTREAM_SCOPES, description: `Demo: everyone may connect ${name}` }, ACTOR);
  }
}
