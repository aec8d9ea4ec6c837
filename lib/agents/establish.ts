// From a presented actor token to the VerifiedActor of a call: verify (verify-actor.ts), then
// find or create the agent (registry.ts). A present but invalid actor token is an error, never
// dropped: the refusal is audited (with what the token claimed, marked unverified) before the
// caller answers (design.md invariants 8 and 12).
import { appendAudit, auditSubjectRef } from "@/lib/audit/append";
import type { AuthenticatedGateway } from "@/lib/gateways/authenticate";
import type { VerifiedSubject } from "@/lib/subject-tokens/verify";
import type { VerifiedActor } from "./actor";
import { registerSighting } from "./registry";
import { ActorRejected, verifyActorToken } from "./verify-actor";

export interface PresentedActor {
  token: string;
  tokenType: string;
}

export async function establishActor(input: {
  presented: PresentedActor;
  gateway: AuthenticatedGateway;
  subject: VerifiedSubject;
  providerId: string;
  action: "resolve" | "token_exchange" | "proxy" | "ext_authz";
  requestId: string;
}): Promise<VerifiedActor> {
  try {
    const token = await verifyActorToken({ ...input.presented, gatewayId: input.gateway.id, subject: input.subject });
    return await registerSighting(token);
  } catch (e) {
    if (e instanceof ActorRejected) {
      await appendAudit({
        actorType: "gateway",
        actorId: input.gateway.id,
        userId: auditSubjectRef(input.subject.issuer, input.subject.subject),
        gatewayId: input.gateway.id,
        providerId: input.providerId,
        action: input.action,
        decision: "deny",
        reason: `actor:${e.reason}`,
        requestId: input.requestId,
        context: { unverifiedActor: e.unverified, actorTokenType: input.presented.tokenType, authMethod: input.gateway.usedMethod },
      });
    }
    throw e;
  }
}
