// The exact redirect URI registered with every provider: one per provider, so a code or error
// for one provider can never be delivered to another's flow (OAuth mix-up defense).
import { publicUrl } from "@/lib/env";

export function upstreamRedirectUri(providerSlug: string): string {
  return `${publicUrl()}/api/oauth/callback/${encodeURIComponent(providerSlug)}`;
}
