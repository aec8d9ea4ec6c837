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

  it("ids, cursors and dates outside what PostgreSQL accepts find nothing or are dropped (19-digit ids, year -4714 or +275760)", async () => {
    const { findAuditEvent, readAuditQuery, resolveAuditFilter, streamAuditExport } = await import("@/lib/admin/audit-log");
    const { listAuditEvents, parseAuditSeq } = await import("@/lib/audit/query");
    for (const id of ["9999999999999999999", "9223372036854775808", "0", "00000000000000000000001", "-1", "1e3"]) {
      await expect(findAuditEvent(id), id).resolves.toBeNull();
      expect(parseAuditSeq(id), id).toBeUndefined();
    }
    expect(parseAuditSeq("9223372036854775807")).toBe(9223372036854775807n);
    await expect(listAuditEvents({ cursor: parseAuditSeq("9223372036854775807"), limit: 5 })).resolves.toMatchObject({ events: expect.any(Array) });
    for (const date of ["-004714-01-01", "+275760-09-13", "275760-09-13", "0000-01-01", "10000-01-01", "-271821-04-20T00:00:00Z", "2026-13-45"]) {
      const q = readAuditQuery({ from: date, to: date });
      const { filter } = await resolveAuditFilter(q);
      expect({ date, from: filter.from, to: filter.to }).toEqual({ date, from: undefined, to: undefined });
      // The export reads its first page before answering: any query error would surface here.
      const stream = await streamAuditExport(filter, "jsonl");
      await stream.cancel();
    }
  });

  it("portal lookups by URL id or cookie value find nothing instead of failing", async () => {
    const { getElicitation } = await import("@/lib/elicitations/read");
    const { findViewerBySessionToken } = await import("@/lib/auth/session");
    await expect(getElicitation(`eli_${"A".repeat(42)}\u0000`)).resolves.toBeNull();
    await expect(findViewerBySessionToken("\u0000")).resolves.toBeNull();
  });
});
