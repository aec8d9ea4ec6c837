"use server";
// Delivery actions: send a given-up outbox event again.
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { adminAction } from "@/lib/admin/guard";
import { retryGivenUpEvent } from "@/lib/outbox/retry";

export const retryDeliveryAction = adminAction("deliveries.retry", z.object({ eventId: z.string().min(1).max(64) }), async ({ eventId }, { actor }) => {
  await retryGivenUpEvent(eventId, actor);
  revalidatePath("/admin/deliveries");
  return { message: `Event ${eventId} is due again: Frontdesk retries it now, with a fresh set of attempts.` };
});
