// Registering and changing providers. The client secret is sealed before it reaches the database.
import { appendAudit } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import type { Provider } from "@/lib/generated/prisma/client";
import { newId } from "@/lib/ids";
import { log } from "@/lib/log";
import { providerInputSchema, type ProviderInput } from "./input";
import { sealClientSecret } from "./secret";

export async function createProvider(input: ProviderInput, actor: { type: "admin" | "system"; id?: string } = { type: "system" }): Promise<Provider> {
  const parsed = providerInputSchema.safeParse(input);
  if (!parsed.success) {
    throw new AppError("invalid_body", `invalid provider: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  const { clientSecret, ...fields } = parsed.data;
  const id = newId("prv");
  const sealed = clientSecret ? await sealClientSecret(id, clientSecret) : null;
  const db = await getDb();
  const existing = await db.provider.findUnique({ where: { slug: fields.slug }, select: { id: true } });
  if (existing) throw new AppError("conflict", `a provider with slug "${fields.slug}" already exists`);
  const provider = await db.$transaction(async (tx) => {
    const created = await tx.provider.create({ data: { id, ...fields, ...(sealed ?? {}) } });
    await appendAudit(
      {
        actorType: actor.type,
        actorId: actor.id ?? null,
        providerId: id,
        action: "admin.provider_created",
        decision: "info",
        context: { slug: fields.slug, kind: fields.kind, preset: fields.preset ?? null },
      },
      tx,
    );
    return created;
  });
  if (fields.allowInsecureHttp) {
    log.warn("provider allows plain http (development only)", { providerId: id, slug: fields.slug });
  }
  if (fields.allowPrivateNetwork) {
    log.warn("provider's API may be reached on private addresses through the egress proxy", { providerId: id, slug: fields.slug });
  }
  return provider as Provider;
}

export async function setProviderStatus(
  slug: string,
  status: "active" | "disabled",
  actor: { type: "admin" | "system"; id?: string } = { type: "system" },
): Promise<Provider> {
  const db = await getDb();
  return db.$transaction(async (tx) => {
    const found = await tx.provider.findUnique({ where: { slug }, select: { id: true } });
    if (!found) throw new AppError("not_found", `no provider with slug "${slug}"`);
    const updated = await tx.provider.update({ where: { id: found.id }, data: { status } });
    await appendAudit(
      {
        actorType: actor.type,
        actorId: actor.id ?? null,
        providerId: found.id,
        action: status === "disabled" ? "admin.provider_disabled" : "admin.provider_enabled",
        decision: "info",
      },
      tx,
    );
    return updated as Provider;
  });
}
