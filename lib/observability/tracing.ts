// OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set. Without it every
// helper here calls its function straight through (with a shared non-recording span where it
// takes one): no span objects, closures or context switches on the hot path.
// With it: one span per gateway request (the route wrapper), children for authentication,
// policy, database, decrypt, audit and upstream calls, exported over OTLP/HTTP in batches; an
// incoming W3C `traceparent` joins the gateway's trace.
//
// No secret reaches an attribute, by construction: attribute names that suggest one are dropped
// (the same rule as the logger's), only scalars are kept, and errors record their class name,
// never their message. Callers pass ids and labels, as for logs.
//
// The provider is registered through @opentelemetry/api's process-wide global; whether it is on
// is this module's state (startTracing), one copy per process (server.ts and Next's bundle share
// the compiled lib/, scripts/lib-modules.mjs).
import { context, INVALID_SPAN_CONTEXT, propagation, type Attributes, type Span, SpanKind, SpanStatusCode, trace, type Context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, type SpanExporter, type SpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { env } from "@/lib/env";
import type { HeaderReader } from "@/lib/http-edge/raw-headers";
import { isSecretFieldName } from "@/lib/log";

const TRACER = "frontdesk";
const MAX_ATTRIBUTE_LENGTH = 200;
/** Semantic-convention names that the secret rule would catch but that carry no secret. */
const KNOWN_SAFE = new Set(["http.response.status_code"]);

let started: TracerProvider | undefined;
/** What span-taking functions get while tracing is off: records nothing, like the API's no-op. */
const NOT_RECORDING: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Keeps only scalar attributes whose names do not suggest a secret; long strings are cut. */
export function safeAttributes(input: Record<string, unknown> = {}): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined || value === null || (isSecretFieldName(key) && !KNOWN_SAFE.has(key))) continue;
    if (typeof value === "number" || typeof value === "boolean") out[key] = value;
    else if (typeof value === "string") out[key] = value.slice(0, MAX_ATTRIBUTE_LENGTH);
  }
  return out;
}

/**
 * Registers the tracer provider. `processor` replaces the OTLP exporter (tests pass a
 * SimpleSpanProcessor over an InMemorySpanExporter). Returns false when tracing stays off.
 */
export function startTracing(opts: { processor?: SpanProcessor; exporter?: SpanExporter } = {}): boolean {
  if (started) return true;
  const e = env();
  const endpoint = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (!opts.processor && !opts.exporter && !endpoint) return false;
  const processor = opts.processor ?? new BatchSpanProcessor({ exporter: opts.exporter ?? new OTLPTraceExporter({ url: endpoint }) });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": e.OTEL_SERVICE_NAME }),
    spanProcessors: [processor],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  started = provider;
  return true;
}

/** Flushes and stops the provider (graceful shutdown, tests). */
export async function stopTracing(): Promise<void> {
  const provider = started;
  started = undefined;
  if (!provider) return;
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
}

function finish(span: Span, error?: unknown) {
  if (error !== undefined) {
    span.setStatus({ code: SpanStatusCode.ERROR });
    // The class and the closed error code only: messages may echo input.
    span.setAttributes(safeAttributes({
      "error.type": error instanceof Error ? error.name : typeof error,
      "frontdesk.error": (error as { code?: unknown })?.code,
    }));
  }
  span.end();
}

/** Wraps `fn` so that the span ends when it settles, marked as failed when it throws. */
function endingSpan<T>(fn: (span: Span) => Promise<T>): (span: Span) => Promise<T> {
  return async (span) => {
    try {
      const result = await fn(span);
      finish(span);
      return result;
    } catch (e) {
      finish(span, e);
      throw e;
    }
  };
}

/** Runs `fn` in a child span of the current one. */
export function withSpan<T>(name: string, attributes: Record<string, unknown>, fn: (span: Span) => Promise<T>, parent?: Context): Promise<T> {
  if (!started) return fn(NOT_RECORDING);
  const tracer = trace.getTracer(TRACER);
  return tracer.startActiveSpan(name, { attributes: safeAttributes(attributes) }, parent ?? context.active(), endingSpan(fn));
}

/** The synchronous variant (policy evaluation). */
export function withSpanSync<T>(name: string, attributes: Record<string, unknown>, fn: () => T): T {
  if (!started) return fn();
  return trace.getTracer(TRACER).startActiveSpan(name, { attributes: safeAttributes(attributes) }, (span) => {
    try {
      const result = fn();
      finish(span);
      return result;
    } catch (e) {
      finish(span, e);
      throw e;
    }
  });
}

/** The server span of one gateway request, joined to the caller's trace when it sent one. */
export function withRequestSpan<T>(name: string, headers: HeaderReader, attributes: Record<string, unknown>, fn: (span: Span) => Promise<T>): Promise<T> {
  if (!started) return fn(NOT_RECORDING);
  const parent = contextFromHeaders(headers);
  return trace.getTracer(TRACER).startActiveSpan(name, { kind: SpanKind.SERVER, attributes: safeAttributes(attributes) }, parent, endingSpan(fn));
}

/** The headers the W3C propagator reads (it asks for them by name; `keys` serves other propagators). */
const TRACE_CONTEXT_HEADERS = ["traceparent", "tracestate"];

/** The caller's trace context from a request's `traceparent`/`tracestate` headers. */
export function contextFromHeaders(headers: HeaderReader): Context {
  return propagation.extract(context.active(), headers, {
    keys: () => TRACE_CONTEXT_HEADERS,
    get: (carrier, key) => carrier.get(key) ?? undefined,
  });
}

/** Sets attributes on the current span (e.g. the decision once it is known). */
export function annotateSpan(attributes: Record<string, unknown>): void {
  if (!started) return;
  trace.getActiveSpan()?.setAttributes(safeAttributes(attributes));
}
