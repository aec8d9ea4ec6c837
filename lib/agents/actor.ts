// What a verified actor token tells the rest of Frontdesk: which registered agent acts, as
// established by a trusted workload issuer's signature (lib/agents/verify-actor.ts), and the
// chain of earlier actors the token itself carries (RFC 8693 4.1 nested `act`).

/** One link of an RFC 8693 `act` chain: the actor that acted before (outer = most recent). */
export interface ActorLink {
  sub: string;
  iss?: string;
}

export interface VerifiedActor {
  /** The Agent row's id (agt_...). */
  agentId: string;
  issuer: string;
  subject: string;
  displayName: string;
  /**
   * The nested `act` claim of the actor token, flattened: actChain[0] is the actor that
   * delegated to this agent, actChain[1] the one before it, and so on. Informational for
   * attribution (RFC 8693 4.1: only the outermost actor is the current one).
   */
  actChain: ActorLink[];
}
