// Fixtures for the out-of-band e2e spec (tests/e2e/out-of-band.spec.ts), run in a child process
// with the Frontdesk server's environment (see fixture-process.ts). Prints one JSON line.
//   seed '<SeedDemoInput>'          the demo seed, plus a gateway named "agentgateway" allowed Notes
//   pending '{"subject":"bob"}'     that user's elicitations (id, status), newest first
//   outbox '{}'                     every outbox row, each as its full row text (leak checks) and parsed
import { getDb } from "@/lib/db/client";
import { createGateway } from "@/lib/gateways/register";
import { createPolicyRule } from "@/lib/policy/rules";
import { DEMO_NOTES_SCOPES } from "@/demo/ports";
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
  async pending(input) {
    const db = await getDb();
    return db.elicitation.findMany({ where: { userSubject: String(input.subject) }, orderBy: { createdAt: "desc" }, select: { id: true, status: true } });
  },
  async outbox() {
    const db = await getDb();
    return db.$queryRawUnsafe<{ row: string; kind: string; payload: unknown; deliveredAt: Date | null; lastError: string | null }[]>(
      `SELECT t::text AS row, kind, payload, "deliveredAt", "lastError" FROM "OutboxEvent" t ORDER BY "createdAt"`,
    );
  },
};

serveFixtureCommands(commands);
