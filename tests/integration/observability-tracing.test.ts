// OpenTelemetry tracing with the SDK's in-memory exporter: one server span per gateway request,
// joined to the caller's traceparent, with children for authentication, policy, database,
// decrypt, audit and the upstream refresh; no secret in any attribute.
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basicAuth, connectNotes, type GatewayTestbed, resolveRequest, startGatewayTestbed, SUBJECT_AUDIENCE } from "../helpers/gateway-testbed";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();

let bed: GatewayTestbed;
let resolve: (req: Request) => Promise<Response>;
const exporter = new InMemorySpanExporter();

beforeAll(async () => {
  bed = await startGatewayTestbed();
  const { startTracing } = await import("@/lib/observability/tracing");
  expect(startTracing({ processor: new SimpleSpanProcessor({ exporter }) })).toBe(true);
  resolve = (await import("@/lib/gateway-api/resolve")).handleResolve;
}, 60_000);
afterAll(async () => {
  const { stopTracing } = await import("@/lib/observability/tracing");
  await stopTracing();
  await bed?.close();
});

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";

describe("tracing", () => {
  it("a resolve with a refresh is one trace: request span with auth, policy, db, decrypt, audit and upstream children", async () => {
    const grant = await connectNotes(bed, { user: "alice", expiresAt: new Date(Date.now() - 1000) });
    exporter.reset();
    const subjectToken = await bed.idp.signSubjectToken({ sub: bed.idp.users.alice.sub, aud: SUBJECT_AUDIENCE });
    const res = await resolve(
      resolveRequest(bed.frontdeskUrl, { subject_token: subjectToken, provider: "notes" }, {
        authorization: basicAuth(bed.basic.id, bed.basic.secret!),
        traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01`,
      }),
    );
    const body = await res.json();
    expect(res.status).toBe(200);

    const spans = exporter.getFinishedSpans();
    const root = spans.find((s) => s.name === "gateway.resolve")!;
    expect(root).toBeDefined();
    expect(root.spanContext().traceId).toBe(TRACE_ID);
    expect(root.attributes["frontdesk.decision"]).toBe("allow");
    expect(root.attributes["http.response.status_code"]).toBe(200);
    expect(root.attributes["frontdesk.request_id"]).toBe(res.headers.get("x-request-id"));

    const inTrace = spans.filter((s) => s.spanContext().traceId === TRACE_ID);
    const names = new Set(inTrace.map((s) => s.name));
    for (const name of ["auth.gateway", "auth.subject_token", "policy.evaluate", "db.user_and_grant", "crypto.decrypt", "audit.append", "upstream.refresh"]) {
      expect(names, name).toContain(name);
    }
    // Every span of the trace descends from the request span.
    const byId = new Map(inTrace.map((s) => [s.spanContext().spanId, s]));
    const descends = (s: ReadableSpan): boolean => {
      if (s === root) return true;
      const parent = s.parentSpanContext?.spanId;
      const p = parent ? byId.get(parent) : undefined;
      return p ? descends(p) : false;
    };
    expect(inTrace.filter((s) => !descends(s)).map((s) => s.name)).toEqual([]);
    expect(inTrace.find((s) => s.name === "auth.gateway")!.attributes["frontdesk.gateway_id"]).toBe(bed.basic.id);

    // No secret in any attribute of any span.
    const secrets = [subjectToken, grant.accessToken, grant.refreshToken, bed.basic.secret!, body.header.value.slice("Bearer ".length), bed.upstream.clientSecret];
    const attributeText = JSON.stringify(spans.map((s) => s.attributes));
    expect(secrets.filter((secret) => attributeText.includes(secret))).toEqual([]);
  });

  it("an error span records the error class and code, never the message", async () => {
    exporter.reset();
    const res = await resolve(resolveRequest(bed.frontdeskUrl, { subject_token: "x", provider: "notes" }, { authorization: basicAuth(bed.basic.id, "wrong-secret-value") }));
    expect(res.status).toBe(401);
    const auth = exporter.getFinishedSpans().find((s) => s.name === "auth.gateway")!;
    expect(auth.status.code).toBe(2);
    expect(auth.attributes).toMatchObject({ "error.type": "AppError", "frontdesk.error": "invalid_client" });
    expect(JSON.stringify(auth.attributes)).not.toContain("wrong-secret-value");
  });

  it("drops attributes whose names suggest a secret, and non-scalar values", async () => {
    const { safeAttributes } = await import("@/lib/observability/tracing");
    expect(safeAttributes({ accessToken: "t", client_secret: "s", cookie: "c", nested: { a: 1 }, ok: "yes", n: 1, long: "x".repeat(500) })).toEqual({
      ok: "yes",
      n: 1,
      long: "x".repeat(200),
    });
  });
});
