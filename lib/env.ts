// The only reader of process.env: one zod schema, parsed once, failing fast with every bad
// variable named. Secrets are validated here for shape; their use lives in lib/crypto.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { actorIssuerListSchema } from "@/lib/agents/issuer-config";
import { KEY_VERSION_PATTERN, KeySpecError, parseKeySpecs } from "@/lib/crypto/key-spec";

const csv = z
  .string()
  .optional()
  .transform((v) => (v ?? "").split(",").map((s) => s.trim()).filter(Boolean));

const flag = z
  .enum(["true", "false", "1", "0", ""])
  .optional()
  .transform((v) => v === "true" || v === "1");

const url = z.url({ protocol: /^https?$/ });

export const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  /** PostgreSQL connection string; without it Frontdesk uses embedded PGlite in FRONTDESK_DATA_DIR. */
  DATABASE_URL: z.string().startsWith("postgres").optional(),
  FRONTDESK_DATA_DIR: z.string().min(1).default("./.data"),
  /**
   * Key-encryption keys, `version:base64(32 bytes)`, comma separated; the first is active, the
   * others decrypt-only (README "Key rotation" gives the rolling order).
   */
  FRONTDESK_KEYS: z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      if (value === undefined) return;
      try {
        parseKeySpecs(value, "key list");
      } catch (e) {
        // The parser's messages name the entry and the problem, never the key.
        ctx.addIssue({ code: "custom", message: e instanceof KeySpecError ? e.message : "invalid key list" });
      }
    }),
  /** Instead of FRONTDESK_KEYS: a file (mode 0600) with the same list, read again when a row names an unknown version. */
  FRONTDESK_KEYS_FILE: z.string().min(1).optional(),
  /**
   * Key-encryption keys in a PKCS#11 token (an HSM; lib/crypto/pkcs11-keys.ts): the vendor's
   * module, the token (by label, or by slot id), a file holding the user PIN (mode 0600), and the
   * labels of the token's AES keys to use, first active. With FRONTDESK_KEYS(_FILE) also set, those
   * only decrypt (a migration to the HSM; `keys rotate` moves every record over).
   */
  FRONTDESK_PKCS11_MODULE: z.string().min(1).optional(),
  FRONTDESK_PKCS11_TOKEN_LABEL: z.string().min(1).max(32).optional(),
  FRONTDESK_PKCS11_SLOT: z.coerce.number().int().min(0).optional(),
  FRONTDESK_PKCS11_PIN_FILE: z.string().min(1).optional(),
  FRONTDESK_PKCS11_KEYS: csv.refine((labels) => labels.every((l) => KEY_VERSION_PATTERN.test(l)), "key labels are key versions: 1-32 of A-Z a-z 0-9 _ -"),
  /** Sessions the token is used through at once (one wrap or unwrap each). */
  FRONTDESK_PKCS11_SESSIONS: z.coerce.number().int().min(1).max(64).default(4),
  /** With a token and local keys both configured: the version that wraps (default: the token's first). */
  FRONTDESK_ACTIVE_KEY_VERSION: z.string().regex(KEY_VERSION_PATTERN, "1-32 of A-Z a-z 0-9 _ -").optional(),
  /** Public origin of the portal and API, e.g. https://frontdesk.example.com. */
  FRONTDESK_URL: url.optional(),
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  /** next-auth session/CSRF secret (at least 32 bytes of randomness). */
  AUTH_SECRET: z.string().min(32).optional(),
  /** The organization's identity provider (portal sign-in, default subject-token issuer). */
  OIDC_ISSUER: url.optional(),
  OIDC_CLIENT_ID: z.string().min(1).optional(),
  OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  OIDC_GROUPS_CLAIM: z.string().min(1).default("groups"),
  OIDC_ADMIN_GROUP: z.string().min(1).optional(),
  /** Scopes the portal asks the IdP for at sign-in (add e.g. `groups` if the IdP needs it for the claim). */
  OIDC_SCOPES: z.string().min(1).default("openid email profile"),
  /** Name of the IdP on the sign-in button, e.g. "Acme SSO". */
  OIDC_PROVIDER_NAME: z.string().min(1).max(60).default("your organization"),
  /** Emails of users who are admins regardless of groups. */
  ADMIN_EMAILS: csv,
  /** Extra trusted subject-token issuers (besides OIDC_ISSUER). */
  SUBJECT_TOKEN_ISSUERS: csv,
  /** Accepted `aud` values of subject tokens (default: OIDC_CLIENT_ID and FRONTDESK_URL). */
  SUBJECT_TOKEN_AUDIENCES: csv,
  /**
   * Trusted workload issuers of actor tokens (RFC 8693 actor_token), a JSON array of
   * { issuer? | trustDomain?, jwksUri? | jwks?, audiences? } (lib/agents/issuer-config.ts).
   */
  ACTOR_TOKEN_ISSUERS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return [];
      let parsed: unknown;
      try {
        parsed = JSON.parse(v);
      } catch {
        ctx.addIssue({ code: "custom", message: "must be a JSON array" });
        return z.NEVER;
      }
      const list = actorIssuerListSchema.safeParse(parsed);
      if (!list.success) {
        const issue = list.error.issues[0];
        ctx.addIssue({ code: "custom", message: `${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}` });
        return z.NEVER;
      }
      return list.data;
    }),
  /**
   * IdPs whose ID-JAGs (draft-ietf-oauth-identity-assertion-authz-grant) the token endpoint
   * accepts with the RFC 7523 jwt-bearer grant, exactly as they appear in `iss`; empty: none.
   */
  ID_JAG_ISSUERS: csv,
  /** Accepted `aud` values of actor tokens (default: FRONTDESK_URL and its token endpoint). */
  ACTOR_TOKEN_AUDIENCES: csv,
  /** Development only: issuers that may be reached over plain http (logged at start). */
  FRONTDESK_INSECURE_HTTP_ISSUERS: csv,
  ELICITATION_TTL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(600),
  /** Longest standing delegation a user may give an agent, in days (lib/delegations). */
  DELEGATION_MAX_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /** Upper bound for `expires_in` handed to gateways, so their caches honor revocation quickly. */
  TOKEN_MAX_EXPIRES_IN: z.coerce.number().int().min(5).max(3600).default(300),
  /** Egress proxy: largest request body forwarded upstream (bytes). */
  FRONTDESK_PROXY_MAX_REQUEST_BYTES: z.coerce.number().int().min(0).max(1024 ** 3).default(10 * 1024 * 1024),
  /** Egress proxy: largest upstream response streamed back (bytes); a longer one is cut off. */
  FRONTDESK_PROXY_MAX_RESPONSE_BYTES: z.coerce.number().int().min(1024).max(16 * 1024 ** 3).default(256 * 1024 * 1024),
  /** Egress proxy: longest wait for the upstream's response headers, and longest silence while streaming (seconds). */
  FRONTDESK_PROXY_TIMEOUT_SECONDS: z.coerce.number().min(0.1).max(600).default(30),
  /** Egress proxy: DNS servers (`ip` or `ip:port`) to resolve upstream hosts with, instead of the system resolver. */
  FRONTDESK_EGRESS_DNS_SERVERS: csv,
  /**
   * E-mail notices (off when unset): `smtp://user:pass@host:587` (STARTTLS when the server offers
   * it; add `?requireTLS=true` to insist) or `smtps://host:465`. Needs NOTIFY_EMAIL_FROM.
   */
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^\s]+$/, "must be an smtp:// or smtps:// URL")
    .optional(),
  /** Sender of e-mail notices, e.g. `Frontdesk <frontdesk@example.com>`. */
  NOTIFY_EMAIL_FROM: z.string().min(3).max(200).regex(/@/, "must contain an e-mail address").optional(),
  /** One chat webhook per deployment (e.g. a Slack/Teams bot) receiving signed notice events; off when unset. */
  NOTIFY_CHAT_WEBHOOK_URL: url.optional(),
  /** Outbox retries: first delay, cap, and how many attempts before an event is given up (admins see it). */
  OUTBOX_RETRY_BASE_MS: z.coerce.number().int().min(10).max(600_000).default(2_000),
  OUTBOX_RETRY_MAX_MS: z.coerce.number().int().min(10).max(86_400_000).default(600_000),
  OUTBOX_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(1_000).default(25),
  /** How long one delivery attempt owns an event; another instance takes it over after that (crash). */
  OUTBOX_LEASE_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
  /** How often each instance looks for due events besides being woken by its own commits. */
  OUTBOX_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1_000),
  /** Delivered and given-up outbox events are deleted this many days after they ended (hourly, by every instance). */
  OUTBOX_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(14),
  /** On SIGTERM: how long to keep serving (readiness already 503) so the load balancer stops routing here. */
  FRONTDESK_SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).max(120_000).default(2_000),
  /** On SIGTERM: the longest to wait for in-flight requests before exiting anyway. */
  FRONTDESK_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(25_000),
  /**
   * The longest a resolve waits for a token refresh (a slow or hanging provider, a queue of
   * refreshes): then it serves the still-valid token or answers 503 + Retry-After, while the
   * refresh itself carries on and stores what the provider returns.
   */
  REFRESH_DEADLINE_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /**
   * How often each instance looks for refreshes interrupted (a crash) after the provider may have
   * rotated the refresh token, to redo them within the provider's reuse grace (lib/grants/refresh-recovery.ts).
   */
  REFRESH_RECOVERY_POLL_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /** Consecutive failed (or deadline-exceeding) refreshes at one provider that open its circuit breaker. */
  UPSTREAM_BREAKER_FAILURES: z.coerce.number().int().min(1).max(1_000).default(3),
  /** How long an open breaker fails refreshes fast before one trial call (half-open). */
  UPSTREAM_BREAKER_OPEN_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  /** Prometheus metrics on their own listener (off when unset; never on the public port). */
  FRONTDESK_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Address of the metrics listener; widen it (e.g. 0.0.0.0 in a container) only with a token. */
  FRONTDESK_METRICS_HOST: z.string().min(1).default("127.0.0.1"),
  /** Bearer token the scraper must send to the metrics listener (16+ characters). */
  FRONTDESK_METRICS_TOKEN: z.string().min(16).optional(),
  /** gRPC ext_authz (envoy.service.auth.v3.Authorization/Check) on its own listener; off when unset. */
  FRONTDESK_EXT_AUTHZ_GRPC_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Address of the gRPC ext_authz listener; beyond loopback only with the TLS files below. */
  FRONTDESK_EXT_AUTHZ_GRPC_HOST: z.string().min(1).default("127.0.0.1"),
  FRONTDESK_EXT_AUTHZ_GRPC_TLS_CERT_FILE: z.string().min(1).optional(),
  FRONTDESK_EXT_AUTHZ_GRPC_TLS_KEY_FILE: z.string().min(1).optional(),
  /** OTLP/HTTP traces endpoint (e.g. http://collector:4318/v1/traces); tracing is off when unset. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url.optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default("frontdesk"),
  /**
   * Addresses or CIDR ranges of reverse proxies / load balancers whose X-Forwarded-For is
   * believed; without it the source of a request is its socket address (lib/http-edge).
   */
  FRONTDESK_TRUSTED_PROXIES: csv,
  /** Rate limits (lib/rate-limit), shared by all instances, per minute. */
  RATE_LIMIT_AUTH_FAILURES_PER_SOURCE: z.coerce.number().int().min(1).default(30),
  RATE_LIMIT_AUTH_FAILURES_PER_CLIENT_ID: z.coerce.number().int().min(1).default(60),
  RATE_LIMIT_GATEWAY_CALLS: z.coerce.number().int().min(1).default(600_000),
  RATE_LIMIT_PORTAL_ACTIONS_PER_USER: z.coerce.number().int().min(1).default(60),
  RATE_LIMIT_PORTAL_ACTIONS_PER_SESSION: z.coerce.number().int().min(1).default(30),
  RATE_LIMIT_ELICITATIONS_PER_USER: z.coerce.number().int().min(1).default(30),
  /**
   * Demo mode (`npm start` runs demo/start.ts): true forces it, even with DATABASE_URL. Without it,
   * the launcher runs the demo only when neither OIDC_ISSUER nor DATABASE_URL is set. The home page
   * shows the demo walkthrough (and the demo users' passwords) only when this is true.
   */
  FRONTDESK_DEMO: flag,
  /**
   * Demo mode: how the reference gateway reaches Notes. `proxy` (default): through Frontdesk's
   * egress proxy, so the gateway never holds the token; `inject`: RFC 8693 exchange, the gateway adds it.
   */
  FRONTDESK_DEMO_GATEWAY_MODE: z.enum(["proxy", "inject"]).default("proxy"),
  /** Demo mode: first of five ports for the demo IdP, Notes upstream, egress gateway, MCP server and Team Notes. */
  FRONTDESK_DEMO_BASE_PORT: z.coerce.number().int().min(1024).max(65_531).default(3100),
});

