// Test-only fixture commands for the portal e2e specs, run as a child process (`tsx`) with the
// Frontdesk server's environment, so lib/ singletons (env, database, keyring) never leak
// between spec files sharing one Playwright worker. Prints one JSON line.
//   tsx tests/e2e/portal-fixtures-cli.ts <command> '<json>'
import { NOTES_SCOPE_DESCRIPTIONS } from "@/demo/upstream-provider";
import { openGrantCredential, openRefreshToken, SEALED_GRANT_SELECT } from "@/lib/grants/sealed";
import { verifyAuditChain } from "@/lib/audit/verify";
import { getDb } from "@/lib/db/client";
import { createElicitation } from "@/lib/elicitations/create";
import { createProvider } from "@/lib/providers/create";
import { findProviderBySlug } from "@/lib/providers/find";
import { newId } from "@/lib/ids";
import { serveFixtureCommands, type FixtureCommands, type FixtureInput } from "../helpers/fixture-process";

type Json = FixtureInput;

const commands: FixtureCommands = {
  // A gateway and the two providers the portal specs use (the upstream over OAuth, a key service).
  async setup(input) {
    const db = await getDb();
    const gateway = await db.gateway.create({
      data: { id: newId("gw"), name: String(input.gatewayName), authMethod: "client_secret_basic" },
    });
    const notes = await createProvider({
      slug: String(input.slug),
      displayName: "Notes",
      kind: "oidc",
      issuer: String(input.issuer),
      clientId: String(input.clientId),
      clientSecret: String(input.clientSecret),
      tokenEndpointAuth: "client_secret_basic",
      allowInsecureHttp: true,
      resourceUrls: [String(input.apiUrl)],
      scopeDescriptions: NOTES_SCOPE_DESCRIPTIONS,
    });
    const keys = await createProvider({ slug: "keysvc", displayName: "Key Service", kind: "api_key", apiKeyHeader: "X-Api-Key" });
    return { gatewayId: gateway.id, notesId: notes.id, keysId: keys.id };
  },
  async elicit(input) {
    const provider = await findProviderBySlug(String(input.provider));
    if (!provider) throw new Error("no such provider");
    const created = await createElicitation({
      userIssuer: String(input.issuer),
      userSubject: String(input.subject),
      gatewayId: String(input.gatewayId),
      providerId: provider.id,
      scopes: (input.scopes as string[]) ?? [],
      context: { agentId: "research-agent", mcpServer: "notes-mcp", toolName: "list_notes" },
    });
    if (input.expired) {
      const db = await getDb();
      await db.elicitation.update({ where: { id: created.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    }
    return created;
  },
  async status(input) {
    const db = await getDb();
    const e = await db.elicitation.findUnique({ where: { id: String(input.id) }, select: { status: true, failureReason: true } });
    return e;
  },
  // The stored credential, decrypted: lets a test know the raw token so it can look for leaks.
  async credential(input) {
    const db = await getDb();
    const user = await db.user.findFirst({ where: { subject: String(input.subject) } });
    const provider = await findProviderBySlug(String(input.provider));
    if (!user || !provider) return null;
    const grant = await db.grant.findUnique({
      where: { userId_providerId: { userId: user.id, providerId: provider.id } },
      select: SEALED_GRANT_SELECT,
    });
    if (!grant) return null;
    const open = grant.status === "revoked" ? null : { ...(await openGrantCredential(grant)), refreshToken: await openRefreshToken(grant) };
    return { status: grant.status, scopes: grant.scopes, credential: open };
  },
  async user(input) {
    const db = await getDb();
    const user = await db.user.findFirst({ where: { subject: String(input.subject) }, select: { id: true, issuer: true, subject: true, role: true, groups: true, email: true } });
    const sessions = user ? await db.session.findMany({ where: { userId: user.id }, select: { userAgent: true, createdAt: true, lastSeenAt: true } }) : [];
    return user ? { ...user, sessions: sessions.length, userAgents: sessions.map((s) => s.userAgent) } : null;
  },
  async grantCount() {
    const db = await getDb();
    return { count: await db.grant.count() };
  },
  // Every row of every table as text, for "this secret appears nowhere in the database".
  async dump() {
    const db = await getDb();
    const tables = await db.$queryRawUnsafe<{ table_name: string }[]>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
    );
    let text = "";
    for (const { table_name } of tables) {
      const rows = await db.$queryRawUnsafe<{ row: string }[]>(`SELECT row_to_json(t)::text AS row FROM "${table_name.replace(/"/g, "")}" t`);
      text += rows.map((r) => r.row).join("\n") + "\n";
    }
    return { text };
  },
  async audit() {
    const db = await getDb();
    const events = await db.auditEvent.findMany({ orderBy: { seq: "asc" }, select: { action: true, decision: true, reason: true, userId: true, context: true } });
    const chain = await verifyAuditChain();
    return { events, chainOk: chain.ok };
  },
};

serveFixtureCommands(commands);
