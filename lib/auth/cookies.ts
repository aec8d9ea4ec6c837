// Cookie names. Over https the session cookie is `__Host-` (Secure, Path=/, no Domain: it cannot
// be set or shadowed by a sibling subdomain). Browsers reject Secure cookies on plain http, so
// when FRONTDESK_URL is http (local development, tests on http://localhost) plain names are used.
import { publicUrl } from "@/lib/env";

export function usesSecureCookies(origin: string = publicUrl()): boolean {
  return origin.startsWith("https:");
}

export function sessionCookieName(origin: string = publicUrl()): string {
  return usesSecureCookies(origin) ? "__Host-frontdesk.session-token" : "frontdesk.session-token";
}
