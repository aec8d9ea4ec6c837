// Pure parts of the dashboard: CSV/JSON Lines export rows, URL filter parsing, page requests,
// the admin access rule, and the policy preview sentence.
import { describe, expect, it } from "vitest";
import { csvCell, EXPORT_COLUMNS, parseUtc, readAuditQuery, toCsvLine, toJsonLine } from "@/lib/admin/audit-log";
import { decideAdminAccess } from "@/lib/admin/access";
import { toPageRequest } from "@/lib/admin/pagination";
import { describePreview } from "@/lib/admin/policy-text";
import type { AuditEvent } from "@/lib/generated/prisma/client";
import type { Viewer } from "@/lib/auth/session";

const event: AuditEvent = {
  seq: 42n,
  id: "evt_1",
  at: new Date("2026-11-21T10:00:00.123Z"),
  actorType: "admin",
  actorId: "usr_admin",
  userId: "usr_alice",
  gatewayId: null,
  agentId: null,
  providerId: "prv_notes",
  action: "grant.revoked",
  decision: "info",
  reason: 'said "no", then, left',
  context: { grantId: "grt_1", scopes: ["a", "b"] },
  requestId: null,
  prevHash: "0".repeat(64),
  hash: "f".repeat(64),
};

describe("audit export rows", () => {
  it("quotes CSV cells per RFC 4180 and defuses spreadsheet formulas", () => {
    expect(csvCell(null)).toBe("");
    expect(csvCell("plain")).toBe("plain");
    expect(csvCell('a "b", c')).toBe('"a ""b"", c"');
    expect(csvCell("line\nbreak")).toBe('"line\nbreak"');
    for (const danger of ["=HYPERLINK(1)", "+1", "-2", "@SUM(A1)", "\tx"]) expect(csvCell(danger).startsWith("'") || csvCell(danger).startsWith("\"'")).toBe(true);
    expect(csvCell({ a: 1 })).toBe('"{""a"":1}"');
  });

  it("writes one CSV line with every column in order, and one JSON line that parses back", () => {
    const line = toCsvLine(event);
    expect(line.endsWith("\r\n")).toBe(true);
    expect(line.startsWith("42,evt_1,2026-11-21T10:00:00.123Z,admin,usr_admin,usr_alice,,,prv_notes,grant.revoked,info,")).toBe(true);
    expect(line).toContain('"said ""no"", then, left"');
    const parsed = JSON.parse(toJsonLine(event)) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual([...EXPORT_COLUMNS]);
    expect(parsed.seq).toBe("42");
    expect(parsed.context).toEqual({ grantId: "grt_1", scopes: ["a", "b"] });
  });
});

describe("audit filters from the URL", () => {
  it("keeps valid fields and drops malformed ones instead of failing the page", () => {
    expect(readAuditQuery({ user: " alice@example.com ", decision: "deny", action: ["resolve", "x"] })).toEqual({
      user: "alice@example.com",
      decision: "deny",
      action: "resolve",
    });
    expect(readAuditQuery({ decision: "maybe", gateway: "gw_1", from: "" })).toEqual({ gateway: "gw_1" });
    expect(readAuditQuery({ user: "x".repeat(400) })).toEqual({});
  });

  it("reads datetime-local values and dates as UTC", () => {
    expect(parseUtc("2026-11-21T10:30")?.toISOString()).toBe("2026-11-21T10:30:00.000Z");
    expect(parseUtc("2026-11-21")?.toISOString()).toBe("2026-11-21T00:00:00.000Z");
    expect(parseUtc("2026-11-21T10:30:00+02:00")?.toISOString()).toBe("2026-11-21T08:30:00.000Z");
    expect(parseUtc("yesterday")).toBeUndefined();
    expect(parseUtc(undefined)).toBeUndefined();
  });

  it("clamps page requests to known sizes and sane page numbers", () => {
    expect(toPageRequest("3", "50")).toEqual({ page: 3, pageSize: 50 });
    expect(toPageRequest("-1", "1000")).toEqual({ page: 1, pageSize: 25 });
    expect(toPageRequest("2.5", undefined)).toEqual({ page: 1, pageSize: 25 });
  });
});

describe("admin access", () => {
  const viewer = (role: "admin" | "user"): Viewer => ({
    userId: "usr_1",
    issuer: "https://idp",
    subject: "s",
    email: null,
    name: null,
    role,
    groups: [],
    sessionId: "ses",
    sessionHash: "h",
  });
  it("allows only a signed-in admin, and acts as that admin", () => {
    expect(decideAdminAccess(null).allowed).toBe(false);
    expect(decideAdminAccess(viewer("user")).allowed).toBe(false);
    const access = decideAdminAccess(viewer("admin"));
    expect(access.allowed && access.actor).toEqual({ type: "admin", id: "usr_1" });
  });
});

describe("policy preview sentence", () => {
  it("names who gains and loses access, active connections at risk, and scope changes", () => {
    const text = describePreview({
      audience: { providerId: "prv", gatewayId: null },
      usersConsidered: 10,
      coveredBefore: 4,
      coveredAfter: 2,
      gained: [],
      lost: [
        { id: "u1", email: "a@x", name: null },
        { id: "u2", email: null, name: "Bob" },
      ],
      gainedCount: 0,
      lostCount: 2,
      lostWithActiveGrants: 1,
      scopesBefore: ["*"],
      scopesAfter: ["notes:read"],
    });
    expect(text).toBe(
      "users allowed to connect the provider: 4 → 2 of 10; 0 gain access; 2 lose access (a@x, Bob), 1 of them with an active connection; scopes * → notes:read.",
    );
  });
});
