// next-auth database adapter for Frontdesk's schema. Differences from @auth/prisma-adapter, each
// deliberate:
// - Users are keyed by the IdP's (issuer, subject); ids are app-generated `usr_…`.
// - Accounts are never linked by email: getUserByEmail answers null, so a second IdP (or a
//   recycled address) can never take over an existing user.
// - linkAccount stores no IdP tokens: the portal does not use them, so they are not kept at rest.
// - Session rows hold sha256(session token), not the token, so a database reader cannot
//   impersonate anyone; they also record createdAt, lastSeenAt and the user agent for admins.
import type { Adapter, AdapterAccount, AdapterSession, AdapterUser } from "next-auth/adapters";
import { sha256Hex } from "@/lib/crypto/hash";
import { getDb } from "@/lib/db/client";
import { newId } from "@/lib/ids";
import { parseAccountKey, type PortalProfile } from "./identity";

interface UserRow {
  id: string;
  email: string | null;
  emailVerified: Date | null;
  name: string | null;
  image: string | null;
}

function toAdapterUser(row: UserRow): AdapterUser {
  return { id: row.id, email: row.email ?? "", emailVerified: row.emailVerified, name: row.name, image: row.image };
}

function isPortalProfile(user: object): user is AdapterUser & PortalProfile {
  const u = user as Partial<PortalProfile>;
  return typeof u.issuer === "string" && typeof u.subject === "string" && Array.isArray(u.groups);
}

export function createAuthAdapter(options: { userAgent?: () => Promise<string | null> } = {}): Adapter {
  return {
    async createUser(user) {
      if (!isPortalProfile(user)) throw new Error("createUser needs the IdP's issuer and subject");
      const db = await getDb();
      const data = { email: user.email || null, name: user.name ?? null, groups: user.groups, role: user.role };
      // Upsert: a concurrent first sign-in of the same person must not create two users.
      const row = await db.user.upsert({
        where: { issuer_subject: { issuer: user.issuer, subject: user.subject } },
        create: { id: newId("usr"), issuer: user.issuer, subject: user.subject, ...data },
        update: data,
      });
      return toAdapterUser(row);
    },
    async getUser(id) {
      const db = await getDb();
      const row = await db.user.findUnique({ where: { id } });
      return row ? toAdapterUser(row) : null;
    },
    async getUserByEmail() {
      return null;
    },
    async getUserByAccount({ provider, providerAccountId }) {
      const key = parseAccountKey(providerAccountId);
      if (!key) return null;
      const db = await getDb();
      const account = await db.account.findUnique({
        where: { provider_providerAccountId: { provider, providerAccountId } },
        select: { user: true },
      });
      // The account row must point at the user with exactly this (issuer, subject).
      if (!account || account.user.issuer !== key.issuer || account.user.subject !== key.subject) return null;
      return toAdapterUser(account.user);
    },
    async updateUser(user) {
      const db = await getDb();
      const row = await db.user.update({
        where: { id: user.id },
        data: {
          ...(user.name !== undefined ? { name: user.name } : {}),
          ...(user.image !== undefined ? { image: user.image } : {}),
        },
      });
      return toAdapterUser(row);
    },
    async deleteUser(id) {
      const db = await getDb();
      await db.user.deleteMany({ where: { id } });
    },
    async linkAccount(account: AdapterAccount) {
      const db = await getDb();
      await db.account.upsert({
        where: { provider_providerAccountId: { provider: account.provider, providerAccountId: account.providerAccountId } },
        create: { userId: account.userId, type: account.type, provider: account.provider, providerAccountId: account.providerAccountId },
        update: {},
      });
    },
    async unlinkAccount({ provider, providerAccountId }) {
      const db = await getDb();
      await db.account.deleteMany({ where: { provider, providerAccountId } });
    },
    async createSession(session) {
      const db = await getDb();
      const userAgent = (await options.userAgent?.().catch(() => null)) ?? null;
      await db.session.create({
        data: {
          sessionToken: sha256Hex(session.sessionToken),
          userId: session.userId,
          expires: session.expires,
          userAgent: userAgent?.slice(0, 300) ?? null,
        },
      });
      return session;
    },
    async getSessionAndUser(sessionToken) {
      const db = await getDb();
      const row = await db.session.findUnique({ where: { sessionToken: sha256Hex(sessionToken) }, include: { user: true } });
      if (!row) return null;
      const session: AdapterSession = { sessionToken, userId: row.userId, expires: row.expires };
      return { session, user: toAdapterUser(row.user) };
    },
    async updateSession(session) {
      const db = await getDb();
      const { count } = await db.session.updateMany({
        where: { sessionToken: sha256Hex(session.sessionToken) },
        data: { ...(session.expires ? { expires: session.expires } : {}), lastSeenAt: new Date() },
      });
      return count === 1 ? { sessionToken: session.sessionToken, userId: session.userId ?? "", expires: session.expires ?? new Date() } : null;
    },
    async deleteSession(sessionToken) {
      const db = await getDb();
      await db.session.deleteMany({ where: { sessionToken: sha256Hex(sessionToken) } });
    },
  };
}
