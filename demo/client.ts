// A minimal MCP client for the demo, built with the official SDK v2 (@modelcontextprotocol/client):
// `npx tsx demo/client.ts alice [--revision 2026-07-28|2025-11-25|auto]` (or bob). It connects to
// the demo MCP server with the user's identity token (written by `npm start` to
// <data>/demo/<user>.jwt), declares URL-mode elicitation support, and calls list_my_notes.
//  - 2026-07-28 (the default, the current revision): the call answers `input_required` with the
//    Frontdesk link; the client prints it and the SDK retries by itself, and the retry waits at
//    Frontdesk until you have approved in the browser (or declined).
//  - 2025-11-25: the call fails with -32042; the client prints the link, waits for
//    notifications/elicitation/complete, and calls the tool again.
//  - auto: asks the server which revision it speaks (server/discover) and uses the newest.
import { readFileSync } from "node:fs";
import path from "node:path";
import { Client, StreamableHTTPClientTransport, UrlElicitationRequiredError, type ElicitResult } from "@modelcontextprotocol/client";
import { parseEnv } from "@/lib/env";
import { demoUrls } from "./ports";

const WAIT_MS = 10 * 60_000;
const REVISIONS = ["2026-07-28", "2025-11-25", "auto"] as const;
type Revision = (typeof REVISIONS)[number];

function parseArgs(argv: string[]): { user: string; revision: Revision } {
  let user = "alice";
  let revision: Revision = "2026-07-28";
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--revision") {
      const value = argv[++i] as Revision;
      if (!REVISIONS.includes(value)) throw new Error(`--revision must be one of ${REVISIONS.join(", ")}`);
      revision = value;
    } else if (/^[a-z]+$/.test(arg)) user = arg;
    else throw new Error("usage: npx tsx demo/client.ts <alice|bob> [--revision 2026-07-28|2025-11-25|auto]");
  }
  return { user, revision };
}

async function main() {
  const { user, revision } = parseArgs(process.argv.slice(2));
  const config = parseEnv(process.env);
  const tokenFile = path.resolve(config.FRONTDESK_DATA_DIR, "demo", `${user}.jwt`);
  let token: string;
  try {
    token = readFileSync(tokenFile, "utf8").trim();
  } catch {
    throw new Error(`no token at ${tokenFile}: start the demo first (npm start)`);
  }
  const url = new URL(demoUrls(config.FRONTDESK_DEMO_BASE_PORT).mcpServer);

  const client = new Client(
    { name: "frontdesk-demo-client", version: "2.0.0" },
    {
      capabilities: { elicitation: { url: {} } },
      versionNegotiation: { mode: revision === "auto" ? "auto" : revision === "2025-11-25" ? "legacy" : { pin: revision } },
    },
  );
  const completed = new Map<string, () => void>();
  client.setNotificationHandler("notifications/elicitation/complete", (n) => {
    completed.get((n.params as { elicitationId: string }).elicitationId)?.();
  });
  // 2026-07-28: the SDK hands us the embedded URL request; "accept" means "I will open it", and
  // the SDK's retry then waits at Frontdesk for the outcome.
  client.setRequestHandler("elicitation/create", async (request): Promise<ElicitResult> => {
    const params = request.params as { mode?: string; message?: string; url?: string };
    console.log(`\n${params.message ?? ""}\n  ${params.url ?? ""}\n`);
    console.log("Waiting for you to finish in the browser…");
    return { action: "accept" };
  });
  await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  console.log(`Connected to ${url} as ${user}, protocol revision ${client.getNegotiatedProtocolVersion() ?? "unknown"}.`);

  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const result = await client.callTool({ name: "list_my_notes" });
      const text = (result.content as { type: string; text?: string }[]).map((c) => c.text ?? "").join("\n");
      console.log(result.isError ? `The tool failed: ${text}` : text);
      break;
    } catch (e) {
      // 2025-11-25 only: the link comes as the -32042 error, completion as a notification.
      if (!(e instanceof UrlElicitationRequiredError)) throw e;
      const waits = e.elicitations.map((el) => {
        console.log(`\n${el.message}\n  ${"url" in el ? el.url : ""}\n`);
        return new Promise<void>((resolve, reject) => {
          completed.set(el.elicitationId, resolve);
          setTimeout(() => reject(new Error("gave up waiting for the consent")), WAIT_MS).unref();
        });
      });
      console.log("Waiting for you to finish in the browser…");
      await Promise.all(waits);
      console.log("Frontdesk reports the request is settled; calling the tool again.");
    }
  }
  await client.close();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
