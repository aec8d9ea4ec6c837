"use server";
// Gateway actions: register (JWKS pasted or URI, or a generated secret shown once), rotate the
// secret (shown once), disable/enable, settings (webhook, trusted subject, keys), and what the
// gateway may request (policy rules naming it).
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { checkbox, listField, optionalText } from "@/lib/admin/form-fields";
import { updateGatewaySettings } from "@/lib/admin/gateways";
import { adminAction } from "@/lib/admin/guard";
import { validatePolicyDraft } from "@/lib/admin/policy";
import { AppError } from "@/lib/errors";
import { createGateway, rotateGatewaySecret, setGatewayStatus } from "@/lib/gateways/register";
import { createPolicyRule, deletePolicyRule } from "@/lib/policy/rules";

const id = z.string().min(1).max(128);

function parseJwks(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError("invalid_body", "jwks: not valid JSON");
  }
}

export const createGatewayAction = adminAction(
  "gateways.create",
  z.object({
    name: z.string().min(1).max(64),
    authMethod: z.enum(["client_secret_basic", "client_secret_post", "private_key_jwt"]),
    jwks: optionalText(64_000),
    jwksUri: optionalText(2048),
    webhookUrl: optionalText(2048),
    trustedSubject: checkbox,
  }),
  async (input, { actor }) => {
    const { gateway, secret } = await createGateway(
      {
        name: input.name,
        authMethod: input.authMethod,
        jwks: input.authMethod === "private_key_jwt" && input.jwks ? parseJwks(input.jwks) : undefined,
        jwksUri: input.authMethod === "private_key_jwt" ? input.jwksUri : undefined,
        webhookUrl: input.webhookUrl,
        trustedSubject: input.trustedSubject,
      },
      actor,
    );
    revalidatePath("/admin/gateways");
    return {
      message: `Gateway ${gateway.name} registered. Client id: ${gateway.id}. Allow it providers and scopes on its page.`,
      ...(secret ? { secret } : {}),
    };
  },
);

export const rotateGatewaySecretAction = adminAction("gateways.rotate_secret", z.object({ gatewayId: id }), async ({ gatewayId }, { actor }) => {
  const { gateway, secret } = await rotateGatewaySecret(gatewayId, actor);
  revalidatePath("/admin/gateways", "layout");
  return { message: `New secret for ${gateway.name}; the old one stopped working.`, secret };
});

export const setGatewayStatusAction = adminAction(
  "gateways.set_status",
  z.object({ gatewayId: id, status: z.enum(["active", "disabled"]) }),
  async ({ gatewayId, status }, { actor }) => {
    const gateway = await setGatewayStatus(gatewayId, status, actor);
    revalidatePath("/admin/gateways", "layout");
    return { message: status === "disabled" ? `${gateway.name} disabled: its next call fails with invalid_client.` : `${gateway.name} enabled.` };
  },
);

export const updateGatewaySettingsAction = adminAction(
  "gateways.update",
  z.object({ gatewayId: id, webhookUrl: optionalText(2048), trustedSubject: checkbox, jwks: optionalText(64_000), jwksUri: optionalText(2048) }),
  async ({ gatewayId, webhookUrl, trustedSubject, jwks, jwksUri }, { actor }) => {
    const gateway = await updateGatewaySettings(
      gatewayId,
      { webhookUrl: webhookUrl ?? null, trustedSubject, ...(jwks ? { jwks: parseJwks(jwks) } : {}), ...(jwksUri ? { jwksUri } : {}) },
      actor,
    );
    revalidatePath("/admin/gateways", "layout");
    return { message: `Saved ${gateway.name}.${gateway.trustedSubject ? " Warning: this gateway may assert any user without a subject token." : ""}` };
  },
);

export const allowGatewayProviderAction = adminAction(
  "gateways.allow_provider",
  z.object({ gatewayId: id, providerId: id, scopes: listField(256, 100), description: optionalText(500) }),
  async ({ gatewayId, providerId, scopes, description }, { actor }) => {
    const draft = await validatePolicyDraft({ providerId, gatewayId, scopes, users: [], groups: [], description: description ?? "" });
    await createPolicyRule(draft, actor);
    revalidatePath("/admin/gateways", "layout");
    return { message: `Allowed scopes ${draft.scopes.join(" ")}.` };
  },
);

export const removeGatewayRuleAction = adminAction("gateways.remove_rule", z.object({ ruleId: id }), async ({ ruleId }, { actor }) => {
  await deletePolicyRule(ruleId, actor);
  revalidatePath("/admin/gateways", "layout");
  return { message: "Rule removed: the gateway can no longer request those scopes." };
});
