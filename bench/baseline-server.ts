// Baseline servers of the benchmark (no Frontdesk code), run as their own process:
//   node --import tsx bench/baseline-server.ts constant <port>
//     (a) bare node:http answering a constant JSON;
//   node --import tsx bench/baseline-server.ts db <port> <database-url>
//     (b) bare node:http doing what a resolve must at minimum do: read a small JSON body, one
//     indexed SELECT (the user's grant row by its unique (userId, providerId) index) and one
//     INSERT (an event row), through a pool of 10 connections like Prisma's, then answer JSON.
import { createServer, type IncomingMessage } from "node:http";
import pg from "pg";

const [mode, portArg, databaseUrl] = process.argv.slice(2);
const port = Number(portArg);
if ((mode !== "constant" && mode !== "db") || !Number.isInteger(port) || (mode === "db" && !databaseUrl)) {
  console.error("usage: baseline-server.ts constant <port> | db <port> <database-url>");
  process.exit(2);
}

const CONSTANT = JSON.stringify({ ok: true, header: { name: "Authorization", value: "Bearer constant" } });

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });
}

const pool = mode === "db" ? new pg.Pool({ connectionString: databaseUrl, max: 10 }) : null;

const SELECT = `SELECT "id", "scopes", "accessTokenCipher", "wrappedKey", "expiresAt" FROM "Grant" WHERE "userId" = $1 AND "providerId" = $2`;
const INSERT = `INSERT INTO "BenchEvent" ("userId", action, context) VALUES ($1, 'resolve', $2::jsonb)`;

const server = createServer((req, res) => {
  if (req.url === "/ready") {
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
    return;
  }
  if (!pool) {
    // Drain the body (if any) so keep-alive works, then answer.
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(CONSTANT));
    return;
  }
  void (async () => {
    try {
      const body = JSON.parse(await readBody(req)) as { userId: string; providerId: string };
      const { rows } = await pool.query(SELECT, [body.userId, body.providerId]);
      const grant = rows[0] as { id: string } | undefined;
      await pool.query(INSERT, [body.userId, JSON.stringify({ grantId: grant?.id ?? null })]);
      res.writeHead(grant ? 200 : 404, { "content-type": "application/json" }).end(JSON.stringify({ grantId: grant?.id ?? null }));
    } catch (e) {
      res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ error: e instanceof Error ? e.message : "error" }));
    }
  })();
});
server.keepAliveTimeout = 10_000;
server.listen(port, "127.0.0.1");

process.on("SIGTERM", () => {
  server.close();
  void pool?.end();
  process.exit(0);
});
