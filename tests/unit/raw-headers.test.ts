// server.ts hands the gateway API its headers through rawHeaderReader, not node's req.headers:
// over a real socket, repeated headers (two Authorization headers above all) read exactly as web
// Headers reads them, so the gateway still sees, and refuses, both credentials.
import { createServer, type IncomingMessage } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authenticateGateway } from "@/lib/gateways/authenticate";
import { rawHeaderReader } from "@/lib/http-edge/raw-headers";

const server = createServer();
let port = 0;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Sends `head` (request line and header lines) as written, and gives back the request node parsed. */
function received(head: string[]): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    server.once("request", (req: IncomingMessage, res) => {
      resolve(req);
      res.end();
    });
    const socket = connect(port, "127.0.0.1", () => socket.end(`${head.join("\r\n")}\r\n\r\n`));
    socket.on("error", reject);
    socket.resume();
  });
}

describe("rawHeaderReader", () => {
  it("reads headers over a real socket as web Headers does, repeats joined with a comma", async () => {
    const req = await received([
      "POST /api/v1/resolve HTTP/1.1",
      "Host: frontdesk.test",
      "Authorization: Basic Zmlyc3Q6c2VjcmV0",
      "X-Trace: one",
      "authorization: Basic c2Vjb25kOnNlY3JldA==",
      "x-trace: two",
      "Content-Length: 0",
    ]);
    const reader = rawHeaderReader(req.rawHeaders);
    const web = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) web.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    // node's own view keeps only the first Authorization: exactly what must not reach the handlers.
    expect(req.headers.authorization).toBe("Basic Zmlyc3Q6c2VjcmV0");
    for (const name of ["authorization", "Authorization", "x-trace", "host", "content-length", "traceparent"]) {
      expect({ name, value: reader.get(name) }).toEqual({ name, value: web.get(name) });
    }
    expect(reader.get("authorization")).toBe("Basic Zmlyc3Q6c2VjcmV0, Basic c2Vjb25kOnNlY3JldA==");
    expect(reader.get("x-trace")).toBe("one, two");
    expect(reader.get("traceparent")).toBeNull();
  });

  it("so two Authorization headers are refused, before any credential is looked up", async () => {
    const req = await received(["GET / HTTP/1.1", "Host: x", "Authorization: Basic Zmlyc3Q6c2VjcmV0", "Authorization: Basic Zmlyc3Q6c2VjcmV0"]);
    const authorization = rawHeaderReader(req.rawHeaders).get("authorization");
    await expect(authenticateGateway({ authorization, form: {} })).rejects.toMatchObject({ code: "invalid_client", details: { reason: "malformed_basic" } });
  });
});
