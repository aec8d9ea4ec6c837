import { describe, expect, it } from "vitest";
import { isElicitationId, readElicitationContext } from "@/lib/elicitations/context";
import { toUrlElicitation } from "@/lib/elicitations/mcp";
import { newId } from "@/lib/ids";
import { publicUrl } from "@/lib/env";
import { coversScopes, parseScopeString, scopesToRequest } from "@/lib/portal/scopes";

describe("elicitation ids", () => {
  it("are eli_ + 32 random bytes, and nothing else passes", () => {
    const id = newId("eli", 32);
    expect(isElicitationId(id)).toBe(true);
    expect(id).toHaveLength(4 + 43);
    expect(newId("eli", 32)).not.toBe(id);
    for (const bad of ["", "eli_", newId("eli", 16), `${id}x`, id.replace("eli_", "grt_"), `${id.slice(0, -1)}%`, "eli_../../etc/passwd"]) {
      expect(isElicitationId(bad)).toBe(false);
    }
  });
});

describe("elicitation context", () => {
  it("keeps known bounded fields and drops anything else to an empty context", () => {
    expect(readElicitationContext({ agentId: "a", toolName: "t", labels: { team: "x" } })).toEqual({ agentId: "a", toolName: "t", labels: { team: "x" } });
    expect(readElicitationContext({ agentId: "a", script: "<x>" })).toEqual({});
    expect(readElicitationContext({ agentId: "x".repeat(201) })).toEqual({});
    expect(readElicitationContext(null)).toEqual({});
    expect(readElicitationContext("text")).toEqual({});
  });
});

describe("MCP URL-mode elicitation", () => {
  it("carries only the opaque id in the portal URL", () => {
    const id = newId("eli", 32);
    const e = toUrlElicitation({ id }, { displayName: "GitHub" });
    expect(e).toEqual({ mode: "url", elicitationId: id, url: `${publicUrl()}/connect/${id}`, message: expect.stringContaining("GitHub") });
    expect(new URL(e.url).search).toBe("");
  });
});

describe("incremental consent scopes", () => {
  it("asks for defaults, what is granted and what is new, once each", () => {
    expect(scopesToRequest(["openid"], ["notes:read"], ["notes:read", "notes:write"])).toEqual(["openid", "notes:read", "notes:write"]);
  });

  it("parses granted scopes in space or comma form", () => {
    expect(parseScopeString("repo,read:user")).toEqual(["repo", "read:user"]);
    expect(parseScopeString("a b  a")).toEqual(["a", "b"]);
    expect(parseScopeString(undefined)).toBeNull();
    expect(coversScopes(["a", "b"], ["a"])).toBe(true);
    expect(coversScopes(["a"], ["a", "b"])).toBe(false);
  });
});
