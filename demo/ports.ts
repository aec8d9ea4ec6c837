// Where the demo's local services listen: four consecutive ports from FRONTDESK_DEMO_BASE_PORT.
// Shared by the launcher and the demo home page, so the page names the same URLs it started.
export interface DemoUrls {
  identityProvider: string;
  notes: string;
  gateway: string;
  mcpServer: string;
}

export function demoPorts(base: number) {
  return { identityProvider: base, notes: base + 1, gateway: base + 2, mcpServer: base + 3 };
}

/** `localhost`, not 127.0.0.1: browsers keep the demo servers' cookies apart by port either way. */
export function demoUrls(base: number): DemoUrls {
  const p = demoPorts(base);
  return {
    identityProvider: `http://localhost:${p.identityProvider}`,
    notes: `http://localhost:${p.notes}`,
    gateway: `http://localhost:${p.gateway}`,
    mcpServer: `http://localhost:${p.mcpServer}/mcp`,
  };
}

/** The `aud` of demo user tokens: the MCP server's identifier, also accepted by Frontdesk. */
export const DEMO_MCP_AUDIENCE = "notes-mcp";
export const DEMO_PROVIDER_SLUG = "notes";
export const DEMO_GATEWAY_NAME = "demo-egress-gateway";
export const DEMO_NOTES_SCOPES = ["notes:read"];
