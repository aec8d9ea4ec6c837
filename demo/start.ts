// The demo launcher: `npm start` (dist/launch.js, see launch.ts) runs it when neither an identity
// provider nor a database is configured (or FRONTDESK_DEMO is true). It brings up the whole demo
// on 127.0.0.1: the demo identity provider, the demo Notes upstream, Team Notes (a second Notes
// server that redeems the IdP's ID-JAGs: cross-app access, no consent page), Frontdesk
// (server.ts over the Next.js build) on the embedded database configured for them, the reference egress gateway and
// the reference MCP server; it registers the Notes provider, the gateway and their policy first
// (the embedded PGlite database is single-process, so before Next opens it), prints what to try,
// and stops everything on Ctrl-C or SIGTERM. A configured installation never comes here: it runs
// the compiled server directly.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { EMBEDDED_KEY_FILE } from "@/lib/crypto/keyring";
import { parseEnv } from "@/lib/env";
import { DEMO_USERS } from "./demo-users";
import { readOrCreateSecret, writeUserToken } from "./local-files";
import { WEBHOOK_PATH } from "./gateway/server";
import { DEMO_GATEWAY_NAME, DEMO_MCP_AUDIENCE, DEMO_NOTES_SCOPES, DEMO_PROVIDER_SLUG, DEMO_TEAM_NOTES_SLUG, demoPorts, demoUrls } from "./ports";

const HEALTH_TIMEOUT_MS = 120_000;
const USER_TOKEN_TTL_SECONDS = 8 * 3600;
const PORTAL_CLIENT_ID = "frontdesk-portal";
const NOTES_CLIENT_ID = "frontdesk";

// Frontdesk's production server: server.ts sends the gateway API straight to lib/gateway-api and
// everything else to Next.js (README "Benchmarks" says why).
function startNext(port: number, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, ["dist/server.js", "--hostname", "127.0.0.1", "--port", String(port)], {
    env: { NEXT_TELEMETRY_DISABLED: "1", ...env, NODE_ENV: "production" },
    stdio: "inherit",
    detached: true,
  });
}

function stopChild(child: ChildProcess, group: boolean): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  const done = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const kill = (signal: NodeJS.Signals) => {
    try {
      if (group) process.kill(-child.pid!, signal);
      else child.kill(signal);
    } catch {
      // already gone
    }
  };
  kill("SIGTERM");
  const timer = setTimeout(() => kill("SIGKILL"), 5_000);
  return done.finally(() => clearTimeout(timer));
}

async function waitHealthy(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Frontdesk exited during start-up (code ${child.exitCode})`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Frontdesk did not become healthy within ${HEALTH_TIMEOUT_MS / 1000} s`);
}

async function discoverTokenEndpoint(frontdeskUrl: string): Promise<string> {
  const res = await fetch(`${frontdeskUrl}/.well-known/oauth-authorization-server`);
  const meta = (await res.json()) as { issuer?: string; token_endpoint?: string };
  if (!res.ok || !meta.token_endpoint) throw new Error("Frontdesk's authorization server metadata has no token_endpoint");
  return meta.token_endpoint;
}

