// GET /api/admin/audit/export?format=csv|jsonl&<audit filters> - streams the filtered audit
// log (admins only; the export itself is audited). Audit rows hold no secrets by construction.
import { auditExportStarted, emptyAuditExport, readAuditQuery, resolveAuditFilter, streamAuditExport } from "@/lib/admin/audit-log";
import { adminRoute } from "@/lib/admin/guard";
import { AppError } from "@/lib/errors";

export const dynamic = "force-dynamic";

export const GET = adminRoute<Record<string, never>>("audit.export", async (request, { actor }) => {
  const url = new URL(request.url);
  const params = Object.fromEntries(url.searchParams.entries());
  const format = params.format === "jsonl" ? "jsonl" : params.format === "csv" || params.format === undefined ? "csv" : null;
  if (!format) throw new AppError("invalid_query", "format must be csv or jsonl");
  const q = readAuditQuery(params);
  const { filter, unmatched } = await resolveAuditFilter(q);
  await auditExportStarted(actor, q, format);
  // A filter naming no user matches nothing: export an empty set rather than everything.
  const stream = unmatched.length ? emptyAuditExport(format) : await streamAuditExport(filter, format);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return new Response(stream, {
    headers: {
      "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8",
      "content-disposition": `attachment; filename="frontdesk-audit-${stamp}.${format === "csv" ? "csv" : "jsonl"}"`,
      "cache-control": "no-store",
    },
  });
});
