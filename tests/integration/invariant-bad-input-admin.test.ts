// Invariant 10 (design.md section 7) beyond the gateway API: the ids and filters the portal and
// the admin dashboard take from URLs reach PostgreSQL through these lib functions. A value
// PostgreSQL text cannot hold (NUL, e.g. `/admin/providers/%00` or `?gateway=%00`) must read as
// "nothing found" / "filter dropped", not fail the query (which the page or the export route
// would turn into a 500).
import { describe, expect, it } from "vitest";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();

describe("URL-borne ids and filters with a NUL", () => {
  it("admin detail lookups find nothing instead of failing", async () => {
    const { findAuditEvent } = await import("@/lib/admin/audit-log");
    const { findGateway } = await import("@/lib/gateways/register");
    const { findProviderById } = await import("@/lib/providers/find");
    const { findPolicyRule } = await import("@/lib/admin/policy");
    for (const id of ["\u0000", "gw_\u0000x", "prv_a\u0000", "12\u0000"]) {
      await expect(findAuditEvent(id)).resolves.toBeNull();
      await expect(findGateway(id)).resolves.toBeNull();
      await expect(findProviderById(id)).resolves.toBeNull();
      await expect(findPolicyRule(id)).resolves.toBeNull();
    }
  });

  it("audit filters carrying a NUL are dropped, the others kept, and the page query runs", async () => {
    const { readAuditQuery, resolveAuditFilter } = await import("@/lib/admin/audit-log");
    const { listAuditEvents, countAuditEvents } = await import("@/lib/audit/query");
    const q = readAuditQuery({ user: "usr_\u0000", gateway: "a\u0000b", provider: "\u0000", action: "resolve\u0000", decision: "deny", from: "2026-01-01\u0000" });
    expect(q).toEqual({ decision: "deny" });
    const { filter } = await resolveAuditFilter(q);
    await expect(listAuditEvents({ ...filter, limit: 10 })).resolves.toMatchObject({ events: expect.any(Array) });
    await expect(countAuditEvents(filter)).resolves.toEqual(expect.any(Number));
  });

  it("portal lookups by URL id or cookie value find nothing instead of failing", async () => {
    const { getElicitation } = await import("@/lib/elicitations/read");
    const { findViewerBySessionToken } = await import("@/lib/auth/session");
    await expect(getElicitation(`eli_${"A".repeat(42)}\u0000`)).resolves.toBeNull();
    await expect(findViewerBySessionToken("\u0000")).resolves.toBeNull();
  });
});
