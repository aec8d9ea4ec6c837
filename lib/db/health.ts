import { log } from "@/lib/log";
import { getDb } from "./client";

const HEALTH_TIMEOUT_MS = 2000;

/** "ok" when a trivial query answers within the timeout, "unreachable" otherwise. */
export async function checkDatabase(): Promise<"ok" | "unreachable"> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("health check timed out")), HEALTH_TIMEOUT_MS);
    });
    const db = await Promise.race([getDb(), timeout]);
    await Promise.race([db.$queryRaw`SELECT 1`, timeout]);
    return "ok";
  } catch (e) {
    log.warn("database health check failed", { error: e instanceof Error ? e.name : "unknown" });
    return "unreachable";
  } finally {
    clearTimeout(timer);
  }
}
