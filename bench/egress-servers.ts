// The egress benchmark's servers without Frontdesk code, each run as its own process:
//   node --import tsx bench/egress-servers.ts upstream <port>
//     an upstream API: GET /small (a 40-byte JSON) and GET /large (1 MiB), keep-alive;
//   node --import tsx bench/egress-servers.ts baseline <port> <upstream-port>
//     the bare node:http reverse proxy Frontdesk's proxy is compared with: pipes each request to
//     the upstream over a keep-alive agent and the response back, adding one header, nothing else.
import http, { createServer } from "node:http";

const [mode, portArg, upstreamPortArg] = process.argv.slice(2);
const port = Number(portArg);
if ((mode !== "upstream" && mode !== "baseline") || !Number.isInteger(port) || (mode === "baseline" && !upstreamPortArg)) {
  console.error("usage: egress-servers.ts upstream <port> | baseline <port> <upstream-port>");
  process.exit(2);
}

const SMALL = Buffer.from(JSON.stringify({ ok: true, items: ["one", "two", "three"] }));
const LARGE = Buffer.alloc(1024 * 1024, 0x61);

const server =
  mode === "upstream"
    ? createServer((req, res) => {
        if (req.url === "/ready") return void res.writeHead(200).end("ok");
        const body = req.url === "/large" ? LARGE : req.url === "/small" ? SMALL : null;
        if (!body) return void res.writeHead(404).end();
        res.writeHead(200, { "content-type": req.url === "/large" ? "application/octet-stream" : "application/json", "content-length": String(body.length) });
        res.end(body);
      })
    : (() => {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
        return createServer((req, res) => {
          if (req.url === "/ready") return void res.writeHead(200).end("ok");
          const upstream = http.request(
            { host: "127.0.0.1", port: Number(upstreamPortArg), method: req.method, path: req.url, headers: { ...req.headers, authorization: "Bearer baseline" }, agent },
            (up) => {
              res.writeHead(up.statusCode ?? 502, up.headers);
              up.pipe(res);
            },
          );
          upstream.once("error", () => res.writeHead(502).end());
          req.pipe(upstream);
        });
      })();
server.keepAliveTimeout = 5_000;
server.listen(port, "127.0.0.1");
