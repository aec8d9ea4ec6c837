// The pino logger behind lib/log: secrets never reach a line (by field name at any depth, and by
// the redact paths for headers), request ids come from the request context, warn/error go to
// stderr and the rest to stdout.
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, REDACTED } from "@/lib/log";
import { runWithRequest } from "@/lib/observability/request-context";

function sink() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      const text = chunk.toString();
      raw.push(text);
      for (const line of text.split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { stream, lines, raw };
}

describe("lib/log (pino)", () => {
  it("redacts secret-looking fields at any depth, and headers of logged requests", () => {
    const out = sink();
    const logger = createLogger("debug", out.stream, out.stream);
    logger.info(
      {
        grantId: "grt_1",
        accessToken: "at-secret-1",
        nested: { deeper: { clientSecret: "cs-secret-2", list: [{ refresh_token: "rt-secret-3" }] } },
        req: { headers: { authorization: "Bearer hdr-secret-4", cookie: "sid=cookie-secret-5", accept: "*/*" } },
        headers: { "set-cookie": "a=set-cookie-secret-6" },
        error: new Error("boom"),
      },
      "refresh",
    );
    const text = out.raw.join("");
    for (const secret of ["at-secret-1", "cs-secret-2", "rt-secret-3", "hdr-secret-4", "cookie-secret-5", "set-cookie-secret-6"]) {
      expect(text).not.toContain(secret);
    }
    const line = out.lines[0]!;
    expect(line).toMatchObject({ level: "info", msg: "refresh", grantId: "grt_1", accessToken: REDACTED });
    expect((line.req as { headers: Record<string, string> }).headers.accept).toBe("*/*");
    expect(line.error).toEqual({ name: "Error", message: "boom" });
    expect(typeof line.time).toBe("string");
  });

  it("adds the current request id and splits streams by level", () => {
    const out = sink();
    const err = sink();
    const logger = createLogger("info", out.stream, err.stream);
    runWithRequest({ requestId: "req_abc" }, () => {
      logger.info({}, "inside");
      logger.warn({}, "trouble");
    });
    logger.info({}, "outside");
    logger.debug({}, "below level");
    expect(out.lines.map((l) => [l.msg, l.requestId])).toEqual([["inside", "req_abc"], ["outside", undefined]]);
    expect(err.lines.map((l) => [l.msg, l.level, l.requestId])).toEqual([["trouble", "warn", "req_abc"]]);
  });
});