export type Env = z.output<typeof envSchema>;

// Settings that only make sense together (checked after the field-level schema).
const pairedSchema = envSchema.superRefine((e, ctx) => {
  if (e.SMTP_URL && !e.NOTIFY_EMAIL_FROM) ctx.addIssue({ code: "custom", path: ["NOTIFY_EMAIL_FROM"], message: "required when SMTP_URL is set" });
  if (e.FRONTDESK_PKCS11_MODULE) {
    if ((e.FRONTDESK_PKCS11_TOKEN_LABEL === undefined) === (e.FRONTDESK_PKCS11_SLOT === undefined)) {
      ctx.addIssue({ code: "custom", path: ["FRONTDESK_PKCS11_TOKEN_LABEL"], message: "set FRONTDESK_PKCS11_TOKEN_LABEL or FRONTDESK_PKCS11_SLOT (one of them)" });
    }
    if (!e.FRONTDESK_PKCS11_PIN_FILE) ctx.addIssue({ code: "custom", path: ["FRONTDESK_PKCS11_PIN_FILE"], message: "required when FRONTDESK_PKCS11_MODULE is set" });
  } else {
    for (const name of ["FRONTDESK_PKCS11_TOKEN_LABEL", "FRONTDESK_PKCS11_SLOT", "FRONTDESK_PKCS11_PIN_FILE"] as const) {
      if (e[name] !== undefined) ctx.addIssue({ code: "custom", path: [name], message: "needs FRONTDESK_PKCS11_MODULE" });
    }
    if (e.FRONTDESK_PKCS11_KEYS.length) ctx.addIssue({ code: "custom", path: ["FRONTDESK_PKCS11_KEYS"], message: "needs FRONTDESK_PKCS11_MODULE" });
  }
});

