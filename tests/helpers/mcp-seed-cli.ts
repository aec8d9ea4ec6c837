// Demo fixtures for the MCP e2e specs, run in a child process with a Frontdesk environment so
// lib/ singletons (env, database, keyring) never leak into the Playwright worker. Prints one JSON line.
//   tsx tests/helpers/mcp-seed-cli.ts seed '<json SeedDemoInput>'   the demo seed (demo/seed.ts)
//   tsx tests/helpers/mcp-seed-cli.ts credential '{"subject":"alice"}'   a user's stored Notes tokens,
//     decrypted, so a test knows the raw upstream secrets it must never find in MCP traffic
//   tsx tests/helpers/mcp-seed-cli.ts audit '{"action":"request_state.retry"}'   decision and reason of those audit rows
import { getDb } from "@/lib/db/client";
import { openAccessToken, openRefreshToken, SEALED_GRANT_SELECT } from "@/lib/grants/sealed";
import { findProviderBySlug } from "@/lib/providers/find";
import { DEMO_PROVIDER_SLUG } from "@/demo/ports";
import { seedDemo, type SeedDemoInput } from "@/demo/seed";
import { serveFixtureCommands, type FixtureCommands, type FixtureInput } from "./fixture-process";

const commands: FixtureCommands = {
  seed: (input) => seedDemo(input as unknown as SeedDemoInput),
  async credential(input) {
    const db = await getDb();
    const provider = await findProviderBySlug(DEMO_PROVIDER_SLUG);
    const user = await db.user.findFirst({ where: { subject: String(input.subject) }, select: { id: true } });
    if (!provider || !user) return null;
    const grant = await db.grant.findUnique({ where: { userId_providerId: { userId: user.id, providerId: provider.id } }, select: SEALED_GRANT_SELECT });
    if (!grant) return null;
    return { status: grant.status, accessToken: await openAccessToken(grant), refreshToken: await openRefreshToken(grant) };
  },
  async audit(input) {
    const db = await getDb();
    const rows = await db.auditEvent.findMany({ where: { action: String(input.action) }, orderBy: { seq: "asc" }, select: { decision: true, reason: true } });
    return rows;
  },
};

serveFixtureCommands(commands);
