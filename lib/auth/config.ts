// next-auth configuration: the organization's OIDC IdP as the only sign-in method, database
// sessions through Frontdesk's adapter, and cookie names that depend on https (see cookies.ts).
import type { NextAuthConfig } from "next-auth";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { getDb } from "@/lib/db/client";
import { log } from "@/lib/log";
import { createAuthAdapter } from "./adapter";
import { getAuthSecret } from "./auth-secret";
import { sessionCookieName, usesSecureCookies } from "./cookies";
import { profileFromClaims, type PortalProfile } from "./identity";
import type { RoleConfig } from "./roles";
import { toSameOriginPath } from "./safe-redirect";
import { currentUserAgent } from "./session";

export const IDP_PROVIDER_ID = "idp";
const SESSION_MAX_AGE_SECONDS = 12 * 60 * 60;

export function roleConfig(): RoleConfig {
  const e = env();
  return { groupsClaim: e.OIDC_GROUPS_CLAIM, adminGroup: e.OIDC_ADMIN_GROUP, adminEmails: e.ADMIN_EMAILS };
}

export function buildAuthConfig(): NextAuthConfig {
  const e = env();
  if (!e.OIDC_ISSUER || !e.OIDC_CLIENT_ID || !e.OIDC_CLIENT_SECRET) {
    throw new AppError("config_error", "sign-in needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET");
  }
  const secure = usesSecureCookies();
  return {
    secret: getAuthSecret(),
    // The host comes from the request; the IdP's exact redirect URI match keeps a forged Host
    // header from receiving codes.
    trustHost: true,
    adapter: createAuthAdapter({ userAgent: currentUserAgent }),
    session: { strategy: "database", maxAge: SESSION_MAX_AGE_SECONDS, updateAge: 60 * 60 },
    useSecureCookies: secure,
    cookies: {
      sessionToken: {
        name: sessionCookieName(),
        options: { httpOnly: true, sameSite: "lax", path: "/", secure },
      },
    },
    pages: { signIn: "/sign-in", error: "/sign-in/error" },
    providers: [
      {
        id: IDP_PROVIDER_ID,
        name: e.OIDC_PROVIDER_NAME,
        type: "oidc",
        issuer: e.OIDC_ISSUER,
        clientId: e.OIDC_CLIENT_ID,
        clientSecret: e.OIDC_CLIENT_SECRET,
        checks: ["pkce", "state", "nonce"],
        authorization: { params: { scope: e.OIDC_SCOPES } },
        profile(claims) {
          return profileFromClaims(claims as Record<string, unknown>, roleConfig());
        },
      },
    ],
    callbacks: {
      // Groups and role are recomputed from the fresh ID token at every sign-in.
      async signIn({ profile }) {
        if (!profile) return false;
        const p: PortalProfile = profileFromClaims(profile as Record<string, unknown>, roleConfig());
        const db = await getDb();
        await db.user.updateMany({
          where: { issuer: p.issuer, subject: p.subject },
          data: { email: p.email, name: p.name, groups: p.groups, role: p.role },
        });
        log.info("portal sign-in", { issuer: p.issuer, role: p.role });
        return true;
      },
      // Only same-origin destinations after sign-in and sign-out.
      redirect({ url, baseUrl }) {
        if (url.startsWith(baseUrl)) return `${baseUrl}${toSameOriginPath(url.slice(baseUrl.length))}`;
        return `${baseUrl}${toSameOriginPath(url)}`;
      },
      session({ session, user }) {
        return { ...session, user: { id: user.id, name: user.name, email: user.email } } as typeof session;
      },
    },
  };
}
