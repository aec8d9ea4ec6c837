"use client";
// A form bound to an admin server action: the CSRF form token is included, the submit button
// shows progress (SubmitButton), and the outcome is announced (role=status / role=alert).
// A secret in the result (a new gateway secret) is shown once, here, and nowhere else.
import { useActionState, useCallback, type ReactNode } from "react";
import type { ActionResult } from "@/lib/admin/guard";
import { Alert } from "@/components/ui/alert";
import { useAdminFeedback } from "./feedback";

export type AdminActionFn = (prev: ActionResult | null, formData: FormData) => Promise<ActionResult>;

export function AdminForm({
  action,
  formToken,
  children,
  className,
  label,
}: {
  action: AdminActionFn;
  formToken: string;
  children: ReactNode;
  className?: string;
  /** Accessible name of the form. */
  label?: string;
}) {
  const publish = useAdminFeedback();
  // Published from the action itself, not from an effect: the re-render that follows an action
  // may remove this form (a revoked row has no revoke form), and its effects would never run.
  const run = useCallback(
    async (prev: ActionResult | null, formData: FormData) => {
      const r = await action(prev, formData);
      publish?.({ ok: r.ok, message: r.message, at: r.at });
      return r;
    },
    [action, publish],
  );
  const [result, formAction] = useActionState<ActionResult | null, FormData>(run, null);
  return (
    <div className="space-y-3">
      <form action={formAction} className={className} aria-label={label}>
        <input type="hidden" name="formToken" value={formToken} />
        {children}
      </form>
      {result ? (
        <div key={result.at}>
          {/* Inside the admin layout the message goes to its live region (feedback.tsx). */}
          {publish ? null : <Alert tone={result.ok ? "success" : "error"}>{result.message}</Alert>}
          {result.secret ? <SecretOnce secret={result.secret} /> : null}
        </div>
      ) : null}
    </div>
  );
}

function SecretOnce({ secret }: { secret: string }) {
  return (
    <div className="mt-3 rounded-md border border-amber-300 bg-amber-50 p-4 text-sm text-amber-950" data-testid="secret-once">
      <p className="font-semibold">Copy this client secret now. It is shown only this once.</p>
      <p className="mt-1">Frontdesk stores only a hash of it; nobody can display it again. If it is lost, rotate it.</p>
      <code className="mt-2 block break-all rounded bg-white p-2 font-mono text-slate-900 select-all" aria-label="Client secret">
        {secret}
      </code>
    </div>
  );
}
