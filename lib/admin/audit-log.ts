// The audit log as the dashboard reads it: filters given as people type them (an email, a
// gateway name, a provider slug) resolved to ids, pages through lib/audit/query.ts (keyset on
// seq), names for the ids on a page, one event's detail, and streaming exports (CSV, JSON Lines).
import { z } from "zod";
import { appendAudit } from "@/lib/audit/append";
import { listAuditEvents, MAX_PAGE, parseAuditSeq, type AuditEventFilter } from "@/lib/audit/query";
import { getDb } from "@/lib/db/client";
import type { AuditEvent } from "@/lib/generated/prisma/client";
import type { AdminActor } from "./access";

/** The filter as it appears in the URL (all optional strings). */
export const auditQuerySchema = z.object({
  user: z.string().trim().max(320).optional(),
  gateway: z.string().trim().max(128).optional(),
  /** Agent id, display name or subject (e.g. a SPIFFE ID). */
  agent: z.string().trim().max(1024).optional(),
  provider: z.string().trim().max(128).optional(),
  action: z.string().trim().max(128).optional(),
  decision: z.enum(["allow", "deny", "info"]).optional(),
  /** ISO date or datetime (UTC), inclusive. */
  from: z.string().trim().max(40).optional(),
  /** ISO date or datetime (UTC), exclusive. */
  to: z.string().trim().max(40).optional(),
});

export type AuditQuery = z.output<typeof auditQuerySchema>;

/** Reads the filter from URL search params; unknown or malformed values are dropped, not fatal. */
export function readAuditQuery(params: Record<string, string | string[] | undefined>): AuditQuery {
  const out: Record<string, string> = {};
  for (const key of Object.keys(auditQuerySchema.shape)) {
    const v = params[key];
    const s = Array.isArray(v) ? v[0] : v;
    // A NUL cannot be stored or matched in PostgreSQL text (the query would fail as a 500): malformed.
    if (typeof s === "string" && s.trim() !== "" && !s.includes("\0")) out[key] = s;
  }
  const parsed = auditQuerySchema.safeParse(out);
  if (parsed.success) return parsed.data;
  // Keep the valid fields only.
  const kept: AuditQuery = {};
  for (const [k, v] of Object.entries(out)) {
    const one = auditQuerySchema.pick({ [k]: true } as never).safeParse({ [k]: v });
    if (one.success) Object.assign(kept, one.data);
  }
  return kept;
}

/**
 * `datetime-local` values ("2026-11-21T10:00") and dates are read as UTC. Only years 1 to 9999:
 * JavaScript dates reach year -271821 and +275760, PostgreSQL's timestamps only 4713 BC, and
 * Prisma sends extended years in a form PostgreSQL refuses, so such a filter failed the query.
 */
export function parseUtc(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const withZone = /[zZ]|[+-]\d\d:\d\d$/.test(value) ? value : /T/.test(value) ? `${value}Z` : `${value}T00:00:00Z`;
  const d = new Date(withZone);
  if (Number.isNaN(d.getTime())) return undefined;
  const year = d.getUTCFullYear();
  return year >= 1 && year <= 9999 ? d : undefined;
}

export interface ResolvedAuditFilter {
  filter: AuditEventFilter;
  /** A filter value that names nothing: the result is empty, and the page says why. */
  unmatched: string[];
}

/** Turns names into ids: user by id or email, gateway by id or name, provider by id or slug. */
export async function resolveAuditFilter(q: AuditQuery): Promise<ResolvedAuditFilter> {
  const db = await getDb();
  const filter: AuditEventFilter = {};
  const unmatched: string[] = [];
  if (q.user) {
    if (q.user.includes("@")) {
      const u = await db.user.findFirst({ where: { email: q.user.toLowerCase() }, select: { id: true } });
      if (u) filter.userId = u.id;
      else unmatched.push("user");
    } else filter.userId = q.user;
  }
  if (q.gateway) {
    const g = await db.gateway.findFirst({ where: { OR: [{ id: q.gateway }, { name: q.gateway }] }, select: { id: true } });
    filter.gatewayId = g?.id ?? q.gateway;
  }
  if (q.agent) {
    const a = await db.agent.findFirst({ where: { OR: [{ id: q.agent }, { subject: q.agent }, { displayName: q.agent }] }, select: { id: true } });
    filter.agentId = a?.id ?? q.agent;
  }
  if (q.provider) {
    const p = await db.provider.findFirst({ where: { OR: [{ id: q.provider }, { slug: q.provider }] }, select: { id: true } });
    filter.providerId = p?.id ?? q.provider;
  }
  if (q.action) filter.action = q.action;
  if (q.decision) filter.decision = q.decision;
  const from = parseUtc(q.from);
  const to = parseUtc(q.to);
  if (from) filter.from = from;
  if (to) filter.to = to;
  return { filter, unmatched };
}

