// The signed-in portal user for server components and server actions, read from the database
// session (the same rows next-auth writes). Pages call requireViewer(); admin pages requireAdmin().
import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { sha256Hex } from "@/lib/crypto/hash";
import { getDb } from "@/lib/db/client";
import { sessionCookieName } from "./cookies";
import { toSameOriginPath } from "./safe-redirect";

export interface Viewer {
  userId: string;
  issuer: string;
  subject: string;
  email: string | null;
  name: string | null;
  role: "admin" | "user";
  groups: string[];
  sessionId: string;
  /** sha256 of the browser's session token: what OAuth transactions are bound to. */
  sessionHash: string;
}

const LAST_SEEN_RESOLUTION_MS = 60_000;

/** Looks a raw session token up (pure database logic; used by getViewer and tests). */
export async function findViewerBySessionToken(sessionToken: string | undefined | null): Promise<Viewer | null> {
  if (!sessionToken || sessionToken.length > 200) return null;
  const sessionHash = sha256Hex(sessionToken);
  const db = await getDb();
  const row = await db.session.findUnique({ where: { sessionToken: sessionHash }, include: { user: true } });
  if (!row || row.expires.getTime() <= Date.now()) return null;
  if (Date.now() - row.lastSeenAt.getTime() > LAST_SEEN_RESOLUTION_MS) {
    // Best effort: a lost update of lastSeenAt must not fail the page.
    await db.session.updateMany({ where: { id: row.id }, data: { lastSeenAt: new Date() } }).catch(() => undefined);
  }
  return {
    userId: row.user.id,
    issuer: row.user.issuer,
    subject: row.user.subject,
    email: row.user.email,
    name: row.user.name,
    role: row.user.role,
    groups: row.user.groups,
    sessionId: row.id,
    sessionHash,
  };
}

export async function getViewer(): Promise<Viewer | null> {
  const store = await cookies();
  return findViewerBySessionToken(store.get(sessionCookieName())?.value);
}

/** The sign-in page URL that comes back to `returnTo` (a same-origin path) afterwards. */
export function signInPath(returnTo: string): string {
  return `/sign-in?${new URLSearchParams({ callbackUrl: toSameOriginPath(returnTo) })}`;
}

export async function requireViewer(returnTo: string): Promise<Viewer> {
  const viewer = await getViewer();
  if (!viewer) redirect(signInPath(returnTo));
  return viewer;
}

/** For admin pages and actions: the role is checked on the server, from the database. */
export async function requireAdmin(returnTo = "/admin"): Promise<Viewer> {
  const viewer = await requireViewer(returnTo);
  if (viewer.role !== "admin") redirect("/?error=forbidden");
  return viewer;
}

/** The request's User-Agent (recorded on new sessions). */
export async function currentUserAgent(): Promise<string | null> {
  return (await headers()).get("user-agent");
}
