// Fixture commands for portal-delegation.spec.ts, run as a child process with the Frontdesk
// server's environment (see tests/helpers/fixture-process.ts). Prints one JSON line.
//   tsx tests/e2e/delegation-fixtures-cli.ts <command> '<json>'
import { registerAgent } from "@/lib/agents/admin";
import { flushAudit } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { openGrantCredential, SEALED_GRANT_SELECT } from "@/lib/grants/sealed";
import { createGateway } from "@/lib/gateways/register";
import { createPolicyRule } from "@/lib/policy/rules";
import { createProvider } from "@/lib/providers/create";
import { serveFixtureCommands, type FixtureCommands } from "../helpers/fixture-process";

const admin = { type: "admin" as const, id: "e2e" };

const commands: FixtureCommands = {
  // The upstream as provider `notes`, one gateway (with a secret, shown once), policy letting it
  // ask for Notes for everyone, and two pre-registered agents of the SPIFFE trust domain.
  async setup(input) {
    const notes = await createProvider({
      slug: String(input.slug),
      displayName: "Notes",
      kind: "oidc",
      issuer: String(input.issuer),
      clientId: String(input.clientId),
      clientSecret: String(input.clientSecret),
      tokenEndpointAuth: "client_secret_basic",
      allowInsecureHttp: true,
      defaultScopes: ["notes:read"],
      resourceUrls: [String(input.apiUrl)],
    });
    const { gateway, secret } = await createGateway({ name: String(input.gatewayName), authMethod: "client_secret_basic" }, admin);
    await createPolicyRule({ providerId: notes.id, gatewayId: gateway.id, scopes: ["notes:read", "notes:write"] }, admin);
    await createPolicyRule({ providerId: notes.id, gatewayId: null }, admin);
    const trustDomain = String(input.trustDomain);
    const agents: Record<string, string> = {};
    for (const [path, displayName] of Object.entries(input.agents as Record<string, string>)) {
      const agent = await registerAgent({ issuer: `spiffe://${trustDomain}`, subject: `spiffe://${trustDomain}${path}`, displayName }, admin);
      agents[path] = agent.id;
    }
    return { gatewayId: gateway.id, gatewaySecret: secret, agents };
  },
  // The decisions the agent's calls produced, oldest first (no secrets: the audit holds none).
  async decisions() {
    await flushAudit();
    const db = await getDb();
    return db.auditEvent.findMany({
      where: { action: { in: ["token_exchange", "resolve", "delegation.created", "delegation.revoked", "consent.requester_withdrawn"] } },
      orderBy: { seq: "asc" },
      select: { action: true, decision: true, reason: true, userId: true, agentId: true, context: true },
    });
  },
  // Moves a delegation's expiry (the refusal after expiry without waiting days); returns the old one.
  async setDelegationExpiry(input) {
    const db = await getDb();
    const before = await db.delegation.findUniqueOrThrow({ where: { id: String(input.id) }, select: { expiresAt: true } });
    await db.delegation.update({ where: { id: String(input.id) }, data: { expiresAt: new Date(String(input.expiresAt)) } });
    return { expiresAt: before.expiresAt.toISOString() };
  },
  // alice's stored Notes access token, decrypted: what the agent must (and must no longer) get.
  async notesToken(input) {
    const db = await getDb();
    const user = await db.user.findFirstOrThrow({ where: { subject: String(input.subject) } });
    const grant = await db.grant.findFirstOrThrow({ where: { userId: user.id }, select: SEALED_GRANT_SELECT });
    const open = await openGrantCredential(grant);
    return { accessToken: open.kind === "oauth" ? open.accessToken : null };
  },
};

serveFixtureCommands(commands);
