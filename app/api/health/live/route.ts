// GET /api/health/live - liveness: the process answers (no dependency consulted). server.ts
// answers this path itself; this route serves it under `next start` / `next dev`.
import { handleLive } from "@/lib/health/readiness";

export const dynamic = "force-dynamic";

export function GET() {
  return handleLive();
}
