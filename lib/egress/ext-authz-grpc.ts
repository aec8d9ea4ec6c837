// gRPC ext_authz (interface C): `envoy.service.auth.v3.Authorization/Check`, the protocol
// agentgateway's `extAuthz` uses by default (crates/agentgateway/src/http/ext_authz.rs:
// `impl Default for Protocol` is `Protocol::Grpc`) and Envoy's ext_authz filter with a
// `grpc_service`. On its own listener (FRONTDESK_EXT_AUTHZ_GRPC_PORT; loopback unless TLS is
// configured). Each Check is translated into the HTTP check request that lib/egress/ext-authz.ts
// already answers, so both protocols share one decision, one audit trail and one set of tests:
//   gateway:  the call's `authorization` metadata (Envoy `grpc_service.initial_metadata`,
//             agentgateway `backendAuth` on the ext_authz target), as Frontdesk-Gateway-Authorization;
//   provider: context_extensions `frontdesk_provider` (agentgateway `protocol.grpc.context`, Envoy
//             per-route `check_settings.context_extensions`), scopes `frontdesk_scopes`;
//   request:  attributes.request.http method, path (path and query, as received) and headers (the
//             original Authorization is the user's token, as in the HTTP variant).
// Answers: allow = status OK + ok_response.headers with the credential (overwriting the user's
// Authorization); deny = a non-OK status + denied_response with the HTTP status, headers and the
// same JSON body the HTTP variant sends (consent needed: the MCP-ready 403 with the link).
import { readFileSync } from "node:fs";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { env, publicUrl } from "@/lib/env";
import { EXT_AUTHZ_PATH } from "@/lib/gateways/urls";
import { log } from "@/lib/log";
import { extAuthzHandler, GATEWAY_AUTHORIZATION_HEADER } from "./ext-authz";
import { SCOPES_HEADER, SUBJECT_HEADER, SUBJECT_ISSUER_HEADER } from "./identify";

/** The vendored protos (lib/egress/proto/README.md); the image copies this folder next to dist/. */
export const PROTO_DIR = path.join(process.cwd(), "lib", "egress", "proto");
export const CHECK_METHOD = "/envoy.service.auth.v3.Authorization/Check";
export const PROVIDER_CONTEXT_KEY = "frontdesk_provider";
export const SCOPES_CONTEXT_KEY = "frontdesk_scopes";

/** google.rpc.Code values used in CheckResponse.status. */
const RPC = { OK: 0, INVALID_ARGUMENT: 3, NOT_FOUND: 5, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, UNAVAILABLE: 14, UNAUTHENTICATED: 16, INTERNAL: 13 } as const;
/** HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD: replace the user's Authorization. */
const OVERWRITE_IF_EXISTS_OR_ADD = 2;
/**
 * Headers of the checked request that only the gateway's configuration may set: the caller of the
 * proxy (the MCP server or its client) must not name a user (trusted-subject gateways), choose
 * scopes, or present gateway credentials. Scopes come from context_extensions instead.
 */
const CALLER_MAY_NOT_SET = new Set([GATEWAY_AUTHORIZATION_HEADER, SUBJECT_HEADER, SUBJECT_ISSUER_HEADER, SCOPES_HEADER]);
/** Response headers of an allow answer that are not the credential. */
const NOT_CREDENTIAL = new Set(["cache-control", "content-type", "content-length", "date"]);
const DENY_HEADERS = ["content-type", "www-authenticate", "retry-after"];

export interface HeaderValueOption {
  header: { key: string; value: string };
  append?: { value: boolean };
  append_action?: number;
}

export interface CheckResponse {
  status: { code: number; message?: string };
  ok_response?: { headers: HeaderValueOption[] };
  denied_response?: { status: { code: number }; headers: HeaderValueOption[]; body: string };
}

interface CheckRequest {
  attributes?: {
    request?: { http?: { method?: string; path?: string; headers?: Record<string, string> } };
    context_extensions?: Record<string, string>;
  };
}

