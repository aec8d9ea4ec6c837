// Tracing is off unless an OTLP endpoint is configured: nothing is registered and spans do not record.
import { describe, expect, it } from "vitest";

describe("tracing without configuration", () => {
  it("registers nothing and runs functions under non-recording spans", async () => {
    delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
    const { startTracing, withSpan } = await import("@/lib/observability/tracing");
    expect(startTracing()).toBe(false);
    const recording = await withSpan("probe", {}, async (span) => span.isRecording());
    expect(recording).toBe(false);
  });
});
