// CSRF protection for the portal's state-changing POSTs (consent approve/decline, API-key
// connect, revoke). Three independent checks, all required:
// 1. the session cookie is SameSite=Lax, so a cross-site POST arrives without a session;
// 2. the Origin header must be present and equal Frontdesk's public origin (Next.js server
//    actions compare Origin with Host too, but let a request WITHOUT Origin through);
//    a Sec-Fetch-Site other than same-origin is refused as well;
// 3. a form token: HMAC(AUTH_SECRET, session hash, purpose), rendered into the form and
//    compared in constant time, so a POST must come from a page this session loaded.
import { createHmac } from "node:crypto";
import { getAuthSecret } from "@/lib/auth/auth-secret";
import { constantTimeEqual } from "@/lib/crypto/hash";
import { publicUrl } from "@/lib/env";
import { AppError } from "@/lib/errors";

export function createFormToken(sessionHash: string, purpose: string): string {
  return createHmac("sha256", getAuthSecret()).update(`frontdesk/portal-form/1\n${sessionHash}\n${purpose}`).digest("base64url");
}

export interface PortalPostInput {
  origin: string | null;
  secFetchSite: string | null;
  formToken: unknown;
  sessionHash: string;
  purpose: string;
}

/** Throws AppError("forbidden") unless the POST passes the origin and form-token checks. */
export function verifyPortalPost(input: PortalPostInput): void {
  const expected = new URL(publicUrl()).origin;
  if (!input.origin || input.origin !== expected) throw new AppError("forbidden", "cross-origin form submission refused");
  if (input.secFetchSite && input.secFetchSite !== "same-origin") throw new AppError("forbidden", "cross-site form submission refused");
  if (typeof input.formToken !== "string" || input.formToken.length === 0 || input.formToken.length > 100) {
    throw new AppError("forbidden", "the form token is missing; reload the page and try again");
  }
  if (!constantTimeEqual(input.formToken, createFormToken(input.sessionHash, input.purpose))) {
    throw new AppError("forbidden", "the form token does not match this session; reload the page and try again");
  }
}
