// Loads the rules that can matter for one (gateway, provider) pair: that gateway's rules and the
// provider's user rules. One indexed query on the hot path.
import { getDb } from "@/lib/db/client";
import type { PolicyRuleInput } from "./evaluate";

export async function loadPolicyRules(providerId: string, gatewayId: string): Promise<PolicyRuleInput[]> {
  const db = await getDb();
  return db.policyRule.findMany({
    where: { providerId, enabled: true, OR: [{ gatewayId }, { gatewayId: null }] },
    select: { id: true, providerId: true, gatewayId: true, scopes: true, users: true, groups: true, enabled: true },
  });
}
