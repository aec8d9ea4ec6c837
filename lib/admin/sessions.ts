// Portal sessions (the database rows next-auth reads on every request): list, end one, end all
// of a user's. Ending deletes the row, so the browser's next request is signed out on every
// instance at once. The session token itself is never stored (only its hash) nor shown.
import { appendAudit } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { AdminActor } from "./access";
import { toPage, type Page, type PageRequest } from "./pagination";

export interface SessionFilter {
  q?: string;
  userId?: string;
  /** Include expired sessions (default: only live ones). */
  includeExpired?: boolean;
}

export interface AdminSessionRow {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  expires: Date;
  userAgent: string | null;
  user: { id: string; email: string | null; name: string | null; role: "admin" | "user" };
}

function sessionWhere(filter: SessionFilter, now: Date): Prisma.SessionWhereInput {
  const where: Prisma.SessionWhereInput = {};
  if (!filter.includeExpired) where.expires = { gt: now };
  if (filter.userId) where.userId = filter.userId;
  const q = filter.q?.trim();
  if (q) {
    const text = { contains: q, mode: "insensitive" as const };
    where.OR = [{ user: { email: text } }, { user: { name: text } }, { userAgent: text }];
  }
  return where;
}

export async function listSessionsPage(filter: SessionFilter, page: PageRequest, now = new Date()): Promise<Page<AdminSessionRow>> {
  const db = await getDb();
  const where = sessionWhere(filter, now);
  const [total, rows] = await Promise.all([
    db.session.count({ where }),
    db.session.findMany({
      where,
      orderBy: [{ lastSeenAt: "desc" }, { id: "asc" }],
      skip: (page.page - 1) * page.pageSize,
      take: page.pageSize,
      select: {
        id: true,
        createdAt: true,
        lastSeenAt: true,
        expires: true,
        userAgent: true,
        user: { select: { id: true, email: true, name: true, role: true } },
      },
    }),
  ]);
  return toPage(rows, total, page);
}

export async function endSession(sessionId: string, actor: AdminActor): Promise<void> {
  const db = await getDb();
  await db.$transaction(async (tx) => {
    const row = await tx.session.findUnique({ where: { id: sessionId }, select: { id: true, userId: true } });
    if (!row) throw new AppError("not_found", "That session has already ended.");
    await tx.session.delete({ where: { id: row.id } });
    await appendAudit(
      { actorType: "admin", actorId: actor.id, userId: row.userId, action: "admin.session_ended", decision: "info", context: { sessionId: row.id } },
      tx,
    );
  });
}

export async function endUserSessions(userId: string, actor: AdminActor): Promise<{ ended: number }> {
  const db = await getDb();
  return db.$transaction(async (tx) => {
    const { count } = await tx.session.deleteMany({ where: { userId } });
    if (count === 0) throw new AppError("not_found", "That user has no sessions.");
    await appendAudit(
      { actorType: "admin", actorId: actor.id, userId, action: "admin.user_sessions_ended", decision: "info", context: { ended: count } },
      tx,
    );
    return { ended: count };
  });
}
