"use server";
// Revoking a user's standing delegation as an admin (lib/delegations/revoke.ts audits it; the
// agent's next call is refused on every instance).
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { adminAction } from "@/lib/admin/guard";
import { revokeDelegation } from "@/lib/delegations/revoke";

export const revokeDelegationAction = adminAction("delegations.revoke", z.object({ delegationId: z.string().min(1).max(128) }), async ({ delegationId }, { actor }) => {
  await revokeDelegation(delegationId, actor);
  revalidatePath("/admin/delegations");
  revalidatePath("/admin/agents", "layout");
  return { message: "Delegation revoked: the agent's next call on this user's behalf is refused." };
});