export interface AuditNames {
  users: Map<string, string>;
  gateways: Map<string, string>;
  agents: Map<string, string>;
  providers: Map<string, string>;
}

/**
 * Display names for the ids on a page (users by e-mail, gateways by name, providers by slug).
 * A person is named the same way wherever they appear: by their Frontdesk user id, or by the
 * "<issuer>|<subject>" reference events carry before a user row exists (auditSubjectRef), which
 * resolves to that user's e-mail once they have signed in, and to "subject at issuer host" before.
 */
export async function loadAuditNames(
  events: { actorId?: string | null; userId?: string | null; gatewayId?: string | null; agentId?: string | null; providerId?: string | null }[],
): Promise<AuditNames> {
  const db = await getDb();
  const userIds = new Set<string>();
  const subjectRefs = new Map<string, { issuer: string; subject: string }>();
  const gatewayIds = new Set<string>();
  const providerIds = new Set<string>();
  const agentIds = new Set<string>();
  for (const e of events) {
    if (e.agentId) agentIds.add(e.agentId);
    for (const id of [e.actorId, e.userId]) {
      if (id?.startsWith("usr_")) userIds.add(id);
      else if (id?.includes("|")) subjectRefs.set(id, splitSubjectRef(id));
    }
    if (e.actorId?.startsWith("gw_")) gatewayIds.add(e.actorId);
    if (e.gatewayId) gatewayIds.add(e.gatewayId);
    if (e.providerId) providerIds.add(e.providerId);
  }
  const person = { id: true, issuer: true, subject: true, email: true, name: true } as const;
  const [users, referenced, gateways, providers, agents] = await Promise.all([
    userIds.size ? db.user.findMany({ where: { id: { in: [...userIds] } }, select: person }) : [],
    subjectRefs.size ? db.user.findMany({ where: { OR: [...subjectRefs.values()] }, select: person }) : [],
    gatewayIds.size ? db.gateway.findMany({ where: { id: { in: [...gatewayIds] } }, select: { id: true, name: true } }) : [],
    providerIds.size ? db.provider.findMany({ where: { id: { in: [...providerIds] } }, select: { id: true, slug: true } }) : [],
    agentIds.size ? db.agent.findMany({ where: { id: { in: [...agentIds] } }, select: { id: true, displayName: true } }) : [],
  ]);
  const label = (u: { email: string | null; name: string | null; subject: string }) => u.email ?? u.name ?? u.subject;
  const people = new Map(users.map((u) => [u.id, label(u)]));
  for (const [ref, { issuer, subject }] of subjectRefs) {
    const known = referenced.find((u) => u.issuer === issuer && u.subject === subject);
    people.set(ref, known ? label(known) : `${subject} at ${hostOf(issuer)}`);
  }
  return {
    users: people,
    gateways: new Map(gateways.map((g) => [g.id, g.name])),
    agents: new Map(agents.map((a) => [a.id, a.displayName])),
    providers: new Map(providers.map((p) => [p.id, p.slug])),
  };
}

/** auditSubjectRef's inverse. Issuers are URLs (no "|"); subjects may contain one (e.g. "auth0|123"). */
function splitSubjectRef(ref: string): { issuer: string; subject: string } {
  const bar = ref.indexOf("|");
  return { issuer: ref.slice(0, bar), subject: ref.slice(bar + 1) };
}

function hostOf(issuer: string): string {
  try {
    return new URL(issuer).host;
  } catch {
    return issuer;
  }
}

export async function findAuditEvent(idOrSeq: string): Promise<AuditEvent | null> {
  // From a URL: a NUL names nothing (and would fail the query as a 500).
  if (idOrSeq.includes("\0")) return null;
  const db = await getDb();
  if (/^\d+$/.test(idOrSeq)) {
    const seq = parseAuditSeq(idOrSeq);
    return seq === undefined ? null : db.auditEvent.findUnique({ where: { seq } });
  }
  return db.auditEvent.findUnique({ where: { id: idOrSeq } });
}

