// The home page: what Frontdesk is, in the portal's chrome (same header and signed-in state).
import Link from "next/link";
import { DemoWalkthrough } from "@/components/demo/demo-walkthrough";

export default function HomePage() {
  return (
    <div className="mx-auto max-w-2xl">
      <h1 className="text-3xl font-semibold tracking-tight">Frontdesk</h1>
      <p className="mt-4 text-lg text-slate-700">
        Frontdesk keeps the keys to your upstream accounts (GitHub, Google, Slack, Atlassian and more) so that AI
        agents and MCP servers never hold them. When an agent needs to act for you, Frontdesk asks you here, once,
        and then hands a short-lived credential to your organization&apos;s gateway for each request.
      </p>
      <nav aria-label="Get started" className="mt-8 flex gap-4">
        <Link className="rounded-md bg-slate-900 px-4 py-2 text-white hover:bg-slate-700" href="/connections">
          My connections
        </Link>
      </nav>
      <DemoWalkthrough />
    </div>
  );
}
