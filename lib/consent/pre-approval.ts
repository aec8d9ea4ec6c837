// Admin pre-approval (design.md invariant 11): a gateway policy rule marked preApproved lets the
// users it selects skip the per-requester approval of that gateway, for the scopes it lists, on
// a connection they already hold. The answer to consent fatigue for low-risk combinations an
// admin has blessed. Pure, like lib/policy/evaluate.ts, so it is tested without a database.
import { selectsSubject, type PolicyRuleInput, type PolicySubject } from "@/lib/policy/evaluate";
import type { Requester } from "./requester";

function covers(rule: PolicyRuleInput, scopes: readonly string[]): boolean {
  return rule.scopes.includes("*") || scopes.every((s) => rule.scopes.includes(s));
}

/**
 * The rule that pre-approves this requester for these scopes, or null. One rule must cover every
 * scope by itself: pre-approval is a deliberate statement about a combination, not a sum of them.
 * Requests with a verified agent are never pre-approved by a gateway rule alone: the agent is a
 * requester of its own (an agent rule dimension can extend this once rules name agents).
 */
export function findPreApprovingRule(
  rules: readonly PolicyRuleInput[],
  req: { requester: Requester; providerId: string; subject: PolicySubject; scopes: readonly string[] },
): PolicyRuleInput | null {
  if (req.requester.agentId !== null) return null;
  return (
    rules.find(
      (r) =>
        r.enabled &&
        r.preApproved &&
        r.providerId === req.providerId &&
        r.gatewayId === req.requester.gatewayId &&
        selectsSubject(r, req.subject) &&
        covers(r, req.scopes),
    ) ?? null
  );
}
