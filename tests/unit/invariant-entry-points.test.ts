// Invariants 5 and 9 (design.md section 7), as wiring: the behaviour of the guards is tested
// elsewhere (gateway auth in integration/gateway-api, CSRF in integration/portal-callback, the
// admin role in e2e/admin-dashboard over every page that exists today). This test reads the
// app/ tree so that an entry point added tomorrow without its guard fails here:
//  - every gateway API route re-exports a handler from lib/gateway-api built with gatewayRoute;
//  - every admin page calls requireAdminPage, every admin route handler is adminRoute(...),
//    every admin server action is adminAction(...) (role + CSRF);
//  - every other server action that changes state passes verifyPortalPost (Origin + form token).
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? walk(full) : [full];
  });
}

const appFiles = walk(path.join(root, "app")).filter((f) => /\.(ts|tsx)$/.test(f));
const rel = (f: string) => path.relative(root, f);
const read = (f: string) => readFileSync(f, "utf8");

/** Top-level function bodies by name (from `function name(` to the next top-level declaration). */
function functionBodies(source: string): Map<string, string> {
  const bodies = new Map<string, string>();
  const decl = /^(?:export )?(?:async )?function (\w+)\s*\(/gm;
  const starts = [...source.matchAll(decl)].map((m) => ({ name: m[1]!, at: m.index! }));
  const boundaries = [...source.matchAll(/^(?:export |const |function |async function |type |interface )/gm)].map((m) => m.index!);
  for (const s of starts) {
    const end = boundaries.find((b) => b > s.at) ?? source.length;
    bodies.set(s.name, source.slice(s.at, end));
  }
  return bodies;
}

describe("gateway API routes", () => {
  const gatewayRoutes = appFiles.filter((f) => /app\/(api\/v1|oauth)\//.test(f) && f.endsWith("route.ts"));

  it("exist, and each only re-exports a gateway-authenticated handler from lib/gateway-api or lib/egress", () => {
    expect(gatewayRoutes.map(rel).sort()).toEqual([
      "app/api/v1/elicitations/[id]/route.ts",
      "app/api/v1/ext-authz/[provider]/[[...path]]/route.ts",
      "app/api/v1/proxy/[provider]/[[...path]]/route.ts",
      "app/api/v1/resolve/route.ts",
      "app/oauth/token/route.ts",
    ]);
    const METHOD = "GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS";
    for (const f of gatewayRoutes) {
      const code = read(f).replace(/^\/\/.*$/gm, "");
      // Either `export { handleX as POST } from "@/lib/<dir>/<module>"`, or one imported handler
      // (`import { handleX } from "@/lib/<dir>/<module>"`) exported under several methods.
      const reexported = [...code.matchAll(new RegExp(`export \\{ (\\w+) as (?:${METHOD}) \\} from "@/lib/(gateway-api|egress)/([\\w-]+)"`, "g"))].map((m) => ({ name: m[1]!, dir: m[2]!, module: m[3]! }));
      const imported = [...code.matchAll(/import \{ (\w+) \} from "@\/lib\/(gateway-api|egress)\/([\w-]+)"/g)].map((m) => ({ name: m[1]!, dir: m[2]!, module: m[3]! }));
      const assigned = [...code.matchAll(new RegExp(`export const (?:${METHOD}) = (\\w+);`, "g"))].map((m) => m[1]!);
      const handlers = [...reexported, ...imported.filter((i) => assigned.includes(i.name))];
      expect({ file: rel(f), handlers: new Set(handlers.map((h) => h.name)).size }).toEqual({ file: rel(f), handlers: 1 });
      // Every method export is that one handler; nothing else handles a method.
      expect({ file: rel(f), others: assigned.filter((a) => a !== handlers[0]!.name) }).toEqual({ file: rel(f), others: [] });
      expect({ file: rel(f), other: new RegExp(`export (async )?function (?:${METHOD})\\b`).test(code) }).toEqual({ file: rel(f), other: false });
      const { name, dir, module } = handlers[0]!;
      const lib = read(path.join(root, "lib", dir, `${module}.ts`));
      // The handler is gatewayRoute(...) itself, or made by a local factory whose body returns gatewayRoute(...)
      // (streamingGatewayRoute(...) for the egress proxy: the same wrapper, web Request and Response).
      const direct = new RegExp(`export const ${name} = gatewayRoute\\(`).test(lib);
      const factory = new RegExp(`export const ${name} = (\\w+)\\(`).exec(lib)?.[1];
      const viaFactory = factory !== undefined && new RegExp(`function ${factory}\\([^)]*\\)[^{]*\\{\\s*return (streamingG|g)atewayRoute\\(`).test(lib);
      expect({ handler: name, wrapped: direct || viaFactory }).toEqual({ handler: name, wrapped: true });
    }
  });

  it("server.ts dispatches only those same handlers directly", () => {
    const server = read(path.join(root, "server.ts"));
    const direct = [...server.matchAll(/(?:direct|web): (handle\w+)\b/g)].map((m) => m[1]).sort();
    // Plus readiness (lib/health, no credentials involved): it must see this process's shutdown state.
    expect(direct).toEqual(["handleElicitationStatus", "handleReady", "handleResolve", "handleTokenRequest"]);
    // checkReadiness: the server-error guard asks it whether the database is down (no handler).
    expect(server).toMatch(/import \{ (checkReadiness, )?handleLive, handleReady \} from "@\/lib\/health\/readiness";/);
  });
});

describe("admin dashboard", () => {
  it("every admin page checks the role on the server (requireAdminPage), not only the layout", () => {
    const pages = appFiles.filter((f) => f.includes(`${path.sep}(admin)${path.sep}`) && /(page|layout)\.tsx$/.test(f));
    expect(pages.length).toBeGreaterThan(5);
    const unguarded = pages.filter((f) => !/await requireAdminPage\(/.test(read(f))).map(rel);
    expect(unguarded).toEqual([]);
  });

  it("every admin route handler is wrapped in adminRoute", () => {
    const routes = appFiles.filter((f) => f.includes(`${path.sep}api${path.sep}admin${path.sep}`) && f.endsWith("route.ts"));
    expect(routes.length).toBeGreaterThan(0);
    for (const f of routes) {
      const code = read(f);
      const methods = [...code.matchAll(/export (?:async function|const) (GET|POST|PUT|PATCH|DELETE)\b(.*)/g)];
      expect(methods.length).toBeGreaterThan(0);
      for (const m of methods) expect({ file: rel(f), method: m[1], wrapped: /^\s*(?:<[^>]*>)?\s*=\s*adminRoute\b|=\s*adminRoute</.test(m[2]!) }).toEqual({ file: rel(f), method: m[1], wrapped: true });
    }
  });
});

describe("server actions", () => {
  const actionFiles = appFiles.filter((f) => /^\s*["']use server["'];?/m.test(read(f).split("\n").slice(0, 3).join("\n")));

  it("every admin server action is adminAction(...) (role and CSRF checks)", () => {
    const admin = actionFiles.filter((f) => f.includes(`${path.sep}(admin)${path.sep}`));
    expect(admin.length).toBeGreaterThan(3);
    for (const f of admin) {
      const code = read(f);
      const exports = [...code.matchAll(/^export (?:async function|const|let|function) (\w+)(.*)$/gm)];
      for (const e of exports) expect({ file: rel(f), action: e[1], wrapped: /^ = adminAction\(/.test(e[2]!) }).toEqual({ file: rel(f), action: e[1], wrapped: true });
    }
  });

  it("every other state-changing server action passes verifyPortalPost (directly, through a local guard, or through requirePortalPost)", () => {
    // The shared portal guard itself: CSRF check and rate limit, and not a server action.
    const shared = read(path.join(root, "app/(portal)/portal-post.ts"));
    expect(shared).not.toMatch(/^["']use server["']/m);
    const requireBody = functionBodies(shared).get("requirePortalPost") ?? "";
    expect({ csrf: requireBody.includes("verifyPortalPost("), rateLimit: requireBody.includes("portalActionAllowed(") }).toEqual({ csrf: true, rateLimit: true });
    // Sign-in and sign-out hand over to next-auth (its own CSRF token for sign-in; sign-out with a
    // SameSite=Lax cookie cannot be triggered cross-site with the session).
    const exempt = new Set(["signInAction", "signOutAction"]);
    const portal = actionFiles.filter((f) => !f.includes(`${path.sep}(admin)${path.sep}`));
    expect(portal.length).toBeGreaterThan(1);
    const unguarded: string[] = [];
    for (const f of portal) {
      const code = read(f);
      const bodies = functionBodies(code);
      const isGuard = (body: string) => body.includes("verifyPortalPost(") || body.includes("requirePortalPost(");
      const guards = new Set([...bodies].filter(([, body]) => isGuard(body)).map(([name]) => name));
      for (const [, name] of code.matchAll(/^export (?:async )?function (\w+)/gm)) {
        if (exempt.has(name!)) continue;
        const body = bodies.get(name!) ?? "";
        const guarded = isGuard(body) || [...guards].some((g) => g !== name && body.includes(`${g}(`));
        if (!guarded) unguarded.push(`${rel(f)}: ${name}`);
      }
      expect({ file: rel(f), otherExports: /^export (const|let|var) /m.test(code) }).toEqual({ file: rel(f), otherExports: false });
    }
    expect(unguarded).toEqual([]);
  });
});
