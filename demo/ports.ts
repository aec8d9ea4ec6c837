// Where the demo's local services listen: five consecutive ports from FRONTDESK_DEMO_BASE_PORT.
// Shared by the launcher and the demo home page, so the page names the same URLs it started.
export interface DemoUrls {
  identityProvider: string;
  notes: string;
  gateway: string;
  mcpServer: string;
  /** A second Notes server that redeems the IdP's ID-JAGs (cross-app access, no consent click). */
  teamNotes: string;
}

export function demoPorts(base: number) {
  return { identityProvider: base, notes: base + 1, gateway: base + 2, mcpServer: base + 3, teamNotes: base + 4 };
}

/** `localhost`, not 127.0.0.1: browsers keep the demo servers' cookies apart by port either way. */
export function demoUrls(base: number): DemoUrls {
  const p = demoPorts(base);
  return {
    identityProvider: `http://localhost:${p.identityProvider}`,
    notes: `http://localhost:${p.notes}`,
    gateway: `http://localhost:${p.gateway}`,
    mcpServer: `http://localhost:${p.mcpServer}/mcp`,
    teamNotes: `http://localhost:${p.teamNotes}`,
  };
}

/** The `aud` of demo user tokens: the MCP server's identifier, also accepted by Frontdesk. */
export const DEMO_MCP_AUDIENCE = "notes-mcp";
export const DEMO_PROVIDER_SLUG = "notes";
/** The provider Frontdesk reaches by cross-app access (ID-JAG from the demo IdP, no consent page). */
export const DEMO_TEAM_NOTES_SLUG = "team-notes";
export const DEMO_GATEWAY_NAME = "demo-egress-gateway";
export const DEMO_NOTES_SCOPES = ["notes:read"];
