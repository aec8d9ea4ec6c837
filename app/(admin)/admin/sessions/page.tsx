// /admin/sessions - portal sessions: who, since when, last seen, browser; end one or all of a user's.
import type { Metadata } from "next";
import Link from "next/link";
import { ConfirmAction } from "@/components/admin/confirm";
import { Badge, DataTable, FilterBar, FilterInput, FilterSelect, Pagination, Td, When } from "@/components/admin/table";
import { requireAdminPage } from "@/lib/admin/guard";
import { toPageRequest } from "@/lib/admin/pagination";
import { listSessionsPage } from "@/lib/admin/sessions";
import { describeUserAgent } from "@/lib/admin/user-agent";
import { endSessionAction, endUserSessionsAction } from "./actions";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Sessions" };

type Params = Record<string, string | string[] | undefined>;
const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.trim() || undefined;

export default async function SessionsPage({ searchParams }: { searchParams: Promise<Params> }) {
  const { formToken, viewer } = await requireAdminPage("/admin/sessions");
  const sp = await searchParams;
  const query = { q: one(sp.q)?.slice(0, 200), user: one(sp.user), expired: one(sp.expired) === "1" ? "1" : undefined, pageSize: one(sp.pageSize) };
  const pageReq = toPageRequest(one(sp.page), query.pageSize);
  const page = await listSessionsPage({ q: query.q, userId: query.user, includeExpired: query.expired === "1" }, pageReq);
  const filteredUser = query.user ? page.rows[0]?.user : undefined;
  return (
    <>
      <h1 className="text-2xl font-semibold tracking-tight [overflow-wrap:anywhere]">Sessions</h1>
      <FilterBar path="/admin/sessions">
        <FilterInput name="q" label="Search (user, browser)" defaultValue={query.q} />
        <FilterSelect name="expired" label="Expired sessions" defaultValue={query.expired} options={[{ value: "1", label: "Include" }]} />
        {query.user ? <input type="hidden" name="user" value={query.user} /> : null}
      </FilterBar>
      {filteredUser ? (
        <div className="rounded-lg border border-red-200 bg-white p-4 shadow-sm">
          <ConfirmAction
            summary={`End all sessions of ${filteredUser.email ?? filteredUser.name ?? filteredUser.id}…`}
            consequence={<p>Signs this user out of the portal and the dashboard in every browser. Their connections stay; they can sign in again.</p>}
            confirmLabel="End all their sessions"
            pendingLabel="Ending…"
            action={endUserSessionsAction}
            formToken={formToken}
            hidden={{ userId: filteredUser.id }}
          />
        </div>
      ) : null}
      <DataTable caption="Portal sessions" head={["User", "Role", "Created", "Last seen", "Expires", "Browser", ""]} empty={page.rows.length === 0}>
        {page.rows.map((s) => (
          <tr key={s.id}>
            <Td>
              <Link href={`/admin/sessions?user=${encodeURIComponent(s.user.id)}`} className="hover:underline">
                {s.user.email ?? s.user.name ?? s.user.id}
              </Link>
            </Td>
            <Td>
              <Badge value={s.user.role} />
            </Td>
            <Td>
              <When value={s.createdAt} />
            </Td>
            <Td>
              <When value={s.lastSeenAt} />
            </Td>
            <Td>
              <When value={s.expires} />
            </Td>
            <Td className="text-xs text-slate-600">
              <span title={s.userAgent ?? undefined}>{describeUserAgent(s.userAgent)}</span>
            </Td>
            <Td>
              <ConfirmAction
                summary="End…"
                consequence={<p>{s.user.id === viewer.userId ? "This may be your own session: you would be signed out." : "That browser is signed out on its next request."}</p>}
                confirmLabel="End session"
                pendingLabel="Ending…"
                action={endSessionAction}
                formToken={formToken}
                hidden={{ sessionId: s.id }}
              />
            </Td>
          </tr>
        ))}
      </DataTable>
      <Pagination path="/admin/sessions" query={query} page={page.page} pageCount={page.pageCount} total={page.total} />
    </>
  );
}
