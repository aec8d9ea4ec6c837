// Portal chrome: who is signed in, navigation, sign-out. Pages check the session themselves.
import Link from "next/link";
import type { ReactNode } from "react";
import { getViewer } from "@/lib/auth/session";
import { countWaitingRequests } from "@/lib/portal/inbox";
import { SubmitButton } from "@/components/ui/button";
import { signOutAction } from "./sign-in/actions";

export const dynamic = "force-dynamic";

export default async function PortalLayout({ children }: { children: ReactNode }) {
  const viewer = await getViewer();
  const waiting = viewer ? await countWaitingRequests({ issuer: viewer.issuer, subject: viewer.subject }) : 0;
  return (
    <div className="min-h-screen">
      <header className="border-b border-slate-200 bg-white">
        {/* Wraps instead of overflowing: at 360 px the user menu moves under the navigation. */}
        <div className="mx-auto flex max-w-3xl flex-wrap items-center justify-between gap-x-4 gap-y-2 px-4 py-3 sm:px-6">
          <nav aria-label="Portal" className="flex min-w-0 flex-wrap items-center gap-x-5 gap-y-1">
            <Link href="/" className="font-semibold">
              Frontdesk
            </Link>
            {viewer ? (
              <Link href="/requests" className="text-sm text-slate-700 hover:underline">
                Requests
                {waiting > 0 ? (
                  <span aria-label={`${waiting} waiting`} data-testid="waiting-count" className="ml-1.5 rounded-full bg-blue-600 px-2 py-0.5 text-xs font-medium text-white">
                    {waiting}
                  </span>
                ) : null}
              </Link>
            ) : null}
            {viewer ? (
              <Link href="/connections" className="text-sm text-slate-700 underline-offset-4 hover:underline">
                My connections
              </Link>
            ) : null}
            {viewer?.role === "admin" ? (
              <Link href="/admin" className="text-sm text-slate-700 underline-offset-4 hover:underline">
                Dashboard
              </Link>
            ) : null}
          </nav>
          {viewer ? (
            <div className="flex min-w-0 items-center gap-3 text-sm">
              <span className="min-w-0 truncate text-slate-600" title={viewer.email ?? viewer.name ?? viewer.subject}>
                Signed in as <span className="font-medium text-slate-900">{viewer.email ?? viewer.name ?? viewer.subject}</span>
              </span>
              <form action={signOutAction} className="shrink-0">
                <SubmitButton variant="secondary" pendingLabel="Signing out…" className="!px-3 !py-1.5">
                  Sign out
                </SubmitButton>
              </form>
            </div>
          ) : null}
        </div>
      </header>
      <main className="mx-auto max-w-3xl px-4 py-8 sm:px-6 sm:py-10">{children}</main>
    </div>
  );
}
