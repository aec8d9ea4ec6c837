// A user's choice to receive out-of-band notices (e-mail, chat) about requests waiting for them.
import { appendAudit } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";

export async function getNoticesEnabled(userId: string): Promise<boolean> {
  const db = await getDb();
  return (await db.user.findUnique({ where: { id: userId }, select: { noticesEnabled: true } }))?.noticesEnabled ?? true;
}

export async function setNoticesEnabled(userId: string, enabled: boolean): Promise<void> {
  const db = await getDb();
  await db.$transaction(async (tx) => {
    await tx.user.update({ where: { id: userId }, data: { noticesEnabled: enabled } });
    await appendAudit(
      { actorType: "user", actorId: userId, userId, action: "user.notices_changed", decision: "info", context: { enabled } },
      tx,
    );
  });
}
