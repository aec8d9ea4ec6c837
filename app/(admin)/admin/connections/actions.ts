"use server";
// Connection (grant) actions: revoke one; revoke all of a user, provider or gateway.
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { bulkRevokeGrants } from "@/lib/admin/bulk-revoke";
import { adminAction } from "@/lib/admin/guard";
import { revokeGrant } from "@/lib/grants/revoke";

const id = z.string().min(1).max(128);

export const revokeGrantAction = adminAction("connections.revoke", z.object({ grantId: id }), async ({ grantId }, { actor }) => {
  const { upstreamRevoked } = await revokeGrant(grantId, actor);
  revalidatePath("/admin", "layout");
  return {
    message: upstreamRevoked
      ? "Connection revoked: Frontdesk deleted the credential and the provider confirmed the revocation."
      : "Connection revoked: Frontdesk deleted the credential (the provider offers no revocation, or did not confirm it).",
  };
});

export const bulkRevokeAction = adminAction(
  "connections.bulk_revoke",
  z.object({ by: z.enum(["user", "provider", "gateway"]), target: id }),
  async ({ by, target }, { actor }) => {
    const t = by === "user" ? { by, userId: target } : by === "provider" ? { by, providerId: target } : { by, gatewayId: target };
    const r = await bulkRevokeGrants(t, actor);
    revalidatePath("/admin", "layout");
    return {
      message: `Revoked ${r.revoked} connection${r.revoked === 1 ? "" : "s"} (${r.upstreamRevoked} also revoked at the provider)${r.failed ? `; ${r.failed} failed, see the server log` : ""}.`,
    };
  },
);
