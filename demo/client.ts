// A minimal MCP client for the demo, built with the official SDK: `npx tsx demo/client.ts alice`
// (or bob). It connects to the demo MCP server with the user's identity token (written by
// `npm start` to <data>/demo/<user>.jwt), declares URL-mode elicitation support, and calls
// list_my_notes. When the server answers -32042 it prints the Frontdesk link, waits for
// notifications/elicitation/complete, and calls the tool again.
import { readFileSync } from "node:fs";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitationCompleteNotificationSchema, UrlElicitationRequiredError } from "@modelcontextprotocol/sdk/types.js";
import { parseEnv } from "@/lib/env";
import { demoUrls } from "./ports";

const WAIT_MS = 10 * 60_000;

async function main() {
  const user = process.argv[2] ?? "alice";
  if (!/^[a-z]+$/.test(user)) throw new Error("usage: npx tsx demo/client.ts <alice|bob>");
  const config = parseEnv(process.env);
  const tokenFile = path.resolve(config.FRONTDESK_DATA_DIR, "demo", `${user}.jwt`);
  let token: string;
  try {
    token = readFileSync(tokenFile, "utf8").trim();
  } catch {
    throw new Error(`no token at ${tokenFile}: start the demo first (npm start)`);
  }
  const url = new URL(demoUrls(config.FRONTDESK_DEMO_BASE_PORT).mcpServer);

  const completed = new Map<string, () => void>();
  const client = new Client({ name: "frontdesk-demo-client", version: "1.0.0" }, { capabilities: { elicitation: { url: {} } } });
  client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => {
    completed.get(n.params.elicitationId)?.();
  });
  await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  console.log(`Connected to ${url} as ${user}.`);

  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const result = await client.callTool({ name: "list_my_notes" });
      const text = (result.content as { type: string; text?: string }[]).map((c) => c.text ?? "").join("\n");
      console.log(result.isError ? `The tool failed: ${text}` : text);
      break;
    } catch (e) {
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
      console.log("Frontdesk reports the consent is complete; calling the tool again.");
    }
  }
  await client.close();
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
