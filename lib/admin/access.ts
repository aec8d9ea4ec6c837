// Who may use the dashboard, and the audit record of everyone refused. Pure of Next.js so the
// rule and the audit shape are tested directly; lib/admin/guard.ts applies them to requests.
import { appendUnauthenticatedFailure } from "@/lib/audit/failure-windows";
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
export async function auditAdminRefusal(viewer: Viewer | null, surface: AdminSurface, target: string, sourceAddress = "unknown"): Promise<void> {
  try {
    const event = {
      actorType: "user" as const,
      actorId: viewer?.userId ?? null,
      userId: viewer?.userId ?? null,
      action: "admin.access_denied",
      decision: "deny" as const,
      reason: viewer ? "not_admin" : "not_signed_in",
      context: { surface, target: target.slice(0, 200) },
    };
    // A signed-in non-admin is one event per refusal; anonymous refusals are aggregated.
    await (viewer ? appendAudit(event) : appendUnauthenticatedFailure(event, sourceAddress));
  } catch (e) {
    log.warn("could not audit a refused admin request", { surface, reason: e instanceof Error ? e.name : "unknown" });
  }
}
