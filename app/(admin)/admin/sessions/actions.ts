"use server";
// Session actions: end one portal session, or all of a user's.
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { adminAction } from "@/lib/admin/guard";
import { endSession, endUserSessions } from "@/lib/admin/sessions";

const id = z.string().min(1).max(128);

export const endSessionAction = adminAction("sessions.end", z.object({ sessionId: id }), async ({ sessionId }, { actor }) => {
  await endSession(sessionId, actor);
  revalidatePath("/admin/sessions");
  return { message: "Session ended. That browser is signed out on its next request." };
});

export const endUserSessionsAction = adminAction("sessions.end_all_of_user", z.object({ userId: id }), async ({ userId }, { actor }) => {
  const { ended } = await endUserSessions(userId, actor);
  revalidatePath("/admin/sessions");
  return { message: `Ended ${ended} session${ended === 1 ? "" : "s"}. The user is signed out everywhere.` };
});
