"use client";
// What a refused admin form submitted, for the fields inside it (fields.tsx) to show again.
// React resets a form's fields once its action has run (react#30580); AdminForm mounts the fields
// afresh after each submission, and while the last one was refused they take what was typed as
// their defaults, so the reset keeps it. Secrets are never put back (SecretField ignores this).
import { createContext, useContext } from "react";

export const RefusedSubmission = createContext<FormData | null>(null);

/** The value this field submitted in a refused submission, or `fallback` (no refusal, or not submitted). */
export function useRefusedValue(name: string, fallback: string | undefined): string | undefined {
  const refused = useContext(RefusedSubmission);
  const v = refused?.get(name);
  return typeof v === "string" ? v : fallback;
}

/** Whether this checkbox was ticked in a refused submission, or `fallback`. */
export function useRefusedChecked(name: string, fallback: boolean | undefined): boolean | undefined {
  const refused = useContext(RefusedSubmission);
  return refused ? refused.has(name) : fallback;
}
