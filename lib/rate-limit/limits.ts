// Exact shared limits for actions that are rare next to their cost (portal and admin form
// posts, elicitation creation): counted exactly across all instances, concurrent actions of one
// instance sharing one UPSERT (counter.ts addHitsGrouped).
import { env } from "@/lib/env";
import { isAppError } from "@/lib/errors";
import { addHitsGrouped } from "./counter";
import { rateLimited } from "./limited";

const MINUTE = 60_000;

/** Throws rate_limited when any key is over its limit in this minute (the hit counts either way). */
async function enforce(name: string, keys: { key: string; limit: number }[], message: string): Promise<void> {
  const states = await addHitsGrouped(keys.map((k) => ({ key: k.key, windowMs: MINUTE })));
  const over = states.filter((s, i) => s.hits > keys[i]!.limit);
  if (over.length > 0) throw rateLimited(name, message, Math.max(...over.map((s) => s.resetSeconds)));
}

/** A state-changing portal or admin form post, by user and by session. */
export async function limitPortalAction(userId: string, sessionHash: string): Promise<void> {
  const e = env();
  await enforce(
    "portal_actions",
    [
      { key: `portal:user:${userId}`, limit: e.RATE_LIMIT_PORTAL_ACTIONS_PER_USER },
      { key: `portal:session:${sessionHash}`, limit: e.RATE_LIMIT_PORTAL_ACTIONS_PER_SESSION },
    ],
    "Too many actions in a short time; try again in a minute",
  );
}

/** limitPortalAction as a yes/no, for actions that answer with a redirect. */
export async function portalActionAllowed(userId: string, sessionHash: string): Promise<boolean> {
  try {
    await limitPortalAction(userId, sessionHash);
    return true;
  } catch (e) {
    if (isAppError(e) && e.code === "rate_limited") return false;
    throw e;
  }
}

/** A new elicitation for one user (each is a link someone is asked to open). */
export async function limitElicitationCreation(userKey: string): Promise<void> {
  await enforce("elicitations", [{ key: `elicit:user:${userKey}`, limit: env().RATE_LIMIT_ELICITATIONS_PER_USER }], "Too many consent requests for this user; try again later");
}