/** Actions Frontdesk writes (for the filter's suggestions; any dotted action can be typed). */
export const KNOWN_ACTIONS = [
  "resolve",
  "token_exchange",
  "elicitation.created",
  "elicitation.approved",
  "elicitation.completed",
  "elicitation.declined",
  "elicitation.expired",
  "elicitation.refused",
  "elicitation.failed",
  "elicitation.api_key_rejected",
  "grant.created",
  "grant.refreshed",
  "grant.refresh_failed",
  "grant.needs_reauth",
  "grant.revoked",
  "oauth.callback_rejected",
  "gateway.auth_failed",
  "admin.access_denied",
  "admin.grants_bulk_revoked",
  "admin.session_ended",
  "admin.user_sessions_ended",
  "admin.provider_created",
  "admin.provider_updated",
  "admin.provider_disabled",
  "admin.provider_enabled",
  "admin.gateway_created",
  "admin.gateway_updated",
  "admin.gateway_secret_rotated",
  "admin.gateway_disabled",
  "admin.gateway_enabled",
  "admin.policy_rule_created",
  "admin.policy_rule_updated",
  "admin.policy_rule_enabled",
  "admin.policy_rule_disabled",
  "admin.policy_rule_deleted",
  "admin.audit_exported",
] as const;

export type ExportFormat = "csv" | "jsonl";

export const EXPORT_COLUMNS = [
  "seq",
  "id",
  "at",
  "actorType",
  "actorId",
  "userId",
  "gatewayId",
  "agentId",
  "providerId",
  "action",
  "decision",
  "reason",
  "requestId",
  "context",
  "prevHash",
  "hash",
] as const;

function plain(e: AuditEvent): Record<(typeof EXPORT_COLUMNS)[number], string | null | unknown> {
  return {
    seq: e.seq.toString(),
    id: e.id,
    at: e.at.toISOString(),
    actorType: e.actorType,
    actorId: e.actorId,
    userId: e.userId,
    gatewayId: e.gatewayId,
    agentId: e.agentId,
    providerId: e.providerId,
    action: e.action,
    decision: e.decision,
    reason: e.reason,
    requestId: e.requestId,
    context: e.context,
    prevHash: e.prevHash,
    hash: e.hash,
  };
}

/** RFC 4180 quoting; a leading = + - @ (or tab/CR) is prefixed with ' so spreadsheets never evaluate it. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  let s = typeof value === "string" ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsvLine(e: AuditEvent): string {
  const row = plain(e);
  return `${EXPORT_COLUMNS.map((c) => csvCell(row[c])).join(",")}\r\n`;
}

export function toJsonLine(e: AuditEvent): string {
  return `${JSON.stringify(plain(e))}\n`;
}

/**
 * Every event matching `filter`, newest first, as a byte stream; pages are read as the client
 * consumes them (constant memory for any size). Stops early if the client goes away. The first
 * page is read before the stream is returned, so a failing query is an error the route answers
 * with a status (it used to fail inside the stream, before any status line was sent).
 */
export async function streamAuditExport(filter: AuditEventFilter, format: ExportFormat): Promise<ReadableStream<Uint8Array>> {
  const encoder = new TextEncoder();
  let cursor: bigint | undefined;
  let done = false;
  let first: Awaited<ReturnType<typeof listAuditEvents>> | null = await listAuditEvents({ ...filter, limit: MAX_PAGE });
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (format === "csv") controller.enqueue(encoder.encode(`${EXPORT_COLUMNS.join(",")}\r\n`));
    },
    async pull(controller) {
      if (done) return;
      const page = first ?? (await listAuditEvents({ ...filter, cursor, limit: MAX_PAGE }));
      first = null;
      const text = page.events.map(format === "csv" ? toCsvLine : toJsonLine).join("");
      if (text) controller.enqueue(encoder.encode(text));
      if (page.nextCursor === null) {
        done = true;
        controller.close();
      } else cursor = page.nextCursor;
    },
  });
}

/** An export with no rows (a filter that names nothing): only the CSV header, or nothing. */
export function emptyAuditExport(format: ExportFormat): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(format === "csv" ? `${EXPORT_COLUMNS.join(",")}\r\n` : "");
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (bytes.length) controller.enqueue(bytes);
      controller.close();
    },
  });
}

/** Exports are audited (who took which slice of the log), before any byte is sent. */
export async function auditExportStarted(actor: AdminActor, q: AuditQuery, format: ExportFormat): Promise<void> {
  await appendAudit({ actorType: "admin", actorId: actor.id, action: "admin.audit_exported", decision: "info", context: { format, filter: q } });
}
