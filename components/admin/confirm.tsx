// A destructive action behind an explicit disclosure that says what will happen; the POST
// only happens from the confirm button inside it (works without JavaScript too).
import type { ReactNode } from "react";
import { SubmitButton } from "@/components/ui/button";
import { AdminForm, type AdminActionFn } from "./admin-form";

export function ConfirmAction({
  summary,
  consequence,
  confirmLabel,
  pendingLabel,
  action,
  formToken,
  hidden,
  children,
  tone = "danger",
}: {
  summary: string;
  consequence: ReactNode;
  confirmLabel: string;
  pendingLabel: string;
  action: AdminActionFn;
  formToken: string;
  hidden: Record<string, string>;
  children?: ReactNode;
  tone?: "danger" | "primary";
}) {
  return (
    <details className="group">
      <summary className={`cursor-pointer text-sm font-medium ${tone === "danger" ? "text-red-700" : "text-slate-900"} hover:underline`}>
        {summary}
      </summary>
      <div
        className={`mt-2 space-y-3 rounded-md border p-3 text-sm ${tone === "danger" ? "border-red-200 bg-red-50 text-red-950" : "border-slate-200 bg-slate-50"}`}
      >
        <div>{consequence}</div>
        <AdminForm action={action} formToken={formToken}>
          {Object.entries(hidden).map(([name, value]) => (
            <input key={name} type="hidden" name={name} value={value} />
          ))}
          {children}
          <SubmitButton variant={tone} pendingLabel={pendingLabel}>
            {confirmLabel}
          </SubmitButton>
        </AdminForm>
      </div>
    </details>
  );
}

/**
 * Disable (behind a confirmation that says what will happen) or enable one thing: the same control
 * on every admin detail page. `disable` and `enable` are the hidden fields each form posts.
 */
export function EnableToggle({
  enabled,
  noun,
  consequence,
  action,
  formToken,
  disable,
  enable,
}: {
  enabled: boolean;
  noun: string;
  consequence: ReactNode;
  action: AdminActionFn;
  formToken: string;
  disable: Record<string, string>;
  enable: Record<string, string>;
}) {
  if (enabled) {
    return (
      <ConfirmAction
        summary={`Disable this ${noun}…`}
        consequence={consequence}
        confirmLabel={`Disable ${noun}`}
        pendingLabel="Disabling…"
        action={action}
        formToken={formToken}
        hidden={disable}
      />
    );
  }
  return (
    <AdminForm action={action} formToken={formToken}>
      {Object.entries(enable).map(([name, value]) => (
        <input key={name} type="hidden" name={name} value={value} />
      ))}
      <SubmitButton pendingLabel="Enabling…">Enable {noun}</SubmitButton>
    </AdminForm>
  );
}
