// Dashboard overview: headline counts, resolves and elicitations over time (allowed vs denied),
// and what needs attention (refresh failures, grants needing re-authorization, denied requests).
// Time series are one aggregate query over the `at` index, bucketed in PostgreSQL.
import { getDb } from "@/lib/db/client";

export interface OverviewCounts {
  users: number;
  activeGrants: number;
  needsReauthGrants: number;
  pendingElicitations: number;
  activeGateways: number;
  providers: number;
}

export async function getOverviewCounts(now = new Date()): Promise<OverviewCounts> {
  const db = await getDb();
  const [users, activeGrants, needsReauthGrants, pendingElicitations, activeGateways, providers] = await Promise.all([
    db.user.count(),
    db.grant.count({ where: { status: "active" } }),
    db.grant.count({ where: { status: "needs_reauth" } }),
    db.elicitation.count({ where: { status: "pending", expiresAt: { gt: now } } }),
    db.gateway.count({ where: { status: "active" } }),
    db.provider.count({ where: { status: "active" } }),
  ]);
  return { users, activeGrants, needsReauthGrants, pendingElicitations, activeGateways, providers };
}

export type Bucket = "hour" | "day";

export interface ActivityPoint {
  /** Start of the bucket, ISO 8601 UTC. */
  start: string;
  resolvesAllowed: number;
  /** Resolves refused by policy, authentication of the subject, or upstream errors. */
  resolvesDenied: number;
  /** Resolves answered with an elicitation (consent needed). */
  resolvesElicited: number;
  elicitationsCompleted: number;
  /** Declined, expired, refused (wrong user) or failed. */
  elicitationsUnsuccessful: number;
}

export const BUCKET_SPAN: Record<Bucket, { count: number; ms: number }> = {
  hour: { count: 48, ms: 3_600_000 },
  day: { count: 30, ms: 86_400_000 },
};

function truncate(date: Date, bucket: Bucket): Date {
  const d = new Date(date);
  d.setUTCMinutes(0, 0, 0);
  if (bucket === "day") d.setUTCHours(0);
  return d;
}

interface ActivityRow {
  bucket: string;
  resolves_allowed: bigint;
  resolves_denied: bigint;
  resolves_elicited: bigint;
  elicitations_completed: bigint;
  elicitations_unsuccessful: bigint;
}

/** The last 48 hours by hour, or the last 30 days by day, gaps filled with zeros. */
export async function getActivitySeries(bucket: Bucket, now = new Date()): Promise<ActivityPoint[]> {
  const span = BUCKET_SPAN[bucket];
  const last = truncate(now, bucket);
  const first = new Date(last.getTime() - (span.count - 1) * span.ms);
  const db = await getDb();
  // `at` is a timestamp holding UTC wall time; the ISO parameter is cast the same way.
  const rows = await db.$queryRawUnsafe<ActivityRow[]>(
    `SELECT to_char(date_trunc($1, at), 'YYYY-MM-DD"T"HH24:00:00.000"Z"') AS bucket,
       count(*) FILTER (WHERE action IN ('resolve', 'token_exchange') AND decision = 'allow') AS resolves_allowed,
       count(*) FILTER (WHERE action IN ('resolve', 'token_exchange') AND decision = 'deny'
                          AND coalesce(reason, '') NOT LIKE 'interaction_required%') AS resolves_denied,
       count(*) FILTER (WHERE action IN ('resolve', 'token_exchange') AND decision = 'deny'
                          AND reason LIKE 'interaction_required%') AS resolves_elicited,
       count(*) FILTER (WHERE action = 'elicitation.completed') AS elicitations_completed,
       count(*) FILTER (WHERE action IN ('elicitation.declined', 'elicitation.expired', 'elicitation.refused', 'elicitation.failed'))
         AS elicitations_unsuccessful
     FROM "AuditEvent"
     WHERE at >= $2::timestamp
       AND (action IN ('resolve', 'token_exchange') OR action LIKE 'elicitation.%')
     GROUP BY 1`,
    bucket,
    first.toISOString(),
  );
  const byStart = new Map(rows.map((r) => [r.bucket, r]));
  const points: ActivityPoint[] = [];
  for (let i = 0; i < span.count; i++) {
    const start = new Date(first.getTime() + i * span.ms).toISOString();
    const r = byStart.get(start);
    points.push({
      start,
      resolvesAllowed: Number(r?.resolves_allowed ?? 0),
      resolvesDenied: Number(r?.resolves_denied ?? 0),
      resolvesElicited: Number(r?.resolves_elicited ?? 0),
      elicitationsCompleted: Number(r?.elicitations_completed ?? 0),
      elicitationsUnsuccessful: Number(r?.elicitations_unsuccessful ?? 0),
    });
  }
  return points;
}

export interface RecentProblems {
  refreshFailures: { seq: bigint; at: Date; userId: string | null; providerId: string | null; action: string; reason: string | null }[];
  needsReauth: { id: string; userId: string; providerId: string; updatedAt: Date; user: { email: string | null; name: string | null }; provider: { slug: string; displayName: string } }[];
  denied: { seq: bigint; at: Date; action: string; reason: string | null; userId: string | null; gatewayId: string | null; providerId: string | null }[];
}

const eventFields = { seq: true, at: true, action: true, reason: true, userId: true, gatewayId: true, providerId: true } as const;

export async function getRecentProblems(limit = 8): Promise<RecentProblems> {
  const db = await getDb();
  const [refreshFailures, needsReauth, denied] = await Promise.all([
    db.auditEvent.findMany({
      where: { action: { in: ["grant.refresh_failed", "grant.needs_reauth"] } },
      orderBy: { seq: "desc" },
      take: limit,
      select: eventFields,
    }),
    db.grant.findMany({
      where: { status: "needs_reauth" },
      orderBy: { updatedAt: "desc" },
      take: limit,
      select: {
        id: true,
        userId: true,
        providerId: true,
        updatedAt: true,
        user: { select: { email: true, name: true } },
        provider: { select: { slug: true, displayName: true } },
      },
    }),
    // Consent requests are the normal flow, not failures.
    db.auditEvent.findMany({
      where: { decision: "deny", OR: [{ reason: null }, { NOT: { reason: { startsWith: "interaction_required" } } }] },
      orderBy: { seq: "desc" },
      take: limit,
      select: eventFields,
    }),
  ]);
  return { refreshFailures, needsReauth, denied };
}
