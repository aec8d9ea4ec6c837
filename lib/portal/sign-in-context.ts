// What the sign-in page says about the request a consent link points at, before anyone is signed
// in (issue 18: "a request is waiting, and from whom"). The link is a capability (an unguessable
// id) that already reveals nothing about the user; this adds no more than the requesting gateway's
// and the service's names, for a pending request only: no user, no scopes, no agent claims.
import { getDb } from "@/lib/db/client";
import { isElicitationId } from "@/lib/elicitations/context";

export interface WaitingRequestHint {
  gatewayName: string;
  providerName: string;
}

const CONSENT_PATH = /^\/connect\/([^/?#]+)$/;

/** The hint for a sign-in whose target is a consent page, or null for any other target. */
export async function waitingRequestHint(callbackPath: string): Promise<WaitingRequestHint | null> {
  const id = CONSENT_PATH.exec(callbackPath)?.[1];
  if (!id || !isElicitationId(id)) return null;
  const db = await getDb();
  const found = await db.elicitation.findFirst({
    where: { id, status: "pending", expiresAt: { gt: new Date() } },
    select: { gateway: { select: { name: true } }, provider: { select: { displayName: true } } },
  });
  return found ? { gatewayName: found.gateway.name, providerName: found.provider.displayName } : null;
}
