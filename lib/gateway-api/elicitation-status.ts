// GET /api/v1/elicitations/<id>?wait=<seconds> - status of an elicitation this gateway created
// (interface E), long-polling up to 60 s for a change made on any instance.
import { z } from "zod";
import { getDb } from "@/lib/db/client";
import { awaitElicitationSettled } from "@/lib/elicitations/await-settled";
import { getElicitation } from "@/lib/elicitations/read";
import { AppError } from "@/lib/errors";
import { gatewayRoute } from "./gateway-route";
import { json, type ApiRequest } from "./http";

const querySchema = z
  .object({ wait: z.string().regex(/^\d{1,2}$/, "wait: whole seconds, 0 to 60").optional() })
  .strict();

const ID_PATTERN = /^eli_[A-Za-z0-9_-]{16,64}$/;
export const MAX_WAIT_SECONDS = 60;

function parseRequest(req: ApiRequest): { id: string; waitSeconds: number } {
  const url = new URL(req.target, "http://frontdesk.invalid");
  const parsed = querySchema.safeParse(Object.fromEntries(url.searchParams));
  if (!parsed.success || new Set(url.searchParams.keys()).size !== [...url.searchParams.keys()].length) {
    throw new AppError("invalid_query", parsed.success ? "Repeated query parameter" : (parsed.error.issues[0]?.message ?? "Invalid query"));
  }
  const waitSeconds = parsed.data.wait === undefined ? 0 : Number(parsed.data.wait);
  if (waitSeconds > MAX_WAIT_SECONDS) throw new AppError("invalid_query", `wait: at most ${MAX_WAIT_SECONDS} seconds`);
  const last = url.pathname.split("/").filter(Boolean).pop() ?? "";
  let id: string;
  try {
    id = decodeURIComponent(last);
  } catch {
    // A malformed percent escape names no elicitation (and must not surface as a 500).
    id = "";
  }
  return { id, waitSeconds };
}

async function readStatus(id: string) {
  const db = await getDb();
  return db.elicitation.findUnique({ where: { id }, select: { status: true, completedAt: true, expiresAt: true, gatewayId: true } });
}

export const handleElicitationStatus = gatewayRoute({ name: "elicitation_status", body: "none", style: "api" }, async ({ req, gateway }) => {
  const { id, waitSeconds } = parseRequest(req);
  // Unknown, malformed and other gateways' ids look the same: not found.
  const notFound = () => new AppError("not_found", "No such elicitation");
  if (!ID_PATTERN.test(id)) throw notFound();
  // getElicitation marks an expired one as such (and audits it).
  const row = await getElicitation(id);
  if (!row || row.gatewayId !== gateway.id) throw notFound();
  const first = { status: row.status, completedAt: row.completedAt, expiresAt: row.expiresAt, gatewayId: row.gatewayId };
  const status = await awaitElicitationSettled(id, first, waitSeconds * 1000, readStatus, req.signal);
  if (!status) throw notFound();
  return json({
    elicitationId: id,
    status: status.status,
    ...(status.completedAt ? { completedAt: status.completedAt.toISOString() } : {}),
    expiresAt: status.expiresAt.toISOString(),
  });
});