export class EnvError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join("\n")}`);
    this.name = "EnvError";
  }
}

/**
 * Secrets that may come from a file instead (`<NAME>_FILE=/run/secrets/...`, as container
 * platforms mount them), so they never sit in the process environment or a manifest. Setting
 * both is an error. (Key-encryption keys have their own FRONTDESK_KEYS_FILE, re-read at rotation.)
 */
export const FILE_SECRETS = ["DATABASE_URL", "AUTH_SECRET", "OIDC_CLIENT_SECRET", "FRONTDESK_METRICS_TOKEN"] as const;

function readFileSecrets(source: Record<string, string | undefined>): { values: Record<string, string>; issues: string[] } {
  const values: Record<string, string> = {};
  const issues: string[] = [];
  for (const name of FILE_SECRETS) {
    const file = source[`${name}_FILE`];
    if (!file) continue;
    if (source[name]) {
      issues.push(`${name}: set ${name} or ${name}_FILE, not both`);
      continue;
    }
    try {
      values[name] = readFileSync(file, "utf8").trim();
    } catch (e) {
      issues.push(`${name}_FILE: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? "error"})`);
    }
  }
  return { values, issues };
}

/** Parses a given environment (pure but for reading `<NAME>_FILE` secrets; used by tests and by `env()`). */
export function parseEnv(source: Record<string, string | undefined>): Env {
  const fromFiles = readFileSecrets(source);
  if (fromFiles.issues.length > 0) throw new EnvError(fromFiles.issues);
  // Treat empty strings as unset, the way .env files and shells usually mean them.
  const cleaned = Object.fromEntries(
    Object.entries({ ...source, ...fromFiles.values }).filter(([k, v]) => v !== undefined && v !== "" && !FILE_SECRETS.some((n) => k === `${n}_FILE`)),
  );
  const result = pairedSchema.safeParse(cleaned);
  if (!result.success) {
    // Name the variable and the problem, never the value (it may be a secret).
    throw new EnvError(result.error.issues.map((i) => `${i.path.join(".") || "(env)"}: ${i.message}`));
  }
  return result.data;
}

let cached: Env | undefined;

/** The process configuration, parsed once. */
export function env(): Env {
  cached ??= parseEnv(process.env);
  return cached;
}

/** The public origin (no trailing slash). */
export function publicUrl(): string {
  const e = env();
  return (e.FRONTDESK_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, "");
}

/** Whether `npm start` should bring up the demo (see FRONTDESK_DEMO). */
export function isDemoLaunch(e: Pick<Env, "FRONTDESK_DEMO" | "OIDC_ISSUER" | "DATABASE_URL">): boolean {
  return e.FRONTDESK_DEMO || (!e.OIDC_ISSUER && !e.DATABASE_URL);
}
