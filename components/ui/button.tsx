"use client";
// A button that shows progress while its form is submitting (and cannot be pressed twice).
import type { ButtonHTMLAttributes, ReactNode } from "react";
import { useFormStatus } from "react-dom";

const variants = {
  primary: "bg-slate-900 text-white hover:bg-slate-700 focus-visible:outline-slate-900",
  secondary: "border border-slate-300 bg-white text-slate-900 hover:bg-slate-100 focus-visible:outline-slate-900",
  danger: "bg-red-700 text-white hover:bg-red-600 focus-visible:outline-red-700",
} as const;

export interface SubmitButtonProps extends Omit<ButtonHTMLAttributes<HTMLButtonElement>, "type"> {
  variant?: keyof typeof variants;
  /** Label while the form is submitting, e.g. "Connecting…". */
  pendingLabel?: string;
  children: ReactNode;
}

export function SubmitButton({ variant = "primary", pendingLabel, children, className = "", disabled, ...rest }: SubmitButtonProps) {
  const { pending } = useFormStatus();
  return (
    <button
      type="submit"
      disabled={pending || disabled}
      aria-disabled={pending || disabled}
      className={`inline-flex items-center justify-center rounded-md px-4 py-2 text-sm font-medium focus-visible:outline-2 focus-visible:outline-offset-2 disabled:cursor-wait disabled:opacity-60 ${variants[variant]} ${className}`}
      {...rest}
    >
      {pending && pendingLabel ? pendingLabel : children}
    </button>
  );
}
