// Dashboard chrome. The admin role is checked here on the server AND again by every page,
// action and route (lib/admin/guard.ts): a layout does not run for every request that reaches
// a page or an action, so it is never the only check.
import type { Metadata } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import { AdminFeedbackProvider } from "@/components/admin/feedback";
import { SubmitButton } from "@/components/ui/button";
import { requireAdminPage } from "@/lib/admin/guard";
import { signOutAction } from "../(portal)/sign-in/actions";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: { default: "Admin", template: "%s · Admin · Frontdesk" }, robots: { index: false } };

const nav = [
  { href: "/admin", label: "Overview" },
  { href: "/admin/connections", label: "Connections" },
  { href: "/admin/sessions", label: "Sessions" },
  { href: "/admin/providers", label: "Providers" },
  { href: "/admin/gateways", label: "Gateways" },
  { href: "/admin/agents", label: "Agents" },
  { href: "/admin/delegations", label: "Delegations" },
  { href: "/admin/policy", label: "Policy" },
  { href: "/admin/audit", label: "Audit log" },
  { href: "/admin/deliveries", label: "Deliveries" },
];

export default async function AdminLayout({ children }: { children: ReactNode }) {
  const { viewer } = await requireAdminPage("/admin");
  return (
    <div className="min-h-screen">
      <header className="border-b border-slate-200 bg-slate-900 text-white">
        <div className="mx-auto flex max-w-7xl flex-wrap items-center justify-between gap-4 px-6 py-3">
          <nav aria-label="Admin" className="flex flex-wrap items-center gap-5 text-sm">
            <Link href="/admin" className="text-base font-semibold">
              Frontdesk admin
            </Link>
            {nav.slice(1).map((item) => (
              <Link key={item.href} href={item.href} className="text-slate-200 hover:text-white hover:underline">
                {item.label}
              </Link>
            ))}
          </nav>
          <div className="flex items-center gap-3 text-sm">
            <span className="text-slate-300">
              Admin: <span className="font-medium text-white">{viewer.email ?? viewer.name ?? viewer.subject}</span>
            </span>
            <form action={signOutAction}>
              <SubmitButton variant="secondary" pendingLabel="Signing out…" className="!px-3 !py-1">
                Sign out
              </SubmitButton>
            </form>
          </div>
        </div>
      </header>
      <main className="mx-auto max-w-7xl space-y-6 px-6 py-8">
        <AdminFeedbackProvider>{children}</AdminFeedbackProvider>
      </main>
    </div>
  );
}
