// Loads the rules that can matter for one (gateway, provider) pair: that gateway's rules and the
// provider's user rules. Cached briefly per pair (changes in this process apply at once, on other
// instances within CONFIG_CACHE_TTL_MS), so the hot path usually does no policy query.
import { getDb } from "@/lib/db/client";
import { CONFIG_CACHE_TTL_MS, TtlCache } from "@/lib/gateways/ttl-cache";
import type { PolicyRuleInput } from "./evaluate";

const cache = new TtlCache<PolicyRuleInput[]>(CONFIG_CACHE_TTL_MS);

async function queryPolicyRules(providerId: string, gatewayId: string): Promise<PolicyRuleInput[]> {
  const db = await getDb();
  return db.policyRule.findMany({
    where: { providerId, enabled: true, OR: [{ gatewayId }, { gatewayId: null }] },
    select: {
      id: true,
      providerId: true,
      gatewayId: true,
      scopes: true,
      users: true,
      groups: true,
      enabled: true,
      agents: true,
      agentIssuer: true,
      agentSubjectPrefix: true,
      preApproved: true,
    },
  });
}

export function loadPolicyRules(providerId: string, gatewayId: string): Promise<PolicyRuleInput[]> {
  return cache.get(`${providerId}|${gatewayId}`, () => queryPolicyRules(providerId, gatewayId));
}

/** After a rule change in this process. */
export function forgetPolicyRules(): void {
  cache.clear();
}
