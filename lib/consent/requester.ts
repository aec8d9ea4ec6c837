// Who asks for a credential (design.md glossary "Requester"): the gateway, and the verified agent
// when an actor token named one. Unverified context (a free-form agentId label, tool names) is
// never part of the requester: it cannot be trusted to tell two requesters apart.
export interface Requester {
  gatewayId: string;
  /** The verified agent's id (lib/agents); null when the call carries no verified actor. */
  agentId: string | null;
}

export function sameRequester(a: Requester, b: Requester): boolean {
  return a.gatewayId === b.gatewayId && a.agentId === b.agentId;
}