export function loadAuthorizationService(): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync("ext_authz.proto", {
    includeDirs: [PROTO_DIR],
    keepCase: true,
    longs: String,
    enums: Number,
    defaults: false,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { envoy: { service: { auth: { v3: { Authorization: { service: grpc.ServiceDefinition } } } } } };
  return pkg.envoy.service.auth.v3.Authorization.service;
}

function rpcCodeFor(httpStatus: number): number {
  if (httpStatus === 400 || httpStatus === 413 || httpStatus === 431) return RPC.INVALID_ARGUMENT;
  if (httpStatus === 401) return RPC.UNAUTHENTICATED;
  if (httpStatus === 403) return RPC.PERMISSION_DENIED;
  if (httpStatus === 404) return RPC.NOT_FOUND;
  if (httpStatus === 429) return RPC.RESOURCE_EXHAUSTED;
  if (httpStatus === 503) return RPC.UNAVAILABLE;
  return RPC.INTERNAL;
}

function denied(httpStatus: number, headers: Record<string, string>, body: string): CheckResponse {
  return {
    status: { code: rpcCodeFor(httpStatus) },
    denied_response: {
      status: { code: httpStatus },
      headers: Object.entries(headers).map(([key, value]) => ({ header: { key, value } })),
      body,
    },
  };
}

function badCheck(message: string): CheckResponse {
  const body = JSON.stringify({ error: { code: "invalid_request", message } });
  return denied(400, { "content-type": "application/json" }, body);
}

/**
 * One Check: the CheckRequest and the call's metadata in, the CheckResponse out (never throws; a
 * failure inside is the HTTP variant's structured 5xx, translated like any other denial).
 */
export async function check(request: CheckRequest, gatewayAuthorization: string | null, baseUrl: string): Promise<CheckResponse> {
  const http = request.attributes?.request?.http;
  const provider = request.attributes?.context_extensions?.[PROVIDER_CONTEXT_KEY];
  if (!http?.method || !http.path) return badCheck("The check request carries no HTTP method and path (attributes.request.http)");
  if (!http.path.startsWith("/")) return badCheck("attributes.request.http.path must start with /");
  if (!provider) return badCheck(`Set context_extensions.${PROVIDER_CONTEXT_KEY} to the Frontdesk provider slug`);

  const headers = new Headers();
  for (const [name, value] of Object.entries(http.headers ?? {})) {
    const lower = name.toLowerCase();
    // Pseudo-headers (:authority, :path, ...) are the request line, not headers.
    if (lower.startsWith(":") || CALLER_MAY_NOT_SET.has(lower)) continue;
    try {
      headers.set(lower, value);
    } catch {
      return badCheck(`Header ${lower} is not a valid HTTP header`);
    }
  }
  if (gatewayAuthorization) headers.set(GATEWAY_AUTHORIZATION_HEADER, gatewayAuthorization);
  const scopes = request.attributes?.context_extensions?.[SCOPES_CONTEXT_KEY];
  if (scopes) headers.set(SCOPES_HEADER, scopes);

  // The raw target as the HTTP variant receives it from server.ts: dot segments and escapes are
  // checked before any URL parsing could resolve them.
  const rawTarget = `${EXT_AUTHZ_PATH}/${encodeURIComponent(provider)}${http.path}`;
  let req: Request;
  try {
    req = new Request(new URL(rawTarget, baseUrl), { method: http.method.toUpperCase(), headers });
  } catch {
    return badCheck("The method or path cannot form an HTTP request");
  }
  const res = await extAuthzHandler(rawTarget)(req);
  const body = await res.text();
  if (res.status === 200) {
    const credential: HeaderValueOption[] = [];
    res.headers.forEach((value, key) => {
      if (!NOT_CREDENTIAL.has(key)) credential.push({ header: { key, value }, append: { value: false }, append_action: OVERWRITE_IF_EXISTS_OR_ADD });
    });
    return { status: { code: RPC.OK }, ok_response: { headers: credential } };
  }
  const out: Record<string, string> = {};
  for (const name of DENY_HEADERS) {
    const value = res.headers.get(name);
    if (value) out[name] = value;
  }
  return denied(res.status, out, body);
}

export interface GrpcListenOptions {
  host: string;
  port: number;
  /** PEM files; without them the listener is plaintext h2c and must stay on loopback. */
  tls?: { certFile: string; keyFile: string };
  baseUrl: string;
}

export async function startExtAuthzGrpcServer(opts: GrpcListenOptions): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(loadAuthorizationService(), {
    Check(call: grpc.ServerUnaryCall<CheckRequest, CheckResponse>, callback: grpc.sendUnaryData<CheckResponse>) {
      const presented = call.metadata.get("authorization")[0];
      check(call.request, typeof presented === "string" ? presented : null, opts.baseUrl).then(
        (answer) => callback(null, answer),
        (e: unknown) => {
          log.error("grpc ext_authz check failed", { reason: e instanceof Error ? e.message : "unknown" });
          callback({ code: grpc.status.INTERNAL, details: "check failed" });
        },
      );
    },
  });
  const credentials = opts.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(opts.tls.certFile), private_key: readFileSync(opts.tls.keyFile) }], false)
    : grpc.ServerCredentials.createInsecure();
  const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(`${host}:${opts.port}`, credentials, (e, bound) => (e ? reject(e) : resolve(bound))));
  log.info("grpc ext_authz listening", { host: opts.host, port, tls: Boolean(opts.tls) });
  return { server, port };
}

