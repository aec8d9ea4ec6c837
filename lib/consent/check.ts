// The per-requester step of the credential path (design.md invariant 11), called once the grant
// is known to cover the requested scopes: has this requester been approved for this connection,
// by the user or by an admin pre-approval that still holds? If not, the caller answers with an
// elicitation and the user approves the requester with one click (lib/consent/approve.ts).
import type { ApprovalSource } from "@/lib/generated/prisma/client";
import type { PolicyRuleInput, PolicySubject } from "@/lib/policy/evaluate";
import { recordPolicyApproval } from "./approvals";
import { findPreApprovingRule } from "./pre-approval";
import type { Requester } from "./requester";

/** The requester's approval row for the grant, as read with the grant (one round trip). */
export interface StoredApproval {
  id: string;
  approvedBy: ApprovalSource;
  withdrawn: boolean;
}

export type RequesterConsent =
  | { approved: true; approvalId: string; via: "user" | "migrated" | "policy" | "cross_app_access"; ruleId?: string }
  | { approved: false; withdrawn: boolean };

export async function checkRequesterConsent(input: {
  approval: StoredApproval | null;
  grantId: string;
  userId: string;
  providerId: string;
  requester: Requester;
  rules: readonly PolicyRuleInput[];
  subject: PolicySubject;
  scopes: string[];
  requestId: string;
}): Promise<RequesterConsent> {
  const { approval } = input;
  if (approval && !approval.withdrawn && approval.approvedBy !== "policy") {
    return { approved: true, approvalId: approval.id, via: approval.approvedBy };
  }
  // The user's own "no" outranks an admin's "no need to ask".
  if (approval?.withdrawn) return { approved: false, withdrawn: true };
  // A policy approval holds only while a rule still pre-approves these scopes for this user.
  const rule = findPreApprovingRule(input.rules, input);
  if (!rule) return { approved: false, withdrawn: false };
  const approvalId =
    approval?.id ??
    (await recordPolicyApproval({
      grantId: input.grantId,
      userId: input.userId,
      providerId: input.providerId,
      requester: input.requester,
      ruleId: rule.id,
      scopes: input.scopes,
      requestId: input.requestId,
    }));
  return { approved: true, approvalId, via: "policy", ruleId: rule.id };
}