async function runDemo(config: ReturnType<typeof parseEnv>): Promise<void> {
  const port = config.PORT;
  const frontdeskUrl = (config.FRONTDESK_URL ?? `http://localhost:${port}`).replace(/\/+$/, "");
  const ports = demoPorts(config.FRONTDESK_DEMO_BASE_PORT);
  const urls = demoUrls(config.FRONTDESK_DEMO_BASE_PORT);
  const dataDir = config.FRONTDESK_DATA_DIR;

  const cleanups: (() => Promise<void>)[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    process.exit(code);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      process.stdout.write("\nStopping the Frontdesk demo…\n");
      void stopAll(0);
    });
  }

  try {
    // Loaded here so that a configured installation (the plain Frontdesk server) needs none of them.
    const { startIdentityProvider } = await import("./identity-provider");
    const { startUpstreamProvider } = await import("./upstream-provider");
    const { startEgressGateway } = await import("./gateway/server");
    const { startNotesMcpServer } = await import("./mcp-server/server");
    const portalSecret = randomBytes(32).toString("base64url");
    const idp = await startIdentityProvider({
      port: ports.identityProvider,
      clients: [{ clientId: PORTAL_CLIENT_ID, clientSecret: portalSecret, redirectUris: [`${frontdeskUrl}/api/auth/callback/idp`] }],
    });
    cleanups.push(() => idp.close());
    const notesSecret = readOrCreateSecret(dataDir, "notes-client-secret");
    const notes = await startUpstreamProvider({
      port: ports.notes,
      clients: [{ clientId: NOTES_CLIENT_ID, clientSecret: notesSecret, redirectUris: [`${frontdeskUrl}/api/oauth/callback/${DEMO_PROVIDER_SLUG}`] }],
    });
    cleanups.push(() => notes.close());
    // Cross-app access (docs/integration-guide.md §10): Team Notes trusts the IdP's ID-JAGs, and the
    // IdP's administrator let Frontdesk's portal client (known to Team Notes as "frontdesk") reach
    // it for alice; bob is not allowed, so his call is refused, not sent to a consent page.
    const teamNotesSecret = readOrCreateSecret(dataDir, "team-notes-client-secret");
    const teamNotes = await startUpstreamProvider({
      port: ports.teamNotes,
      brand: "Team Notes",
      idJagIssuers: [{ issuer: idp.issuer, jwksUri: idp.jwksUri }],
      clients: [{ clientId: NOTES_CLIENT_ID, clientSecret: teamNotesSecret, redirectUris: [`${frontdeskUrl}/api/oauth/callback/${DEMO_TEAM_NOTES_SLUG}`] }],
    });
    cleanups.push(() => teamNotes.close());
    idp.crossAppAccess.relationships.push({
      audience: teamNotes.issuer,
      clientIds: { [PORTAL_CLIENT_ID]: NOTES_CLIENT_ID },
      allowedSubjects: [DEMO_USERS.alice.sub],
      scopes: ["notes:read", "notes:write"],
    });

    // Frontdesk's configuration for the demo, set before any lib/ module parses it.
    Object.assign(process.env, {
      FRONTDESK_DEMO: "true",
      FRONTDESK_URL: frontdeskUrl,
      OIDC_ISSUER: idp.issuer,
      OIDC_CLIENT_ID: PORTAL_CLIENT_ID,
      OIDC_CLIENT_SECRET: portalSecret,
      OIDC_SCOPES: "openid email profile groups",
      OIDC_PROVIDER_NAME: "Example Corp SSO (demo)",
      OIDC_ADMIN_GROUP: "frontdesk-admins",
      // The MCP server's audience, and ID tokens issued to Frontdesk's own client (the ones
      // cross-app access may present to the IdP).
      SUBJECT_TOKEN_AUDIENCES: `${DEMO_MCP_AUDIENCE},${PORTAL_CLIENT_ID}`,
      // Plain http for the local demo servers only: the IdP, Notes, Team Notes, and the gateway's webhook.
      FRONTDESK_INSECURE_HTTP_ISSUERS: [idp.issuer, notes.issuer, teamNotes.issuer, urls.gateway].join(","),
    });

    const { seedDemo } = await import("./seed");
    const { closeDb } = await import("@/lib/db/client");
    const seeded = await seedDemo({
      notes: { issuer: notes.issuer, apiUrl: notes.apiUrl, clientId: NOTES_CLIENT_ID, clientSecret: notesSecret },
      teamNotes: { issuer: teamNotes.issuer, apiUrl: teamNotes.apiUrl, clientId: NOTES_CLIENT_ID, clientSecret: teamNotesSecret },
      gatewayWebhookUrl: `${urls.gateway}${WEBHOOK_PATH}`,
      revokeStaleGrants: true,
    });
    // The local key: loaded (created on a first run) here, which prints its LOCAL USE ONLY
    // warning once; the server then reads the same file as its named key file, without a second one.
    const { getKeyring } = await import("@/lib/crypto/keyring");
    getKeyring();
    const keyFile = config.FRONTDESK_KEYS || config.FRONTDESK_KEYS_FILE ? {} : { FRONTDESK_KEYS_FILE: path.resolve(dataDir, EMBEDDED_KEY_FILE) };
    await closeDb();
    for (const w of seeded.warnings) process.stderr.write(`warning: ${w}\n`);

    // No load balancer in front of the demo's server: on stop, no drain delay (unless set).
    const next = startNext(port, { FRONTDESK_SHUTDOWN_DRAIN_MS: "0", ...process.env, ...keyFile });
    cleanups.push(() => stopChild(next, true));
    next.once("exit", (code) => {
      if (!stopping) {
        process.stderr.write(`Frontdesk exited (code ${code ?? "signal"}); stopping the demo.\n`);
        void stopAll(1);
      }
    });
    await waitHealthy(port, next);

    const gateway = await startEgressGateway({
      port: ports.gateway,
      frontdeskUrl,
      client: { tokenEndpoint: await discoverTokenEndpoint(frontdeskUrl), clientId: seeded.gatewayId, clientSecret: seeded.gatewaySecret },
      routes: [
        { name: DEMO_PROVIDER_SLUG, target: notes.apiUrl, scopes: DEMO_NOTES_SCOPES },
        { name: DEMO_TEAM_NOTES_SLUG, target: teamNotes.apiUrl, scopes: DEMO_NOTES_SCOPES },
      ],
      mode: config.FRONTDESK_DEMO_GATEWAY_MODE,
      log: (line) => process.stdout.write(`[gateway] ${line}\n`),
    });
    cleanups.push(() => gateway.close());
    const mcp = await startNotesMcpServer({
      port: ports.mcpServer,
      issuer: idp.issuer,
      audience: DEMO_MCP_AUDIENCE,
      gatewayUrl: gateway.url,
      log: (line) => process.stdout.write(`[mcp] ${line}\n`),
    });
    cleanups.push(() => mcp.close());

    const shown = (file: string) => {
      const relative = path.relative(process.cwd(), file);
      return relative.startsWith("..") ? file : relative;
    };
    const tokenFiles: Record<string, string> = {};
    const idTokenFiles: Record<string, string> = {};
    for (const name of ["alice", "bob"] as const) {
      const u = DEMO_USERS[name];
      const claims = { sub: u.sub, email: u.email, name: u.name };
      tokenFiles[name] = shown(writeUserToken(dataDir, name, await idp.signJwt({ ...claims, aud: DEMO_MCP_AUDIENCE }, { expiresIn: USER_TOKEN_TTL_SECONDS })));
      // An ID token issued to Frontdesk's client, as an SSO-aware gateway would forward it.
      idTokenFiles[name] = shown(writeUserToken(dataDir, `${name}-id-token`, await idp.signJwt({ ...claims, aud: PORTAL_CLIENT_ID }, { expiresIn: USER_TOKEN_TTL_SECONDS })));
    }

    const users = (["alice", "bob", "admin"] as const).map((n) => `${n} / ${DEMO_USERS[n].password}`).join(", ");
    process.stdout.write(
      [
        "",
        "Frontdesk demo is running (everything on this machine, nothing to sign up for):",
        `  Frontdesk (portal)      ${frontdeskUrl}    open it for a walkthrough`,
        `  Identity provider       ${urls.identityProvider}    users: ${users}`,
        `  Notes (upstream API)    ${urls.notes}    same users and passwords`,
        `  Egress gateway          ${gateway.url}    registered at Frontdesk as "${DEMO_GATEWAY_NAME}"`,
        gateway.mode === "proxy"
          ? "                          mode: proxy (requests go through Frontdesk's egress proxy; the gateway never holds the Notes token)"
          : "                          mode: inject (RFC 8693 token exchange; the gateway adds the Notes token itself)",
        `  MCP server              ${mcp.url}    tool list_my_notes`,
        `  Team Notes (upstream)   ${teamNotes.issuer}    reached by cross-app access: the IdP decides, no consent page`,
        "",
        "Try it:",
        "  npx tsx demo/client.ts alice",
        "    calls list_my_notes as alice (MCP 2026-07-28), prints the Frontdesk link to open (sign in as",
        "    alice, approve, authorize Notes); its automatic retry waits for you, then prints alice's notes.",
        "    Add --revision 2025-11-25 for the previous protocol (-32042 and the completion notification).",
        `  Identity tokens for MCP clients (valid ${USER_TOKEN_TTL_SECONDS / 3600} h): ${tokenFiles.alice}, ${tokenFiles.bob}`,
        `    e.g. MCP Inspector with header  Authorization: Bearer $(cat ${tokenFiles.alice})`,
        `  curl -H "Authorization: Bearer $(cat ${idTokenFiles.alice})" ${gateway.url}/${DEMO_TEAM_NOTES_SLUG}/notes`,
        "    alice's Team Notes with no consent click: Frontdesk gets an ID-JAG from the IdP and redeems it at Team Notes",
        `    (cross-app access). With ${idTokenFiles.bob} the IdP's policy refuses bob: a 403, in the admin audit log.`,
        ...(seeded.revokedGrants > 0 ? [`  (${seeded.revokedGrants} Notes connection(s) from a previous run were revoked: the demo Notes server forgets its tokens when it stops.)`] : []),
        "",
        "Press Ctrl-C to stop.",
        "",
      ].join("\n"),
    );
  } catch (e) {
    process.stderr.write(`The Frontdesk demo could not start: ${e instanceof Error ? e.message : String(e)}\n`);
    await stopAll(1);
  }
}

void runDemo(parseEnv(process.env));
