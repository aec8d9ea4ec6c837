// Test-only fixture commands for the admin e2e specs, run as a child process (`tsx`) with the
// Frontdesk server's environment (lib/ singletons never leak between spec files). Setup goes
// through the same lib/ functions the dashboard and CLI use, so it is audited like real use.
// Expectations for the scale spec are computed with plain SQL, independently of lib/admin.
//   tsx tests/helpers/admin-fixtures-cli.ts <command> '<json>'
import { NOTES_SCOPE_DESCRIPTIONS } from "@/demo/upstream-provider";
import { verifyAuditChain } from "@/lib/audit/verify";
import { getDb } from "@/lib/db/client";
import { createGateway } from "@/lib/gateways/register";
import { saveGrant, type GrantCredential } from "@/lib/grants/save";
import { registerAgent } from "@/lib/agents/admin";
import { recordApproval } from "@/lib/consent/approvals";
import { createDelegation } from "@/lib/delegations/create";
import { newId } from "@/lib/ids";
import { createPolicyRule } from "@/lib/policy/rules";
import { createProvider } from "@/lib/providers/create";
import { findProviderBySlug } from "@/lib/providers/find";
import { seedScale, type ScaleSeedInput } from "./admin-seed";
import { serveFixtureCommands, type FixtureCommands, type FixtureInput } from "./fixture-process";

type Json = FixtureInput;
const SETUP_ACTOR = { type: "admin" as const, id: "e2e-setup" };