type GrpcEnv = Pick<ReturnType<typeof env>, "FRONTDESK_EXT_AUTHZ_GRPC_PORT" | "FRONTDESK_EXT_AUTHZ_GRPC_HOST" | "FRONTDESK_EXT_AUTHZ_GRPC_TLS_CERT_FILE" | "FRONTDESK_EXT_AUTHZ_GRPC_TLS_KEY_FILE">;

/** Where and how the listener binds, from the configuration; null when it is off. Throws on an unsafe setup. */
export function grpcListenerSettings(e: GrpcEnv): Omit<GrpcListenOptions, "baseUrl"> | null {
  if (e.FRONTDESK_EXT_AUTHZ_GRPC_PORT === undefined) return null;
  const certFile = e.FRONTDESK_EXT_AUTHZ_GRPC_TLS_CERT_FILE;
  const keyFile = e.FRONTDESK_EXT_AUTHZ_GRPC_TLS_KEY_FILE;
  if ((certFile === undefined) !== (keyFile === undefined)) throw new Error("FRONTDESK_EXT_AUTHZ_GRPC_TLS_CERT_FILE and _KEY_FILE go together");
  // Gateway secrets and user tokens cross this listener: plaintext only on loopback.
  const loopback = ["127.0.0.1", "::1", "localhost"].includes(e.FRONTDESK_EXT_AUTHZ_GRPC_HOST);
  if (!loopback && !certFile) throw new Error("FRONTDESK_EXT_AUTHZ_GRPC_HOST is not a loopback address: set FRONTDESK_EXT_AUTHZ_GRPC_TLS_CERT_FILE and _KEY_FILE");
  return { host: e.FRONTDESK_EXT_AUTHZ_GRPC_HOST, port: e.FRONTDESK_EXT_AUTHZ_GRPC_PORT, tls: certFile && keyFile ? { certFile, keyFile } : undefined };
}

/** Starts the gRPC ext_authz listener when FRONTDESK_EXT_AUTHZ_GRPC_PORT is set; null otherwise. */
export async function startConfiguredExtAuthzGrpcServer(): Promise<{ server: grpc.Server; port: number } | null> {
  const settings = grpcListenerSettings(env());
  return settings ? startExtAuthzGrpcServer({ ...settings, baseUrl: publicUrl() }) : null;
}
