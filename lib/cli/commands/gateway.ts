// `gateway add|list|rotate-secret|disable|enable`: register the gateways that call the gateway
// API. A generated client secret is printed exactly once (stdout, so it can be piped into a
// secret store); Frontdesk keeps only its hash.
import { readFileSync } from "node:fs";
import { AppError } from "@/lib/errors";
import {
  createGateway,
  listGateways,
  rotateGatewaySecret,
  setGatewayStatus,
  type GatewayView,
} from "@/lib/gateways/register";
import { tokenEndpointUrl } from "@/lib/gateways/urls";
import { defineCommand, UsageError, type CommandContext } from "../registry";

const CLI_ACTOR = { type: "admin" as const, id: "cli" };

const str = (ctx: CommandContext, name: string): string | undefined => {
  const v = ctx.options[name];
  return typeof v === "string" && v.length > 0 ? v : undefined;
};

function describe(g: GatewayView): string {
  const auth = g.authMethod === "private_key_jwt" ? (g.jwksUri ? `jwks ${g.jwksUri}` : "jwks (inline)") : `secret ${g.secretPrefix ?? ""}…`;
  return `${g.id}  ${g.name.padEnd(20)} ${g.authMethod.padEnd(19)} ${g.status.padEnd(9)} ${auth}${g.trustedSubject ? "  TRUSTED-SUBJECT" : ""}`;
}

function summary(g: GatewayView) {
  return {
    id: g.id,
    name: g.name,
    authMethod: g.authMethod,
    status: g.status,
    jwksUri: g.jwksUri,
    secretPrefix: g.secretPrefix,
    webhookUrl: g.webhookUrl,
    trustedSubject: g.trustedSubject,
  };
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
  path: ["gateway", "add"],
  summary: "Register a gateway (prints its client id, and a client secret once)",
  args: { usage: "<name>", min: 1, max: 1 },
  description:
    "--auth is client_secret_basic (default), client_secret_post or private_key_jwt (with --jwks-file or --jwks-uri).\n" +
    "--trusted-subject lets the gateway name users without a subject token: every use is audited; grant it sparingly.",
  options: {
    auth: { type: "string", description: "client_secret_basic | client_secret_post | private_key_jwt", placeholder: "method" },
    "jwks-file": { type: "string", description: "private_key_jwt: file with the gateway's public JWKS", placeholder: "path" },
    "jwks-uri": { type: "string", description: "private_key_jwt: URL of the gateway's public JWKS", placeholder: "url" },
    webhook: { type: "string", description: "URL that receives signed elicitation-settled webhooks", placeholder: "url" },
    "trusted-subject": { type: "boolean", description: "allow naming the subject directly (audited)" },
  },
  async run(ctx) {
    const auth = str(ctx, "auth") ?? "client_secret_basic";
    if (auth !== "client_secret_basic" && auth !== "client_secret_post" && auth !== "private_key_jwt") {
      throw new UsageError("--auth must be client_secret_basic, client_secret_post or private_key_jwt");
    }
    let jwks: unknown;
    const jwksFile = str(ctx, "jwks-file");
    if (jwksFile) {
      try {
        jwks = JSON.parse(readFileSync(jwksFile, "utf8"));
      } catch {
        throw new UsageError("--jwks-file must name a readable JSON file");
      }
    }
    const { gateway, secret } = await mapErrors(() =>
      createGateway(
        {
          name: ctx.args[0]!,
          authMethod: auth,
          jwks,
          jwksUri: str(ctx, "jwks-uri"),
          webhookUrl: str(ctx, "webhook"),
          trustedSubject: ctx.options["trusted-subject"] === true,
        },
        CLI_ACTOR,
      ),
    );
    const lines = [`Added gateway ${gateway.name}`, `client_id: ${gateway.id}`, `token endpoint: ${tokenEndpointUrl()}`];
    if (secret) lines.push(`client_secret: ${secret}`);
    return {
      exitCode: 0,
      text: lines.join("\n"),
      data: { ...summary(gateway), clientId: gateway.id, clientSecret: secret },
      note: [
        secret ? "The client secret is shown only now; store it in the gateway's secret store." : undefined,
        gateway.trustedSubject ? "WARNING: this gateway may name subjects without a token (trusted subject)." : undefined,
      ]
        .filter(Boolean)
        .join("\n") || undefined,
    };
  },
});

defineCommand({
  path: ["gateway", "list"],
  summary: "List gateways",
  async run() {
    const gateways = await listGateways();
    return { exitCode: 0, text: gateways.length ? gateways.map(describe).join("\n") : "No gateways registered.", data: gateways.map(summary) };
  },
});

defineCommand({
  path: ["gateway", "rotate-secret"],
  summary: "Replace a gateway's client secret (the old one stops working at once)",
  args: { usage: "<id-or-name>", min: 1, max: 1 },
  async run(ctx) {
    const { gateway, secret } = await mapErrors(() => rotateGatewaySecret(ctx.args[0]!, CLI_ACTOR));
    return {
      exitCode: 0,
      text: `client_id: ${gateway.id}\nclient_secret: ${secret}`,
      data: { ...summary(gateway), clientId: gateway.id, clientSecret: secret },
      note: "The new client secret is shown only now.",
    };
  },
});

for (const status of ["disabled", "active"] as const) {
  defineCommand({
    path: ["gateway", status === "disabled" ? "disable" : "enable"],
    summary: status === "disabled" ? "Disable a gateway (every call fails authentication)" : "Enable a disabled gateway",
    args: { usage: "<id-or-name>", min: 1, max: 1 },
    async run(ctx) {
      const gateway = await mapErrors(() => setGatewayStatus(ctx.args[0]!, status, CLI_ACTOR));
      return { exitCode: 0, text: `Gateway ${gateway.name} is now ${gateway.status}.`, data: summary(gateway) };
    },
  });
}
