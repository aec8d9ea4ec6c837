// lib/http-edge/server-error-guard.ts over a real node:http server: a 500 about to be sent (by
// writeHead, or by statusCode + write/end as Next does) is replaced by what `decide` returns,
// keeping the security headers already set; without a replacement the 500 goes out unchanged;
// other statuses are never touched (and never wait for `decide`).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { guardServerErrors, unavailablePage, unreadableAction, type Replacement } from "@/lib/http-edge/server-error-guard";

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

async function serve(status: number, style: "writeHead" | "statusCode", decide: () => Promise<Replacement | null>) {
  let decided = 0;
  server = createServer((_req, res) => {
    guardServerErrors(res, () => {
      decided++;
      return decide();
    });
    res.setHeader("content-security-policy", "frame-ancestors 'none'");
    res.setHeader("content-type", "text/html");
    if (style === "writeHead") res.writeHead(status, { "x-next": "1" });
    else res.statusCode = status;
    res.write("<p>next's ");
    res.end("page</p>");
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", () => r()));
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  return { status: res.status, body: await res.text(), headers: res.headers, decided };
}

describe("server error guard", () => {
  for (const style of ["writeHead", "statusCode"] as const) {
    it(`replaces a 500 (${style}) with the branded 503 page, keeping the security headers`, async () => {
      const r = await serve(500, style, async () => unavailablePage());
      expect(r.status).toBe(503);
      expect(r.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(r.headers.get("content-security-policy")).toBe("frame-ancestors 'none'");
      expect(r.body).toContain("Temporarily unavailable");
      expect(r.body).not.toContain("next's");
    });

    it(`releases the 500 (${style}) unchanged when there is no replacement`, async () => {
      const r = await serve(500, style, async () => null);
      expect(r.status).toBe(500);
      expect(r.body).toBe("<p>next's page</p>");
    });
  }

  it("a server action Next could not decode: 400 with a structured body", async () => {
    const r = await serve(500, "statusCode", async () => unreadableAction());
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: "invalid_request", requestId: expect.stringMatching(/^req_/) } });
  });

  it("never touches other statuses, and does not consult decide for them", async () => {
    for (const status of [200, 404, 503]) {
      const r = await serve(status, "statusCode", async () => unavailablePage());
      expect(r.status).toBe(status);
      expect(r.body).toBe("<p>next's page</p>");
      expect(r.decided).toBe(0);
      await new Promise<void>((res) => server!.close(() => res()));
      server = undefined;
    }
  });
});
