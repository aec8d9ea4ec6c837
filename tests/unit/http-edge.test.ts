// lib/http-edge/check-request.ts: the rules every request meets before a handler sees it
// (invariant 10). Over a real server (CONNECT, parser errors, drained 413s):
// tests/e2e/invariant-bad-input-http.spec.ts.
import { describe, expect, it } from "vitest";
import { checkRequestEdge, SERVER_ACTION_MAX_BODY_BYTES } from "@/lib/http-edge/check-request";

const HOST = "frontdesk.example:8443";
function check(method: string, url: string, headers: [string, string][] = [["Host", HOST]]) {
  return checkRequestEdge({ method, url, rawHeaders: headers.flat() });
}
const action = (extra: [string, string][], url = "/connections") =>
  check("POST", url, [["Host", HOST], ["Content-Type", "multipart/form-data; boundary=x"], ["Next-Action", "abc"], ["Content-Length", "10"], ...extra]);

describe("http edge", () => {
  it("accepts ordinary origin-form requests unchanged", () => {
    for (const url of ["/", "/connect/eli_abc", "/api/v1/resolve", "/a%20b?x=%ZZ", "/caf%C3%A9"]) {
      expect(check("GET", url)).toEqual({ ok: true, url });
    }
    // Next.js answers "//host/x" with a same-origin 308 to "/host/x": origin-form, not a foreign target.
    expect(check("GET", "//other.host/x")).toEqual({ ok: true, url: "//other.host/x" });
  });

  it("answers OPTIONS * itself (Next.js answered it with 500) and refuses * for other methods", () => {
    expect(check("OPTIONS", "*")).toEqual({ ok: false, serverOptions: true });
    expect(check("GET", "*")).toMatchObject({ ok: false, rejection: { status: 400, code: "invalid_request" } });
  });

  it("refuses TRACE, TRACK and CONNECT with 405 and an Allow header", () => {
    for (const m of ["TRACE", "TRACK", "CONNECT", "trace"]) {
      const v = check(m, "/");
      expect(v).toMatchObject({ ok: false, rejection: { status: 405, code: "method_not_allowed", headers: { Allow: expect.any(String) } } });
    }
  });

  it("refuses two Host headers and a malformed one", () => {
    expect(check("GET", "/", [["Host", HOST], ["host", "evil.example"]])).toMatchObject({ ok: false, rejection: { status: 400 } });
    for (const h of ["evil.example/x", "a b", "x@y", "[::1", "host:port", ""]) {
      expect(check("GET", "/", [["Host", h]]), h).toMatchObject({ ok: false, rejection: { status: 400, code: "invalid_request" } });
    }
    expect(check("GET", "/", [["Host", "[::1]:3000"]])).toMatchObject({ ok: true });
  });

  it("rewrites an absolute-form target for this host and refuses one for another host", () => {
    expect(check("POST", `http://${HOST}/oauth/token`)).toEqual({ ok: true, url: "/oauth/token" });
    expect(check("GET", `https://${HOST.toUpperCase()}?q=1`)).toEqual({ ok: true, url: "/?q=1" });
    for (const url of ["http://other.host/oauth/token", "http://other.host", `http://${HOST}.evil/x`, "x", "*"]) {
      expect(check("POST", url), url).toMatchObject({ ok: false, rejection: { status: 400, code: "invalid_request" } });
    }
  });

  it("refuses malformed percent-escapes, non-UTF-8 and control characters in the path", () => {
    for (const url of ["/connect/%ZZ", "/api/oauth/callback/%ZZ", "/admin/gateways/%ZZ", "/a%", "/a%4", "/connect/%FF", "/%C0%AF", "/x%00y", "/x%0A", "/%7F"]) {
      expect(check("GET", url), url).toMatchObject({ ok: false, rejection: { status: 400, code: "invalid_request" } });
    }
  });

  it("refuses cross-origin, non-multipart, unsized and oversized server-action posts", () => {
    expect(action([["Origin", `http://${HOST}`]])).toMatchObject({ ok: true });
    expect(action([])).toMatchObject({ ok: true }); // no Origin: not a browser (Next lets it through too)
    for (const origin of ["http://evil.example", "null", "not a url", `http://${HOST}.evil`]) {
      expect(action([["Origin", origin]]), origin).toMatchObject({ ok: false, rejection: { status: 403, code: "forbidden" } });
    }
    expect(action([["Origin", `http://${HOST}`], ["Origin", "http://evil.example"]])).toMatchObject({ ok: false, rejection: { status: 400 } });
    // Next compares with X-Forwarded-Host when present; so does the edge.
    expect(action([["Origin", `http://${HOST}`], ["X-Forwarded-Host", "proxy.example"]])).toMatchObject({ ok: false, rejection: { status: 403 } });
    // text/plain is how Next's client sends an action called without form data (Sign out): allowed,
    // with the same origin and size checks; any other encoding is refused.
    const textPlain = check("POST", "/connections", [["Host", HOST], ["Origin", `http://${HOST}`], ["Content-Type", "text/plain;charset=UTF-8"], ["Next-Action", "abc"], ["Content-Length", "5"]]);
    expect(textPlain).toMatchObject({ ok: true });
    const crossOriginText = check("POST", "/connections", [["Host", HOST], ["Origin", "http://evil.example"], ["Content-Type", "text/plain;charset=UTF-8"], ["Next-Action", "abc"], ["Content-Length", "5"]]);
    expect(crossOriginText).toMatchObject({ ok: false, rejection: { status: 403 } });
    for (const type of ["application/json", "application/x-www-form-urlencoded"]) {
      const other = check("POST", "/connections", [["Host", HOST], ["Content-Type", type], ["Next-Action", "abc"], ["Content-Length", "5"]]);
      expect(other, type).toMatchObject({ ok: false, rejection: { status: 415 } });
    }
    const chunked = check("POST", "/connections", [["Host", HOST], ["Content-Type", "multipart/form-data; boundary=x"], ["Transfer-Encoding", "chunked"]]);
    expect(chunked).toMatchObject({ ok: false, rejection: { status: 411, code: "length_required" } });
    const big = check("POST", "/admin/gateways", [["Host", HOST], ["Content-Type", "multipart/form-data; boundary=x"], ["Content-Length", String(SERVER_ACTION_MAX_BODY_BYTES + 1)]]);
    expect(big).toMatchObject({ ok: false, rejection: { status: 413, code: "payload_too_large" } });
  });

  it("leaves posts to the gateway API, route handlers and next-auth to their handlers", () => {
    for (const url of ["/oauth/token", "/api/v1/resolve", "/api/auth/signin/idp"]) {
      expect(check("POST", url, [["Host", HOST], ["Content-Type", "multipart/form-data; boundary=x"], ["Origin", "http://evil.example"]]), url).toMatchObject({ ok: true });
    }
  });
});
