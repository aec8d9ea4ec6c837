// Who may use the dashboard, and the audit record of everyone refused. Pure of Next.js so the
// rule and the audit shape are tested directly; lib/admin/guard.ts applies them to requests.
import { appendAudit } from "@/lib/audit/append";
import type { Viewer } from "@/lib/auth/session";
import { log } from "@/lib/log";

export type AdminSurface = "page" | "action" | "route";

export interface AdminActor {
  type: "admin";
  id: string;
}

export type AdminAccess = { allowed: true; viewer: Viewer; actor: AdminActor } | { allowed: false; viewer: Viewer | null };

/** The role is read from the database session on every request (never from a client claim). */
export function decideAdminAccess(viewer: Viewer | null): AdminAccess {
  if (viewer && viewer.role === "admin") return { allowed: true, viewer, actor: { type: "admin", id: viewer.userId } };
  return { allowed: false, viewer };
}

/**
 * Records a refused attempt on an admin page, action or route. Best effort for pages (the
 * refusal itself must not fail because the audit log is busy); the attempt is still refused.
 */
export async function auditAdminRefusal(viewer: Viewer | null, surface: AdminSurface, target: string): Promise<void> {
  try {
    await appendAudit({
      actorType: "user",
      actorId: viewer?.userId ?? null,
      userId: viewer?.userId ?? null,
      action: "admin.access_denied",
      decision: "deny",
      reason: viewer ? "not_admin" : "not_signed_in",
      context: { surface, target: target.slice(0, 200) },
    });
  } catch (e) {
    log.warn("could not audit a refused admin request", { surface, reason: e instanceof Error ? e.name : "unknown" });
  }
}