const commands: FixtureCommands = {
  async setup(input) {
    const db = await getDb();
    const up = input.upstream as { issuer: string; clientId: string; clientSecret: string; apiUrl: string };
    const notes = await createProvider(
      {
        slug: "notes",
        displayName: "Notes",
        kind: "oidc",
        issuer: up.issuer,
        clientId: up.clientId,
        clientSecret: up.clientSecret,
        defaultScopes: ["notes:read"],
        resourceUrls: [up.apiUrl],
        allowInsecureHttp: true,
        scopeDescriptions: NOTES_SCOPE_DESCRIPTIONS,
      },
      SETUP_ACTOR,
    );
    const keys = await createProvider({ slug: "keysvc", displayName: "Key Service", kind: "api_key", apiKeyHeader: "X-Api-Key" }, SETUP_ACTOR);
    const { gateway, secret } = await createGateway({ name: "agentgateway", authMethod: "client_secret_basic" }, SETUP_ACTOR);
    const ruleIds: string[] = [];
    for (const providerId of [notes.id, keys.id]) {
      ruleIds.push((await createPolicyRule({ providerId, gatewayId: gateway.id, scopes: ["notes:read", "notes:write", "keys:use"] }, SETUP_ACTOR)).id);
      ruleIds.push((await createPolicyRule({ providerId, gatewayId: null }, SETUP_ACTOR)).id);
    }
    const users: Record<string, string> = {};
    for (const [name, u] of Object.entries(input.users as Record<string, { sub: string; email: string; groups: string[] }>)) {
      const row = await db.user.upsert({
        where: { issuer_subject: { issuer: String(input.issuer), subject: u.sub } },
        create: { id: newId("usr"), issuer: String(input.issuer), subject: u.sub, email: u.email, groups: u.groups },
        update: {},
      });
      users[name] = row.id;
    }
    // One registered agent, so the agents pages have a detail page to show.
    const agent = await registerAgent({ issuer: "https://agents.e2e.test", subject: "nightly-digest", displayName: "Nightly digest", owner: "platform team" }, SETUP_ACTOR);
    return { notesId: notes.id, keysId: keys.id, gatewayId: gateway.id, gatewaySecret: secret, users, ruleIds, agentId: agent.id };
  },
  async grant(input) {
    const provider = await findProviderBySlug(String(input.provider));
    if (!provider) throw new Error("no such provider");
    const saved = await saveGrant({ userId: String(input.userId), providerId: provider.id, scopes: input.scopes as string[], credential: input.credential as GrantCredential });
    // As the consent page does for the gateway whose request created the connection (lib/consent).
    const db = await getDb();
    await db.$transaction(async (tx) => {
      for (const gatewayId of (input.approveGatewayIds as string[] | undefined) ?? []) {
        await recordApproval(tx, { grantId: saved.grantId, requester: { gatewayId, agentId: null }, approvedBy: "user", approvedById: String(input.userId) });
      }
    });
    return saved;
  },
  // The user approves a (gateway, agent) requester for one of their connections (lib/consent).
  async approve(input) {
    const db = await getDb();
    const grant = await db.grant.findFirstOrThrow({ where: { userId: String(input.userId), provider: { slug: String(input.provider) }, status: "active" }, select: { id: true } });
    await db.$transaction((tx) =>
      recordApproval(tx, { grantId: grant.id, requester: { gatewayId: String(input.gatewayId), agentId: String(input.agentId) }, approvedBy: "user", approvedById: String(input.userId) }),
    );
    return { grantId: grant.id };
  },
  // A standing delegation, as the user's connections page creates it (lib/delegations).
  async delegate(input) {
    const db = await getDb();
    const grant = await db.grant.findFirstOrThrow({ where: { userId: String(input.userId), provider: { slug: String(input.provider) }, status: "active" }, select: { id: true } });
    const d = await createDelegation({ userId: String(input.userId), grantId: grant.id, agentId: String(input.agentId), scopes: input.scopes as string[], days: Number(input.days) });
    return { delegationId: d.id };
  },
  async agent(input) {
    const db = await getDb();
    return db.agent.findUnique({ where: { id: String(input.id) }, select: { id: true, status: true, displayName: true } });
  },
  async grants() {
    const db = await getDb();
    const rows = await db.grant.findMany({ select: { id: true, userId: true, status: true, provider: { select: { slug: true } } }, orderBy: { id: "asc" } });
    return rows.map((r) => ({ id: r.id, userId: r.userId, status: r.status, provider: r.provider.slug }));
  },
  async gateway(input) {
    const db = await getDb();
    return db.gateway.findUnique({ where: { id: String(input.id) }, select: { id: true, status: true, secretPrefix: true } });
  },
  async audit(input) {
    const db = await getDb();
    const events = await db.auditEvent.findMany({
      where: input.action ? { action: String(input.action) } : undefined,
      orderBy: { seq: "asc" },
      select: { seq: true, action: true, decision: true, reason: true, actorType: true, actorId: true, userId: true, gatewayId: true, providerId: true, context: true },
    });
    const chain = await verifyAuditChain();
    return { events, chainOk: chain.ok };
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
  async seed(input) {
    return seedScale(input as unknown as ScaleSeedInput);
  },
  // Expected audit results by plain SQL: total and the seqs of the first two pages (newest first).
  async expectAudit(input) {
    const db = await getDb();
    const where: string[] = [];
    const args: unknown[] = [];
    for (const [col, key] of [["userId", "userId"], ["gatewayId", "gatewayId"], ["providerId", "providerId"], ["action", "action"]] as const) {
      if (input[key]) {
        args.push(String(input[key]));
        where.push(`"${col}" = $${args.length}`);
      }
    }
    if (input.decision) {
      args.push(String(input.decision));
      where.push(`decision::text = $${args.length}`);
    }
    if (input.from) {
      args.push(String(input.from));
      where.push(`at >= $${args.length}::timestamp`);
    }
    if (input.to) {
      args.push(String(input.to));
      where.push(`at < $${args.length}::timestamp`);
    }
    const clause = where.length ? `WHERE ${where.join(" AND ")}` : "";
    const [row] = await db.$queryRawUnsafe<{ count: bigint }[]>(`SELECT count(*) AS count FROM "AuditEvent" ${clause}`, ...args);
    const count = row?.count ?? 0n;
    const seqs = await db.$queryRawUnsafe<{ seq: bigint }[]>(`SELECT seq FROM "AuditEvent" ${clause} ORDER BY seq DESC LIMIT 100`, ...args);
    return { count: Number(count), seqs: seqs.map((s) => s.seq.toString()) };
  },
  // Expected grant page by plain SQL (same order as the dashboard: newest first, then id).
  async expectGrants(input) {
    const db = await getDb();
    const providerId = String(input.providerId);
    const status = String(input.status);
    const offset = Number(input.offset);
    const limit = Number(input.limit);
    const [row] = await db.$queryRawUnsafe<{ count: bigint }[]>(
      `SELECT count(*) AS count FROM "Grant" WHERE "providerId" = $1 AND status::text = $2`,
      providerId,
      status,
    );
    const count = row?.count ?? 0n;
    const ids = await db.$queryRawUnsafe<{ id: string }[]>(
      `SELECT id FROM "Grant" WHERE "providerId" = $1 AND status::text = $2 ORDER BY "createdAt" DESC, id ASC OFFSET $3 LIMIT $4`,
      providerId,
      status,
      offset,
      limit,
    );
    return { count: Number(count), ids: ids.map((r) => r.id) };
  },
  async chain() {
    const result = await verifyAuditChain();
    return { ok: result.ok, count: result.count };
  },
};

serveFixtureCommands(commands);
