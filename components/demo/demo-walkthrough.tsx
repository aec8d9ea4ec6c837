// The home page's demo section: what runs where and how to walk through the flow. Rendered only
// when Frontdesk runs in demo mode (FRONTDESK_DEMO, set by `npm start`'s demo launcher); only
// then does it show the demo identity provider's test passwords.
import { connection } from "next/server";
import { DEMO_USERS } from "@/demo/demo-users";
import { DEMO_GATEWAY_NAME, demoUrls } from "@/demo/ports";
import { env, publicUrl } from "@/lib/env";

function Code({ children }: { children: string }) {
  return <code className="rounded bg-slate-100 px-1.5 py-0.5 font-mono text-sm text-slate-900">{children}</code>;
}

export async function DemoWalkthrough() {
  // Read the configuration at request time, not at build time.
  await connection();
  const e = env();
  if (!e.FRONTDESK_DEMO) return null;
  const urls = demoUrls(e.FRONTDESK_DEMO_BASE_PORT);
  const users = (["alice", "bob", "admin"] as const).map((login) => ({ ...DEMO_USERS[login], login }));
  const proxyMode = e.FRONTDESK_DEMO_GATEWAY_MODE === "proxy";
  return (
    <section aria-labelledby="demo-heading" className="mt-12 space-y-6 rounded-lg border border-amber-300 bg-amber-50 p-6">
      <div>
        <h2 id="demo-heading" className="text-xl font-semibold">
          Try the demo
        </h2>
        <p className="mt-2 text-slate-700">
          This Frontdesk runs in demo mode: everything below runs on this machine, with test accounts only.
        </p>
      </div>

      <div>
        <h3 className="font-semibold">What is running</h3>
        <table className="mt-2 w-full text-left text-sm">
          <tbody className="divide-y divide-amber-200">
            <tr>
              <th className="py-1 pr-4 font-medium">Frontdesk (this portal)</th>
              <td className="font-mono">{publicUrl()}</td>
            </tr>
            <tr>
              <th className="py-1 pr-4 font-medium">Identity provider (Example Corp SSO)</th>
              <td className="font-mono">{urls.identityProvider}</td>
            </tr>
            <tr>
              <th className="py-1 pr-4 font-medium">Notes (the upstream service and its API)</th>
              <td className="font-mono">{urls.notes}</td>
            </tr>
            <tr>
              <th className="py-1 pr-4 font-medium">Egress gateway ({DEMO_GATEWAY_NAME})</th>
              <td className="font-mono">{urls.gateway}</td>
            </tr>
            <tr>
              <th className="py-1 pr-4 font-medium">Gateway mode</th>
              <td data-testid="gateway-mode">
                {e.FRONTDESK_DEMO_GATEWAY_MODE === "proxy" ? (
                  <>
                    <strong>proxy</strong>: the gateway sends each Notes request through Frontdesk&apos;s egress proxy, which adds the
                    token itself; neither the gateway nor the MCP server ever holds it.
                  </>
                ) : (
                  <>
                    <strong>inject</strong>: the gateway exchanges the user&apos;s identity token for the Notes token (RFC 8693) and adds
                    it; the MCP server never holds it.
                  </>
                )}
              </td>
            </tr>
            <tr>
              <th className="py-1 pr-4 font-medium">MCP server (tool list_my_notes)</th>
              <td className="font-mono">{urls.mcpServer}</td>
            </tr>
          </tbody>
        </table>
      </div>

      <div>
        <h3 className="font-semibold">Demo accounts</h3>
        <p className="mt-1 text-sm text-slate-700">
          Test accounts of the local demo identity provider; Notes knows alice and bob with the same passwords. Shown here only in
          demo mode.
        </p>
        <table className="mt-2 text-left text-sm" aria-label="Demo accounts">
          <thead>
            <tr>
              <th className="pr-6 font-medium">User</th>
              <th className="pr-6 font-medium">Password</th>
              <th className="font-medium">Role</th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.login}>
                <td className="pr-6 font-mono">{u.login}</td>
                <td className="pr-6 font-mono">{u.password}</td>
                <td>{u.login === "admin" ? "Frontdesk administrator" : u.login === "alice" ? "engineering" : "sales"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <div>
        <h3 className="font-semibold">Walk through it</h3>
        <ol className="mt-2 list-decimal space-y-2 pl-6 text-slate-700">
          <li>
            In a terminal, in the Frontdesk folder, run <Code>npx tsx demo/client.ts alice</Code>. It is an MCP client built with the
            official SDK v2; it speaks MCP revision <strong>2026-07-28</strong> (the current one) and calls <Code>list_my_notes</Code> on
            the MCP server as alice. Add <Code>--revision 2025-11-25</Code> for last year&apos;s protocol: the same MCP server URL serves
            both.
          </li>
          <li>
            The MCP server asks the egress gateway for alice&apos;s notes.{" "}
            {proxyMode
              ? "The gateway sends the Notes request to Frontdesk's egress proxy with alice's identity token."
              : "The gateway asks Frontdesk for alice's Notes credential (an RFC 8693 token exchange)."}{" "}
            Alice has not connected Notes yet, so Frontdesk answers with a link, and the client prints it
            (2026-07-28: an <Code>input_required</Code> result with a URL elicitation and a requestState sealed by Frontdesk;
            2025-11-25: MCP error -32042).
          </li>
          <li>
            Open the link, sign in as <Code>alice</Code> / <Code>{DEMO_USERS.alice.password}</Code>, check who asks for what, and
            approve.
          </li>
          <li>
            Notes asks you to sign in (again <Code>alice</Code> / <Code>{DEMO_USERS.alice.password}</Code>) and to authorize Frontdesk.
            Frontdesk stores the token encrypted.
          </li>
          <li>
            Back in the terminal, the client prints alice&apos;s notes: on 2026-07-28 its automatic retry was waiting at Frontdesk and
            ends as soon as you authorize; on 2025-11-25 it receives <Code>notifications/elicitation/complete</Code> and calls the tool
            again.{" "}
            {proxyMode
              ? "The Notes token never left Frontdesk except on its own connection to Notes; the gateway, the MCP server and the client never saw it."
              : "The token went from Frontdesk to the gateway only; the MCP server and the client never saw it."}
          </li>
          <li>
            Try <Code>npx tsx demo/client.ts bob</Code>: bob gets his own link, cannot open alice&apos;s, and sees only his own notes.
            Then look at <a className="underline" href="/connections">My connections</a>, where you can revoke Notes.
          </li>
        </ol>
      </div>
    </section>
  );
}
