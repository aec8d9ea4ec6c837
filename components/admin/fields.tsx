"use client";
// Form controls for admin forms (labelled, with hints; secrets are password inputs that never
// carry a value back to the browser). Inside an AdminForm whose last submission was refused they
// show what was submitted (refused-submission.tsx); a secret is typed again.
import { useId, type ReactNode } from "react";
import { useRefusedChecked, useRefusedValue } from "./refused-submission";

const inputClass = "mt-1 block w-full rounded-md border border-slate-300 px-2 py-1.5 text-sm text-slate-900";

// Labels point at their control with htmlFor/id (a label wrapping a <select> would make the
// options' text part of its accessible name). Names repeat across forms on one page, so ids
// come from useId: unique on the page, and the same on the server and in the browser when a
// client form (the policy rule form) hydrates these fields.
function useFieldId(name: string): string {
  return `${name}-${useId()}`;
}

const labelClass = "block text-sm font-medium text-slate-800";
const hintClass = "mt-1 block text-xs font-normal text-slate-500";

export function TextField({ name, label, defaultValue, hint, required, type = "text", placeholder }: { name: string; label: string; defaultValue?: string | null; hint?: ReactNode; required?: boolean; type?: string; placeholder?: string }) {
  const id = useFieldId(name);
  const shown = useRefusedValue(name, defaultValue ?? undefined);
  return (
    <div>
      <label htmlFor={id} className={labelClass}>
        {label}
        {required ? <span aria-hidden className="text-red-700"> *</span> : null}
      </label>
      <input id={id} name={name} type={type} defaultValue={shown} required={required} placeholder={placeholder} className={inputClass} autoComplete="off" spellCheck={false} aria-describedby={hint ? `${id}-hint` : undefined} />
      {hint ? <span id={`${id}-hint`} className={hintClass}>{hint}</span> : null}
    </div>
  );
}

export function SecretField({ name, label, hint }: { name: string; label: string; hint?: ReactNode }) {
  const id = useFieldId(name);
  return (
    <div>
      <label htmlFor={id} className={labelClass}>
        {label}
      </label>
      <input id={id} name={name} type="password" autoComplete="new-password" className={inputClass} aria-describedby={hint ? `${id}-hint` : undefined} />
      {hint ? <span id={`${id}-hint`} className={hintClass}>{hint}</span> : null}
    </div>
  );
}

export function TextArea({ name, label, defaultValue, hint, rows = 3 }: { name: string; label: string; defaultValue?: string; hint?: ReactNode; rows?: number }) {
  const id = useFieldId(name);
  const shown = useRefusedValue(name, defaultValue);
  return (
    <div>
      <label htmlFor={id} className={labelClass}>
        {label}
      </label>
      <textarea id={id} name={name} defaultValue={shown} rows={rows} className={`${inputClass} font-mono`} spellCheck={false} aria-describedby={hint ? `${id}-hint` : undefined} />
      {hint ? <span id={`${id}-hint`} className={hintClass}>{hint}</span> : null}
    </div>
  );
}

export function SelectField({ name, label, defaultValue, options, hint }: { name: string; label: string; defaultValue?: string; options: { value: string; label: string }[]; hint?: ReactNode }) {
  const id = useFieldId(name);
  const shown = useRefusedValue(name, defaultValue);
  return (
    <div>
      <label htmlFor={id} className={labelClass}>
        {label}
      </label>
      <select id={id} name={name} defaultValue={shown} className={`${inputClass} bg-white`} aria-describedby={hint ? `${id}-hint` : undefined}>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {hint ? <span id={`${id}-hint`} className={hintClass}>{hint}</span> : null}
    </div>
  );
}

export function CheckboxField({ name, label, defaultChecked, hint }: { name: string; label: string; defaultChecked?: boolean; hint?: ReactNode }) {
  const checked = useRefusedChecked(name, defaultChecked);
  return (
    <label className="flex items-start gap-2 text-sm text-slate-800">
      <input type="checkbox" name={name} defaultChecked={checked} className="mt-1" />
      <span>
        <span className="font-medium">{label}</span>
        {hint ? <span className="block text-xs text-slate-500">{hint}</span> : null}
      </span>
    </label>
  );
}

export function Panel({ title, children, id }: { title: string; children: ReactNode; id?: string }) {
  const headingId = id ?? title.toLowerCase().replace(/\W+/g, "-");
  return (
    <section className="rounded-lg border border-slate-200 bg-white p-5 shadow-sm" aria-labelledby={headingId}>
      <h2 id={headingId} className="text-lg font-semibold">
        {title}
      </h2>
      <div className="mt-4 space-y-4">{children}</div>
    </section>
  );
}
