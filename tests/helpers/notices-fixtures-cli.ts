// Fixtures for the out-of-band e2e spec (tests/e2e/out-of-band.spec.ts), run in a child process
// with the Frontdesk server's environment (see fixture-process.ts). Prints one JSON line.
//   seed '<SeedDemoInput>'          the demo seed, plus a gateway named "agentgateway" allowed Notes
//   evidence '{"subject":"alice"}'  every outbox row (as its full row text, for leak checks, and
//                                   parsed) and that user's stored Notes tokens, decrypted (the raw
//                                   secrets the test must find nowhere else)
import { getDb } from "@/lib/db/client";
import { openAccessToken, openRefreshToken, SEALED_GRANT_SELECT } from "@/lib/grants/sealed";
import { createGateway } from "@/lib/gateways/register";
import { createPolicyRule } from "@/lib/policy/rules";
import { DEMO_NOTES_SCOPES, DEMO_PROVIDER_SLUG } from "@/demo/ports";
import { seedDemo, type SeedDemoInput } from "@/demo/seed";
import { serveFixtureCommands, type FixtureCommands } from "./fixture-process";

const AGENTGATEWAY_NAME = "agentgateway";

const commands: FixtureCommands = {
  async seed(input) {
    const seeded = await seedDemo(input as unknown as SeedDemoInput);
    const admin = { type: "admin" as const, id: "e2e" };
    const { gateway, secret } = await createGateway({ name: AGENTGATEWAY_NAME, authMethod: "client_secret_basic" }, admin);
    await createPolicyRule({ providerId: seeded.providerId, gatewayId: gateway.id, scopes: DEMO_NOTES_SCOPES }, admin);
    return { providerId: seeded.providerId, gatewayId: gateway.id, gatewaySecret: secret };
  },
  async evidence(input) {
    const db = await getDb();
    const outbox = await db.$queryRawUnsafe<{ row: string; kind: string; payload: unknown; deliveredAt: Date | null; lastError: string | null }[]>(
      `SELECT t::text AS row, kind, payload, "deliveredAt", "lastError" FROM "OutboxEvent" t ORDER BY "createdAt"`,
    );
    const grant = await db.grant.findFirst({ where: { user: { subject: String(input.subject) }, provider: { slug: DEMO_PROVIDER_SLUG } }, select: SEALED_GRANT_SELECT });
    const credential = grant ? { accessToken: await openAccessToken(grant), refreshToken: await openRefreshToken(grant) } : null;
    return { outbox, credential };
  },
};

serveFixtureCommands(commands);
