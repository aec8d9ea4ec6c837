// `policy allow|list|remove`: allow rules (anything not allowed is denied).
//  - with --gateway: what that gateway may request for the provider (scopes, optionally only
//    for some users/groups);
//  - without: which users/groups may connect the provider at all (empty = everyone).
// A request needs both a gateway rule and a user rule covering its scopes.
import { AppError } from "@/lib/errors";
import { findGateway } from "@/lib/gateways/register";
import { createPolicyRule, deletePolicyRule, listPolicyRules } from "@/lib/policy/rules";
import { findProviderBySlug } from "@/lib/providers/find";
import { defineCommand, UsageError, type CommandContext } from "../registry";

const CLI_ACTOR = { type: "admin" as const, id: "cli" };

const str = (ctx: CommandContext, name: string): string | undefined => {
  const v = ctx.options[name];
  return typeof v === "string" && v.length > 0 ? v : undefined;
};
const list = (value: string | undefined): string[] => (value ?? "").split(/[\s,]+/).filter(Boolean);

defineCommand({
  path: ["policy", "allow"],
  summary: "Add an allow rule for a provider (for a gateway with --gateway, else for users)",
  args: { usage: "<provider-slug>", min: 1, max: 1 },
  options: {
    gateway: { type: "string", description: "gateway id or name (a gateway rule)", placeholder: "gateway" },
    scopes: { type: "string", description: "allowed scopes, comma separated (default: any)", placeholder: "list" },
    users: { type: "string", description: "user ids, subjects or emails (default: everyone)", placeholder: "list" },
    groups: { type: "string", description: "IdP groups (default: everyone)", placeholder: "list" },
    description: { type: "string", description: "why this rule exists", placeholder: "text" },
  },
  async run(ctx) {
    const provider = await findProviderBySlug(ctx.args[0]!);
    if (!provider) throw new UsageError(`no provider "${ctx.args[0]}"`);
    const gatewayName = str(ctx, "gateway");
    const gateway = gatewayName ? await findGateway(gatewayName) : null;
    if (gatewayName && !gateway) throw new UsageError(`no gateway "${gatewayName}"`);
    const rule = await createPolicyRule(
      {
        providerId: provider.id,
        gatewayId: gateway?.id ?? null,
        scopes: list(str(ctx, "scopes")),
        users: list(str(ctx, "users")),
        groups: list(str(ctx, "groups")),
        description: str(ctx, "description"),
      },
      CLI_ACTOR,
    );
    const who = rule.users.length || rule.groups.length ? `users [${rule.users.join(", ")}] groups [${rule.groups.join(", ")}]` : "everyone";
    return {
      exitCode: 0,
      text: `Added ${rule.id}: ${gateway ? `gateway ${gateway.name}` : "users"} may use ${provider.slug} scopes [${rule.scopes.join(", ")}] for ${who}`,
      data: rule,
    };
  },
});

defineCommand({
  path: ["policy", "list"],
  summary: "List policy rules",
  async run() {
    const rules = await listPolicyRules();
    const text = rules
      .map((r) => `${r.id}  provider ${r.providerId}  ${r.gatewayId ? `gateway ${r.gatewayId}` : "users"}  scopes [${r.scopes.join(", ")}]  users [${r.users.join(", ")}]  groups [${r.groups.join(", ")}]${r.enabled ? "" : "  (disabled)"}`)
      .join("\n");
    return { exitCode: 0, text: text || "No policy rules (everything is denied).", data: rules };
  },
});

defineCommand({
  path: ["policy", "remove"],
  summary: "Remove a policy rule",
  args: { usage: "<rule-id>", min: 1, max: 1 },
  async run(ctx) {
    try {
      await deletePolicyRule(ctx.args[0]!, CLI_ACTOR);
    } catch (e) {
      if (e instanceof AppError && e.code === "not_found") throw new UsageError(e.message);
      throw e;
    }
    return { exitCode: 0, text: `Removed ${ctx.args[0]}.`, data: { id: ctx.args[0] } };
  },
});
