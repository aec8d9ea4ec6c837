// Gateway settings an admin changes after registration (lib/gateways/register.ts registers,
// rotates secrets and disables): webhook URL, trusted-subject flag, registered keys. Validated
// with the registration's own validators; audited; the cached key set is dropped at once.
import { forgetGatewayActorIssuers, validateActorIssuers } from "@/lib/agents/issuers";
import { appendAudit } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import { Prisma } from "@/lib/generated/prisma/client";
import { forgetGateway } from "@/lib/gateways/authenticate";
import { forgetGatewayKeySet } from "@/lib/gateways/key-sets";
import { validateGatewayJwks, validateJwksUri, validateWebhookUrl } from "@/lib/gateways/keys";
import { findGateway, type GatewayView } from "@/lib/gateways/register";
import type { AdminActor } from "./access";

export interface GatewaySettingsEdit {
  /** null clears the webhook. */
  webhookUrl?: string | null;
  trustedSubject?: boolean;
  /** private_key_jwt gateways: replace the keys with a pasted JWKS or a JWKS URI (exactly one). */
  jwks?: unknown;
  jwksUri?: string;
  /** Workload issuers whose actor tokens this gateway may present (lib/agents/issuer-config.ts). */
  actorIssuers?: unknown;
}

export async function updateGatewaySettings(gatewayId: string, edit: GatewaySettingsEdit, actor: AdminActor): Promise<GatewayView> {
  const gateway = await findGateway(gatewayId);
  if (!gateway || gateway.id !== gatewayId) throw new AppError("not_found", "No such gateway");
  const data: Prisma.GatewayUpdateInput = {};
  const changed: string[] = [];
  if (edit.webhookUrl !== undefined) {
    const next = edit.webhookUrl ? validateWebhookUrl(edit.webhookUrl) : null;
    if (next !== gateway.webhookUrl) {
      data.webhookUrl = next;
      changed.push("webhookUrl");
    }
  }
  if (edit.trustedSubject !== undefined && edit.trustedSubject !== gateway.trustedSubject) {
    data.trustedSubject = edit.trustedSubject;
    changed.push("trustedSubject");
  }
  if (edit.jwks !== undefined || edit.jwksUri !== undefined) {
    if (gateway.authMethod !== "private_key_jwt") throw new AppError("invalid_request", "Keys apply to private_key_jwt gateways only");
    if (edit.jwks !== undefined && edit.jwksUri !== undefined) throw new AppError("invalid_request", "Give a JWKS or a JWKS URI, not both");
    if (edit.jwks !== undefined) {
      data.jwks = validateGatewayJwks(edit.jwks) as unknown as Prisma.InputJsonValue;
      data.jwksUri = null;
    } else {
      data.jwksUri = validateJwksUri(edit.jwksUri!);
      data.jwks = Prisma.DbNull;
    }
    changed.push("keys");
  }
  if (edit.actorIssuers !== undefined) {
    data.actorIssuers = validateActorIssuers(edit.actorIssuers) as unknown as Prisma.InputJsonValue;
    changed.push("actorIssuers");
  }
  if (changed.length === 0) return gateway;
  const db = await getDb();
  const updated = await db.$transaction(async (tx) => {
    const row = await tx.gateway.update({
      where: { id: gateway.id },
      data,
      select: { id: true, name: true, authMethod: true, jwksUri: true, secretPrefix: true, webhookUrl: true, trustedSubject: true, status: true, createdAt: true, updatedAt: true },
    });
    await appendAudit(
      {
        actorType: "admin",
        actorId: actor.id,
        gatewayId: gateway.id,
        action: "admin.gateway_updated",
        decision: "info",
        context: { changed, trustedSubject: row.trustedSubject },
      },
      tx,
    );
    return row;
  });
  forgetGatewayKeySet(gateway.id);
  forgetGateway(gateway.id);
  forgetGatewayActorIssuers();
  return updated;
}
