// Portal sign-in plumbing on real PostgreSQL: users keyed by (issuer, subject) and never linked
// by email, IdP tokens not stored, session tokens stored hashed, roles from groups/allow-list,
// same-origin redirects, cookie names, and the generated AUTH_SECRET file.
import { mkdtempSync, statSync, writeFileSync, chmodSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { useTestDatabase } from "../helpers/test-db";

await useTestDatabase();
process.env.OIDC_ISSUER = "https://idp-one.example.test";
process.env.OIDC_CLIENT_ID = "portal";
process.env.OIDC_CLIENT_SECRET = "portal-secret";
process.env.OIDC_ADMIN_GROUP = "frontdesk-admins";
process.env.AUTH_SECRET = "integration-auth-secret-0123456789abcdef";

const { getDb } = await import("@/lib/db/client");
const { createAuthAdapter } = await import("@/lib/auth/adapter");
const { accountKey, profileFromClaims } = await import("@/lib/auth/identity");
const { computeRole, readGroups } = await import("@/lib/auth/roles");
const { toSameOriginPath } = await import("@/lib/auth/safe-redirect");
const { sessionCookieName } = await import("@/lib/auth/cookies");
const { findViewerBySessionToken } = await import("@/lib/auth/session");
const { resolveAuthSecret } = await import("@/lib/auth/auth-secret");
const { sha256Hex } = await import("@/lib/crypto/hash");
const { buildAuthConfig } = await import("@/lib/auth/config");

const adapter = createAuthAdapter({ userAgent: async () => "Mozilla/5.0 (test)" });
const roleConfig = { groupsClaim: "groups", adminGroup: "frontdesk-admins", adminEmails: ["Boss@Example.test"] };
const db = await getDb();

async function signUp(issuer: string, sub: string, extra: Record<string, unknown> = {}) {
  const profile = profileFromClaims({ iss: issuer, sub, email: "shared@example.test", name: sub, groups: [], ...extra }, roleConfig);
  const user = await adapter.createUser!({ ...profile, id: crypto.randomUUID(), emailVerified: null, email: profile.email ?? "" });
  await adapter.linkAccount!({
    userId: user.id,
    type: "oidc",
    provider: "idp",
    providerAccountId: profile.id,
    access_token: "idp-access-token-secret",
    refresh_token: "idp-refresh-token-secret",
    id_token: "idp-id-token-secret",
  });
  return { user, profile };
}

describe("the next-auth adapter", () => {
  it("creates users keyed by (issuer, subject) with app ids, and never links by email", async () => {
    const a = await signUp("https://idp-one.example.test", "same-sub");
    const b = await signUp("https://idp-two.example.test", "same-sub");
    expect(a.user.id).toMatch(/^usr_/);
    expect(b.user.id).not.toBe(a.user.id);
    expect(await adapter.getUserByEmail!("shared@example.test")).toBeNull();
    const rows = await db.user.findMany({ where: { subject: "same-sub" }, orderBy: { issuer: "asc" } });
    expect(rows.map((r) => [r.issuer, r.subject])).toEqual([
      ["https://idp-one.example.test", "same-sub"],
      ["https://idp-two.example.test", "same-sub"],
    ]);
    expect((await adapter.getUserByAccount!({ provider: "idp", providerAccountId: accountKey("https://idp-two.example.test", "same-sub") }))?.id).toBe(b.user.id);
    expect(await adapter.getUserByAccount!({ provider: "idp", providerAccountId: accountKey("https://idp-three.example.test", "same-sub") })).toBeNull();
    expect(await adapter.getUserByAccount!({ provider: "idp", providerAccountId: "same-sub" })).toBeNull();
  });

  it("stores none of the IdP's tokens", async () => {
    const accounts = await db.account.findMany();
    expect(accounts.length).toBeGreaterThan(0);
    for (const account of accounts) {
      expect(account).toMatchObject({ access_token: null, refresh_token: null, id_token: null });
    }
  });

  it("stores sessions as sha256 of the token, with user agent, and finds the viewer by the raw token", async () => {
    const { user, profile } = await signUp("https://idp-one.example.test", "carol", { groups: ["frontdesk-admins", "eng"] });
    const token = "raw-session-token-0123456789abcdef";
    await adapter.createSession!({ sessionToken: token, userId: user.id, expires: new Date(Date.now() + 3600_000) });
    const row = await db.session.findFirst({ where: { userId: user.id } });
    expect(row?.sessionToken).toBe(sha256Hex(token));
    expect(row?.userAgent).toBe("Mozilla/5.0 (test)");
    expect((await adapter.getSessionAndUser!(token))?.user.id).toBe(user.id);
    expect(await adapter.getSessionAndUser!(sha256Hex(token))).toBeNull();

    const viewer = await findViewerBySessionToken(token);
    expect(viewer).toMatchObject({ userId: user.id, issuer: profile.issuer, subject: "carol", role: "admin", groups: ["frontdesk-admins", "eng"], sessionHash: sha256Hex(token) });
    expect(await findViewerBySessionToken(sha256Hex(token))).toBeNull();
    expect(await findViewerBySessionToken(undefined)).toBeNull();

    await db.session.updateMany({ where: { userId: user.id }, data: { expires: new Date(Date.now() - 1000) } });
    expect(await findViewerBySessionToken(token)).toBeNull();
    await adapter.deleteSession!(token);
    expect(await db.session.count({ where: { userId: user.id } })).toBe(0);
  });
});

describe("sign-in callback", () => {
  it("recomputes groups and role from the fresh ID token at every sign-in", async () => {
    const { user } = await signUp("https://idp-one.example.test", "dave", { groups: ["frontdesk-admins"] });
    expect((await db.user.findUnique({ where: { id: user.id } }))?.role).toBe("admin");
    const signIn = buildAuthConfig().callbacks!.signIn!;
    const claims = { iss: "https://idp-one.example.test", sub: "dave", email: "dave@example.test", name: "Dave", groups: ["sales"] };
    expect(await signIn({ user: { id: user.id }, account: null, profile: claims } as never)).toBe(true);
    expect(await db.user.findUnique({ where: { id: user.id } })).toMatchObject({ role: "user", groups: ["sales"], email: "dave@example.test" });
    // Another issuer's "dave" is someone else: untouched.
    const other = await signUp("https://idp-two.example.test", "dave", { groups: ["frontdesk-admins"] });
    await signIn({ user: { id: user.id }, account: null, profile: claims } as never);
    expect((await db.user.findUnique({ where: { id: other.user.id } }))?.role).toBe("admin");
    expect(await signIn({ user: { id: user.id }, account: null } as never)).toBe(false);
  });

  it("uses plain cookie names on http and __Host- on https", () => {
    const config = buildAuthConfig();
    expect(config.cookies?.sessionToken?.name).toBe("frontdesk.session-token");
    expect(config.cookies?.sessionToken?.options).toMatchObject({ httpOnly: true, sameSite: "lax", path: "/", secure: false });
    expect(config.session).toMatchObject({ strategy: "database" });
  });
});

describe("roles", () => {
  it("come from the admin group or a verified email on the allow-list", () => {
    expect(computeRole({ groups: ["frontdesk-admins"] }, roleConfig)).toBe("admin");
    expect(computeRole({ email: "boss@example.test", groups: [] }, roleConfig)).toBe("admin");
    expect(computeRole({ email: "boss@example.test", emailVerified: false, groups: [] }, roleConfig)).toBe("user");
    expect(computeRole({ email: "someone@example.test", groups: ["eng"] }, roleConfig)).toBe("user");
    expect(computeRole({ groups: ["frontdesk-admins"] }, { ...roleConfig, adminGroup: undefined })).toBe("user");
  });

  it("read the groups claim as a list or a string", () => {
    expect(readGroups({ groups: ["a", "b", "a", 3] }, "groups")).toEqual(["a", "b"]);
    expect(readGroups({ roles: "a b,c" }, "roles")).toEqual(["a", "b", "c"]);
    expect(readGroups({}, "groups")).toEqual([]);
  });

  it("profiles need iss and sub", () => {
    expect(() => profileFromClaims({ sub: "x" }, roleConfig)).toThrow();
    expect(profileFromClaims({ iss: "https://i.example", sub: "x", email: "X@Example.test" }, roleConfig).email).toBe("x@example.test");
  });
});

describe("redirect targets", () => {
  it("are same-origin paths only", () => {
    expect(toSameOriginPath("/connect/eli_abc?x=1#y")).toBe("/connect/eli_abc?x=1#y");
    for (const bad of ["//evil.example/x", "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "connect", "/a\nb", "", 42, undefined]) {
      expect(toSameOriginPath(bad)).toBe("/");
    }
    expect(toSameOriginPath("/%2F%2Fevil.example")).toBe("/%2F%2Fevil.example");
  });
});

describe("cookies", () => {
  it("use the __Host- prefix over https and plain names on http (browsers drop Secure cookies there)", () => {
    expect(sessionCookieName("https://frontdesk.example.test")).toBe("__Host-frontdesk.session-token");
    expect(sessionCookieName("http://localhost:3000")).toBe("frontdesk.session-token");
  });
});

describe("AUTH_SECRET", () => {
  const dir = () => mkdtempSync(path.join(os.tmpdir(), "frontdesk-auth-secret-"));

  it("uses the configured secret", () => {
    expect(resolveAuthSecret({ AUTH_SECRET: "x".repeat(40), NODE_ENV: "production", DATABASE_URL: "postgres://x", FRONTDESK_DATA_DIR: dir() })).toBe("x".repeat(40));
  });

  it("is required in production on PostgreSQL (replicas must share it)", () => {
    expect(() => resolveAuthSecret({ NODE_ENV: "production", DATABASE_URL: "postgres://x", FRONTDESK_DATA_DIR: dir() })).toThrow(/AUTH_SECRET is required/);
  });

  it("is generated once into the data folder, mode 0600, for the embedded default", () => {
    const data = path.join(dir(), "data");
    const first = resolveAuthSecret({ NODE_ENV: "production", FRONTDESK_DATA_DIR: data });
    expect(first.length).toBeGreaterThanOrEqual(43);
    expect(statSync(path.join(data, "auth-secret")).mode & 0o777).toBe(0o600);
    expect(resolveAuthSecret({ NODE_ENV: "production", FRONTDESK_DATA_DIR: data })).toBe(first);
  });

  it("refuses a secret file others can read", () => {
    const data = dir();
    writeFileSync(path.join(data, "auth-secret"), "y".repeat(43));
    chmodSync(path.join(data, "auth-secret"), 0o644);
    expect(() => resolveAuthSecret({ NODE_ENV: "development", FRONTDESK_DATA_DIR: data })).toThrow(/chmod 600/);
  });
});
