// A second Frontdesk instance for requestState key tests, in its own process (its own key
// cache) on the test's database: it rotates the request-state key, which it then seals with at
// once, and answers one REST resolve, whose consent-needed answer carries a state under that key.
//   tsx tests/helpers/request-state-instance-cli.ts rotate-and-resolve '{"frontdeskUrl",...}'
import { serveFixtureCommands } from "./fixture-process";

serveFixtureCommands({
  async "rotate-and-resolve"(input) {
    const { rotateRequestStateKey } = await import("@/lib/elicitations/request-state-keys");
    const { handleResolve } = await import("@/lib/gateway-api/resolve");
    const keyId = await rotateRequestStateKey({ type: "admin", id: "test" });
    const res = await handleResolve(
      new Request(`${String(input.frontdeskUrl)}/api/v1/resolve`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: String(input.authorization) },
        body: JSON.stringify(input.body),
      }),
    );
    const body = (await res.json()) as { inputRequired?: { requestState?: string } };
    return { keyId, status: res.status, requestState: body.inputRequired?.requestState ?? null };
  },
});
