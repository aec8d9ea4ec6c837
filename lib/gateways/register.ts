// Registration and lifecycle of gateways (the machine clients of the gateway API). Secrets are
// generated here, returned once, and stored hashed. Every change is audited.
import { appendAudit } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import type { GatewayAuthMethod, Prisma } from "@/lib/generated/prisma/client";
import { newId } from "@/lib/ids";
import { validateGatewayJwks, validateJwksUri, validateWebhookUrl } from "./keys";
import { generateGatewaySecret } from "./secret";
import { forgetGateway } from "./authenticate";
import { forgetGatewayKeySet } from "./key-sets";

export interface GatewayDraft {
  name: string;
  authMethod: GatewayAuthMethod;
  jwks?: unknown;
  jwksUri?: string;
  webhookUrl?: string;
  trustedSubject?: boolean;
}

export interface AdminActor {
  type: "admin";
  id: string;
}

const view = {
  id: true,
  name: true,
  authMethod: true,
  jwksUri: true,
  secretPrefix: true,
  webhookUrl: true,
  trustedSubject: true,
  status: true,
  createdAt: true,
  updatedAt: true,
} as const;

export type GatewayView = Prisma.GatewayGetPayload<{ select: typeof view }>;

export async function createGateway(draft: GatewayDraft, actor: AdminActor): Promise<{ gateway: GatewayView; secret: string | null }> {
  const name = draft.name.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/.test(name)) throw new AppError("invalid_request", "Gateway name: 1-64 letters, digits, space, . _ -");
  let jwks: Prisma.InputJsonValue | undefined;
  let jwksUri: string | undefined;
  let secret: ReturnType<typeof generateGatewaySecret> | undefined;
  if (draft.authMethod === "private_key_jwt") {
    if ((draft.jwks === undefined) === (draft.jwksUri === undefined)) {
      throw new AppError("invalid_request", "private_key_jwt needs exactly one of jwks or jwksUri");
    }
    if (draft.jwks !== undefined) jwks = validateGatewayJwks(draft.jwks) as unknown as Prisma.InputJsonValue;
    if (draft.jwksUri !== undefined) jwksUri = validateJwksUri(draft.jwksUri);
  } else {
    if (draft.jwks !== undefined || draft.jwksUri !== undefined) {
      throw new AppError("invalid_request", "jwks and jwksUri apply to private_key_jwt only");
    }
    secret = generateGatewaySecret();
  }
  const webhookUrl = draft.webhookUrl ? validateWebhookUrl(draft.webhookUrl) : undefined;
  const db = await getDb();
  try {
    const gateway = await db.$transaction(async (tx) => {
      const created = await tx.gateway.create({
        data: {
          id: newId("gw"),
          name,
          authMethod: draft.authMethod,
          jwks,
          jwksUri,
          webhookUrl,
          trustedSubject: draft.trustedSubject ?? false,
          secretHash: secret?.secretHash,
          secretPrefix: secret?.secretPrefix,
        },
        select: view,
      });
      await appendAudit(
        {
          actorType: "admin",
          actorId: actor.id,
          gatewayId: created.id,
          action: "admin.gateway_created",
          decision: "info",
          context: { name, authMethod: created.authMethod, trustedSubject: created.trustedSubject },
        },
        tx,
      );
      return created;
    });
    return { gateway, secret: secret?.secret ?? null };
  } catch (e) {
    if ((e as { code?: string }).code === "P2002") throw new AppError("conflict", "A gateway with this name exists");
    throw e;
  }
}

export async function listGateways(): Promise<GatewayView[]> {
  const db = await getDb();
  return db.gateway.findMany({ select: view, orderBy: { createdAt: "asc" } });
}

/** By id (gw_...) or by name. */
export async function findGateway(idOrName: string): Promise<GatewayView | null> {
  // From a URL or the command line: a NUL names nothing (and would fail the query as a 500).
  if (idOrName.includes("\0")) return null;
  const db = await getDb();
  return db.gateway.findFirst({ where: { OR: [{ id: idOrName }, { name: idOrName }] }, select: view });
}

async function requireGateway(idOrName: string): Promise<GatewayView> {
  const gateway = await findGateway(idOrName);
  if (!gateway) throw new AppError("not_found", "No such gateway");
  return gateway;
}

/** Replaces a secret gateway's secret; the old one stops working immediately. Returns the new one, once. */
export async function rotateGatewaySecret(idOrName: string, actor: AdminActor): Promise<{ gateway: GatewayView; secret: string }> {
  const gateway = await requireGateway(idOrName);
  if (gateway.authMethod === "private_key_jwt") throw new AppError("invalid_request", "This gateway authenticates with keys, not a secret");
  const secret = generateGatewaySecret();
  const db = await getDb();
  const updated = await db.$transaction(async (tx) => {
    const row = await tx.gateway.update({
      where: { id: gateway.id },
      data: { secretHash: secret.secretHash, secretPrefix: secret.secretPrefix },
      select: view,
    });
    await appendAudit(
      { actorType: "admin", actorId: actor.id, gatewayId: gateway.id, action: "admin.gateway_secret_rotated", decision: "info" },
      tx,
    );
    return row;
  });
  forgetGateway(gateway.id);
  return { gateway: updated, secret: secret.secret };
}

export async function setGatewayStatus(idOrName: string, status: "active" | "disabled", actor: AdminActor): Promise<GatewayView> {
  const gateway = await requireGateway(idOrName);
  const db = await getDb();
  const updated = await db.$transaction(async (tx) => {
    const row = await tx.gateway.update({ where: { id: gateway.id }, data: { status }, select: view });
    await appendAudit(
      {
        actorType: "admin",
        actorId: actor.id,
        gatewayId: gateway.id,
        action: status === "disabled" ? "admin.gateway_disabled" : "admin.gateway_enabled",
        decision: "info",
      },
      tx,
    );
    return row;
  });
  forgetGateway(gateway.id);
  forgetGatewayKeySet(gateway.id);
  return updated;
}

export function disableGateway(idOrName: string, actor: AdminActor): Promise<GatewayView> {
  return setGatewayStatus(idOrName, "disabled", actor);
}
