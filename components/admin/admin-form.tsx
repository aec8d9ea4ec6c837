"use client";
// A form bound to an admin server action: the CSRF form token is included, the submit button
// shows progress (SubmitButton), and the outcome is announced (role=status / role=alert).
// A secret in the result (a new gateway secret) is shown once, here, and nowhere else.
//
// React resets a form's uncontrolled fields once its action has run (and controlled checkboxes
// and selects with them, react#30580). So the fields are mounted afresh after a submission:
// - after a refused one, every field of fields.tsx (but a secret) shows what was typed: the
//   submitted values become their defaults (refused-submission.tsx), so the reset keeps them;
// - a form that also keeps what was typed after an accepted submission (a preview) passes its
//   fields as a function of the last submission and renders them from the submitted values.
import { Fragment, useActionState, useCallback, useEffect, useRef, type ReactNode } from "react";
import type { ActionResult } from "@/lib/admin/guard";
import { Alert } from "@/components/ui/alert";
import { useAdminFeedback } from "./feedback";
import { RefusedSubmission } from "./refused-submission";

export type AdminActionFn = (prev: ActionResult | null, formData: FormData) => Promise<ActionResult>;

/** The outcome of the last submission and what was submitted (kept in the browser only). */
export interface LastSubmission {
  result: ActionResult;
  submitted: FormData;
}

export function AdminForm({
  action,
  formToken,
  children,
  className,
  label,
}: {
  action: AdminActionFn;
  formToken: string;
  /** The fields; as a function, rendered again from each submission (see above). */
  children: ReactNode | ((last: LastSubmission | null) => ReactNode);
  className?: string;
  /** Accessible name of the form. */
  label?: string;
}) {
  const publish = useAdminFeedback();
  // Published from the action itself, not from an effect: the re-render that follows an action
  // may remove this form (a revoked row has no revoke form), and its effects would never run.
  const run = useCallback(
    async (prev: LastSubmission | null, formData: FormData): Promise<LastSubmission> => {
      const r = await action(prev?.result ?? null, formData);
      publish?.({ ok: r.ok, message: r.message, at: r.at });
      return { result: r, submitted: formData };
    },
    [action, publish],
  );
  const [last, formAction] = useActionState<LastSubmission | null, FormData>(run, null);
  const result = last?.result;
  // Fields rendered from the last submission, or after a refusal, are mounted afresh; after an
  // accepted submission plain fields stay mounted (focus stays on the button) and reset to the page's values.
  const fieldsKey = result && (typeof children === "function" || !result.ok) ? result.at : "initial";
  // Mounting the fields afresh removes the button that had focus, and focus falls to the page:
  // put it back on the (new) submit button, so a keyboard or screen-reader user stays in the form.
  const formRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    if (fieldsKey === "initial" || document.activeElement !== document.body) return;
    formRef.current?.querySelector<HTMLButtonElement>("button[type=submit]")?.focus();
  }, [fieldsKey]);
  return (
    <div className="space-y-3">
      <form ref={formRef} action={formAction} className={className} aria-label={label}>
        <input type="hidden" name="formToken" value={formToken} />
        {/* A new key mounts the fields afresh, with the submitted values as defaults. */}
        <RefusedSubmission.Provider value={last && !last.result.ok ? last.submitted : null}>
          <Fragment key={fieldsKey}>{typeof children === "function" ? children(last) : children}</Fragment>
        </RefusedSubmission.Provider>
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
