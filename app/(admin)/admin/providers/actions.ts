"use server";
// Provider actions: create from a preset or generic, edit, enable/disable, test discovery.
// Client secrets are write-only: accepted here, sealed by lib/providers, never sent back.
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { checkbox, jsonText, listField, optionalText, scopeDescriptionsField, seconds } from "@/lib/admin/form-fields";
import { adminAction } from "@/lib/admin/guard";
import { createProviderFromPreset, setProviderStatusById, testIssuerDiscovery, testProviderDiscovery, updateProvider } from "@/lib/admin/providers";
import { requestRulesSchema } from "@/lib/egress/request-rules";
import { AppError } from "@/lib/errors";
import { createProvider } from "@/lib/providers/create";

const id = z.string().min(1).max(128);

export const createPresetProviderAction = adminAction(
  "providers.create_preset",
  z.object({
    preset: z.string().min(1).max(40),
    slug: z.string().min(1).max(63),
    displayName: optionalText(100),
    clientId: optionalText(500),
    clientSecret: optionalText(2000),
    tenant: optionalText(100),
  }),
  async (input, { actor }) => {
    const p = await createProviderFromPreset(input, actor);
    revalidatePath("/admin/providers");
    return { message: `Provider ${p.displayName} (${p.slug}) created from the ${input.preset} preset. Add policy rules to let gateways use it.` };
  },
);

const endpointFields = {
  issuer: optionalText(2048),
  authorizationEndpoint: optionalText(2048),
  tokenEndpoint: optionalText(2048),
  revocationEndpoint: optionalText(2048),
  clientId: optionalText(500),
  clientSecret: optionalText(2000),
  tokenEndpointAuth: z.enum(["client_secret_basic", "client_secret_post", "none"]),
  defaultScopes: listField(500, 100),
  resourceUrls: listField(2048, 50),
  apiKeyHeader: optionalText(100),
  apiKeyPrefix: optionalText(50),
  validationUrl: optionalText(2048),
  allowInsecureHttp: checkbox,
  scopeDescriptions: scopeDescriptionsField,
  crossAppAccess: z.enum(["off", "when_advertised", "always"]),
  crossAppAccessFallback: z.enum(["deny", "consent"]),
  allowPrivateNetwork: checkbox,
  requestRules: jsonText(64 * 1024, requestRulesSchema),
  refreshReuseGraceSeconds: seconds(86_400),
};

/** Said after every save that leaves the egress proxy able to reach private addresses. */
const PRIVATE_NETWORK_WARNING = "Warning: the egress proxy may reach this provider's API on private and loopback addresses (on-premises or development only).";

export const createGenericProviderAction = adminAction(
  "providers.create",
  z.object({ slug: z.string().min(1).max(63), displayName: z.string().min(1).max(100), kind: z.enum(["oidc", "oauth2", "api_key"]), ...endpointFields }),
  async (input, { actor }) => {
    const p = await createProvider(input, actor);
    revalidatePath("/admin/providers");
    return { message: `Provider ${p.displayName} (${p.slug}) created.${p.allowPrivateNetwork ? ` ${PRIVATE_NETWORK_WARNING}` : ""}` };
  },
);

export const updateProviderAction = adminAction(
  "providers.update",
  z.object({ providerId: id, displayName: z.string().min(1).max(100), ...endpointFields }),
  async ({ providerId, ...edit }, { actor }) => {
    const { changed, provider } = await updateProvider(providerId, edit, actor);
    revalidatePath("/admin/providers", "layout");
    const warning = provider.allowPrivateNetwork ? ` ${PRIVATE_NETWORK_WARNING}` : "";
    return { message: `${changed.length ? `Saved: ${changed.join(", ")} changed.` : "Nothing changed."}${warning}` };
  },
);

export const setProviderStatusAction = adminAction(
  "providers.set_status",
  z.object({ providerId: id, status: z.enum(["active", "disabled"]) }),
  async ({ providerId, status }, { actor }) => {
    const provider = await setProviderStatusById(providerId, status, actor);
    revalidatePath("/admin/providers", "layout");
    return { message: status === "disabled" ? `${provider.displayName} disabled: resolves for it now fail and no new connections start.` : `${provider.displayName} enabled.` };
  },
);

export const testDiscoveryAction = adminAction(
  "providers.test_discovery",
  z.object({ providerId: optionalText(128), issuer: optionalText(2048) }),
  async ({ providerId, issuer }) => {
    if (!providerId && !issuer) throw new AppError("invalid_body", "issuer: enter an issuer URL");
    const r = providerId ? await testProviderDiscovery(providerId) : await testIssuerDiscovery(issuer!);
    return {
      message: `Discovery OK for ${r.issuer}: authorization ${r.authorizationEndpoint ?? "missing"}, token ${r.tokenEndpoint ?? "missing"}, revocation ${r.revocationEndpoint ?? "not offered"}, PKCE ${r.pkceMethods.join("/") || "not advertised"}.`,
    };
  },
);
