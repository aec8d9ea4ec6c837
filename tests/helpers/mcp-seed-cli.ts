// Demo fixtures for the MCP e2e specs, run in a child process with a Frontdesk environment so
// lib/ singletons (env, database, keyring) never leak into the Playwright worker. Prints one JSON line.
//   tsx tests/helpers/mcp-seed-cli.ts seed '<json SeedDemoInput>'   the demo seed (demo/seed.ts)
//   tsx tests/helpers/mcp-seed-cli.ts credential '{"subject":"alice"}'   a user's stored Notes tokens,
//     decrypted, so a test knows the raw upstream secrets it must never find in MCP traffic
import { closeDb, getDb } from "@/lib/db/client";
import { openAccessToken, openRefreshToken, SEALED_GRANT_SELECT } from "@/lib/grants/sealed";
import { findProviderBySlug } from "@/lib/providers/find";
import { DEMO_PROVIDER_SLUG } from "@/demo/ports";
import { seedDemo, type SeedDemoInput } from "@/demo/seed";

const commands: Record<string, (input: Record<string, unknown>) => Promise<unknown>> = {
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
};

async function main() {
  const [name, raw] = process.argv.slice(2);
  const command = name ? commands[name] : undefined;
  if (!command) throw new Error(`unknown command ${name}`);
  process.stdout.write(`${JSON.stringify(await command(JSON.parse(raw ?? "{}") as Record<string, unknown>))}\n`);
}

main()
  .catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  })
  .finally(() => closeDb());
