// The one way admin pages, server actions and route handlers are protected. Every entry point
// checks the admin role on the server, from the database session, on every request (a layout
// alone is not enough: pages and actions can be requested without their layout running).
// Non-admins get a 404 (the dashboard does not reveal that it exists) and the attempt is audited.
// State-changing actions also pass the portal's CSRF checks: same Origin and a form token bound
// to the session (lib/portal/form-guard.ts), on top of SameSite=Lax session cookies.
import { headers } from "next/headers";
import { notFound, redirect } from "next/navigation";
import { cache } from "react";
import { z } from "zod";
import { getViewer, signInPath, type Viewer } from "@/lib/auth/session";
import { AppError, isAppError, toAppError } from "@/lib/errors";
import { apiError, toWebResponse } from "@/lib/gateway-api/http";
import { clientAddress } from "@/lib/http-edge/client-address";
import { newId } from "@/lib/ids";
import { log } from "@/lib/log";
import { submittedFields } from "@/lib/portal/form-fields";
import { limitPortalAction } from "@/lib/rate-limit/limits";
import { createFormToken, verifyPortalPost } from "@/lib/portal/form-guard";
import { auditAdminRefusal, decideAdminAccess, type AdminActor } from "./access";

export const ADMIN_FORM_PURPOSE = "admin";

export interface AdminContext {
  viewer: Viewer;
  actor: AdminActor;
  /** Hidden input value for every admin form (CSRF). */
  formToken: string;
}

// One session lookup per request, however many components ask.
const loadViewer = cache(getViewer);
// One refusal audit per request (the layout and the page may both refuse).
const refusalState = cache(() => ({ audited: false }));

async function refuse(viewer: Viewer | null, surface: "page" | "action" | "route", target: string): Promise<void> {
  const state = refusalState();
  if (state.audited) return;
  state.audited = true;
  await auditAdminRefusal(viewer, surface, target, clientAddress(await headers()));
}

/** For admin pages and the admin layout: the admin, or sign-in (anonymous) / 404 (non-admin). */
export async function requireAdminPage(path: string): Promise<AdminContext> {
  const viewer = await loadViewer();
  if (!viewer) redirect(signInPath(path));
  const access = decideAdminAccess(viewer);
  if (!access.allowed) {
    await refuse(viewer, "page", path);
    notFound();
  }
  return { viewer: access.viewer, actor: access.actor, formToken: createFormToken(viewer.sessionHash, ADMIN_FORM_PURPOSE) };
}

export interface ActionResult {
  ok: boolean;
  message: string;
  /** A secret to show exactly once (a new gateway secret); never stored, never in a URL. */
  secret?: string;
  /** Distinguishes two identical results, so the UI announces each. */
  at: number;
}


const formTokenField = z.object({ formToken: z.string().max(100) });

function describeZodError(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue?.path.join(".") || "form"}: ${issue?.message ?? "invalid"}`;
}

/**
 * Wraps a server action: admin role, CSRF checks, strict parsing of the form, error mapping.
 * The action may be used as a form action or with useActionState (the form data is the last argument).
 */
export function adminAction<S extends z.ZodObject>(
  name: string,
  schema: S,
  run: (input: z.output<S>, ctx: AdminContext) => Promise<{ message: string; secret?: string }>,
): (...args: unknown[]) => Promise<ActionResult> {
  return async (...args: unknown[]): Promise<ActionResult> => {
    const viewer = await getViewer();
    const access = decideAdminAccess(viewer);
    if (!access.allowed) {
      await refuse(viewer, "action", name);
      notFound();
    }
    const fields = submittedFields(args[args.length - 1]);
    if (!fields) return { ok: false, message: "This action expects a form.", at: Date.now() };
    const h = await headers();
    try {
      verifyPortalPost({
        origin: h.get("origin"),
        secFetchSite: h.get("sec-fetch-site"),
        formToken: formTokenField.safeParse(fields).data?.formToken,
        sessionHash: access.viewer.sessionHash,
        purpose: ADMIN_FORM_PURPOSE,
      });
    } catch (e) {
      if (isAppError(e)) return { ok: false, message: e.message, at: Date.now() };
      throw e;
    }
    try {
      await limitPortalAction(access.viewer.userId, access.viewer.sessionHash);
    } catch (e) {
      if (isAppError(e)) return { ok: false, message: e.message, at: Date.now() };
      throw e;
    }
    const { formToken: _token, ...rest } = fields;
    const parsed = schema.strict().safeParse(rest);
    if (!parsed.success) return { ok: false, message: describeZodError(parsed.error), at: Date.now() };
    const ctx: AdminContext = { viewer: access.viewer, actor: access.actor, formToken: "" };
    try {
      const result = await run(parsed.data as z.output<S>, ctx);
      return { ok: true, ...result, at: Date.now() };
    } catch (e) {
      if (isAppError(e)) return { ok: false, message: e.message, at: Date.now() };
      if (toAppError(e).code === "service_unavailable") return { ok: false, message: "The database is unavailable right now; nothing was changed. Try again shortly.", at: Date.now() };
      log.error("admin action failed", { action: name, error: e instanceof Error ? e.name : "unknown" });
      return { ok: false, message: "The action failed unexpectedly; nothing was reported back. Check the server log.", at: Date.now() };
    }
  };
}

/** Wraps a route handler under /api/admin: admin role checked first; 404 JSON otherwise. */
export function adminRoute<C>(
  name: string,
  handler: (request: Request, ctx: AdminContext & { params: C }) => Promise<Response>,
): (request: Request, context: { params: Promise<C> }) => Promise<Response> {
  return async (request, context) => {
    try {
      const viewer = await getViewer();
      const access = decideAdminAccess(viewer);
      if (!access.allowed) {
        await refuse(viewer, "route", name);
        return toWebResponse(apiError(new AppError("not_found", "Not found"), newId("req")));
      }
      return await handler(request, { viewer: access.viewer, actor: access.actor, formToken: "", params: await context.params });
    } catch (error) {
      // A database outage is a 503 with Retry-After; anything else a 500 without internals
      // ({error:{code,message,requestId}}, as the gateway API answers).
      if (toAppError(error).code === "internal_error") log.error("admin route failed", { route: name, error: error instanceof Error ? error.name : "unknown" });
      return toWebResponse(apiError(error, newId("req")));
    }
  };
}
