// GET /api/health/ready - readiness: database reachable, migrations current, keys loaded, not
// shutting down (503 naming the failing check otherwise). server.ts answers this path itself;
// this route serves it under `next start` / `next dev`.
import { handleReady } from "@/lib/health/readiness";

export const dynamic = "force-dynamic";

export function GET() {
  return handleReady();
}
