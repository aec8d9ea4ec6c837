// `agent list|register|rename|disable|enable` and `gateway actor-issuers`: the agents that act
// for users (identified by verified actor tokens), and which workload issuers a gateway may
// present actor tokens from (besides ACTOR_TOKEN_ISSUERS). Every change is audited.
import { readFileSync } from "node:fs";
import { listAgents, registerAgent, setAgentStatus, updateAgent, type AgentView } from "@/lib/agents/admin";
import { updateGatewaySettings } from "@/lib/admin/gateways";
import { AppError } from "@/lib/errors";
import { findGateway } from "@/lib/gateways/register";
import { defineCommand, UsageError, type CommandContext } from "../registry";

const CLI_ACTOR = { type: "admin" as const, id: "cli" };

const str = (ctx: CommandContext, name: string): string | undefined => {
  const v = ctx.options[name];
  return typeof v === "string" && v.length > 0 ? v : undefined;
};

function describe(a: AgentView): string {
  const seen = a.lastSeenAt ? `last seen ${a.lastSeenAt.toISOString()}` : "never seen";
  return `${a.id}  ${a.displayName.padEnd(24)} ${a.status.padEnd(9)} ${a.issuer}  ${a.subject}  (${seen})`;
}

async function mapErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof AppError && ["invalid_request", "conflict", "not_found"].includes(e.code)) throw new UsageError(e.message);
    throw e;
  }
}

defineCommand({
  path: ["agent", "list"],
  summary: "List agents (seen or pre-registered)",
  async run() {
    const agents = await listAgents();
    return { exitCode: 0, text: agents.length ? agents.map(describe).join("\n") : "No agents yet.", data: agents };
  },
});

defineCommand({
  path: ["agent", "register"],
  summary: "Pre-register an agent by the issuer and subject of its actor tokens",
  args: { usage: "<issuer> <subject>", min: 2, max: 2 },
  description: "For a SPIFFE JWT-SVID without `iss`, the issuer is spiffe://<trust domain>.",
  options: {
    name: { type: "string", description: "display name", placeholder: "text" },
    owner: { type: "string", description: "who answers for the agent", placeholder: "text" },
    description: { type: "string", description: "what the agent does", placeholder: "text" },
  },
  async run(ctx) {
    const agent = await mapErrors(() =>
      registerAgent({ issuer: ctx.args[0]!, subject: ctx.args[1]!, displayName: str(ctx, "name"), owner: str(ctx, "owner"), description: str(ctx, "description") }, CLI_ACTOR),
    );
    return { exitCode: 0, text: `Registered agent ${agent.displayName}\nid: ${agent.id}`, data: agent };
  },
});

defineCommand({
  path: ["agent", "rename"],
  summary: "Change an agent's display name",
  args: { usage: "<id-or-subject> <name>", min: 2, max: 2 },
  async run(ctx) {
    const agent = await mapErrors(() => updateAgent(ctx.args[0]!, { displayName: ctx.args[1]! }, CLI_ACTOR));
    return { exitCode: 0, text: `Renamed ${agent.id} to ${agent.displayName}`, data: agent };
  },
});

for (const status of ["disabled", "active"] as const) {
  defineCommand({
    path: ["agent", status === "disabled" ? "disable" : "enable"],
    summary: status === "disabled" ? "Disable an agent (refused on its next call, on every instance)" : "Enable a disabled agent",
    args: { usage: "<id-or-subject>", min: 1, max: 1 },
    async run(ctx) {
      const agent = await mapErrors(() => setAgentStatus(ctx.args[0]!, status, CLI_ACTOR));
      return { exitCode: 0, text: `${agent.displayName} is ${agent.status}`, data: agent };
    },
  });
}

defineCommand({
  path: ["gateway", "actor-issuers"],
  summary: "Set the workload issuers whose actor tokens a gateway may present",
  args: { usage: "<gateway-id-or-name>", min: 1, max: 1 },
  description: 'The file holds a JSON array of { "issuer" | "trustDomain", "jwksUri" | "jwks", "audiences"? }; [] clears it.',
  options: { file: { type: "string", description: "JSON file with the list", placeholder: "path" } },
  async run(ctx) {
    const file = str(ctx, "file");
    if (!file) throw new UsageError("--file is required");
    let list: unknown;
    try {
      list = JSON.parse(readFileSync(file, "utf8"));
    } catch {
      throw new UsageError("--file must name a readable JSON file");
    }
    const gateway = await findGateway(ctx.args[0]!);
    if (!gateway) throw new UsageError("No such gateway");
    await mapErrors(() => updateGatewaySettings(gateway.id, { actorIssuers: list }, CLI_ACTOR));
    return { exitCode: 0, text: `Set ${Array.isArray(list) ? list.length : 0} actor issuer(s) for ${gateway.name}`, data: { gatewayId: gateway.id, actorIssuers: list } };
  },
});
