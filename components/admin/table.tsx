// Table primitives: a captioned, scrollable table with header cells scoped for screen readers,
// a status badge, timestamps in UTC, and pagination links that keep the filters in the URL.
import Link from "next/link";
import type { ReactNode } from "react";

export function DataTable({ caption, head, children, empty, emptyText = "Nothing matches these filters." }: { caption: string; head: string[]; children: ReactNode; empty?: boolean; emptyText?: string }) {
  return (
    // Focusable and named, so a keyboard user can scroll a table wider than a phone (WCAG 2.1.1).
    <div role="region" aria-label={caption} tabIndex={0} className="overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-slate-900">
      <table className="min-w-full divide-y divide-slate-200 text-sm">
        <caption className="sr-only">{caption}</caption>
        <thead className="bg-slate-50">
          <tr>
            {head.map((h) => (
              <th key={h} scope="col" className="whitespace-nowrap px-3 py-2 text-left font-semibold text-slate-700">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {empty ? (
            <tr>
              <td colSpan={head.length} className="px-3 py-8 text-center text-slate-500">
                {emptyText}
              </td>
            </tr>
          ) : (
            children
          )}
        </tbody>
      </table>
    </div>
  );
}

export function Td({ children, className = "" }: { children?: ReactNode; className?: string }) {
  return <td className={`px-3 py-2 align-top ${className}`}>{children}</td>;
}

const badgeTones: Record<string, string> = {
  active: "bg-emerald-100 text-emerald-900",
  allow: "bg-emerald-100 text-emerald-900",
  needs_reauth: "bg-amber-100 text-amber-900",
  pending: "bg-sky-100 text-sky-900",
  info: "bg-slate-100 text-slate-800",
  deny: "bg-red-100 text-red-900",
  revoked: "bg-slate-200 text-slate-700",
  disabled: "bg-slate-200 text-slate-700",
};

export function Badge({ value, label }: { value: string; label?: string }) {
  return <span className={`inline-block whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-medium ${badgeTones[value] ?? "bg-slate-100 text-slate-800"}`}>{label ?? value.replace(/_/g, " ")}</span>;
}

export function When({ value }: { value: Date | null | undefined }) {
  if (!value) return <span className="text-slate-500">never</span>;
  const iso = value.toISOString();
  return (
    <time dateTime={iso} title={iso} className="whitespace-nowrap">
      {`${iso.slice(0, 19).replace("T", " ")} UTC`}
    </time>
  );
}

/** A URL for `path` with `params` (empty values dropped) merged over `base`. */
export function hrefWith(path: string, base: Record<string, string | undefined>, params: Record<string, string | undefined>): string {
  const merged = { ...base, ...params };
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(merged)) if (v !== undefined && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export function Pagination({ path, query, page, pageCount, total }: { path: string; query: Record<string, string | undefined>; page: number; pageCount: number; total: number }) {
  const link = (p: number, label: string, rel?: string) => (
    <Link rel={rel} href={hrefWith(path, query, { page: p === 1 ? undefined : String(p) })} className="rounded-md border border-slate-300 bg-white px-3 py-1 hover:bg-slate-100">
      {label}
    </Link>
  );
  return (
    <nav aria-label="Pagination" className="flex items-center justify-between gap-4 text-sm">
      <p className="text-slate-600" role="status">
        {total.toLocaleString("en-US")} result{total === 1 ? "" : "s"} · page {page} of {pageCount}
      </p>
      <div className="flex gap-2">
        {page > 1 ? link(1, "First") : null}
        {page > 1 ? link(page - 1, "Previous", "prev") : null}
        {page < pageCount ? link(page + 1, "Next", "next") : null}
      </div>
    </nav>
  );
}

/** A GET form: submitting it puts the filters in the URL (shareable, back-button friendly). */
export function FilterBar({ path, children }: { path: string; children: ReactNode }) {
  return (
    <form method="get" action={path} role="search" className="flex flex-wrap items-end gap-3 rounded-lg border border-slate-200 bg-white p-3 shadow-sm">
      {children}
      <button type="submit" className="rounded-md bg-slate-900 px-3 py-2 text-sm font-medium text-white hover:bg-slate-700">
        Apply filters
      </button>
      <Link href={path} className="px-2 py-2 text-sm text-slate-700 hover:underline">
        Clear
      </Link>
    </form>
  );
}

export function FilterInput({ name, label, defaultValue, type = "text", placeholder, suggestions }: { name: string; label: string; defaultValue?: string; type?: string; placeholder?: string; suggestions?: readonly string[] }) {
  const listId = suggestions ? `filter-${name}-suggestions` : undefined;
  return (
    <label className="flex flex-col text-xs font-medium text-slate-700">
      {label}
      <input name={name} type={type} defaultValue={defaultValue} placeholder={placeholder} list={listId} className="mt-1 rounded-md border border-slate-300 px-2 py-1.5 text-sm font-normal text-slate-900" />
      {suggestions ? (
        <datalist id={listId}>
          {suggestions.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
      ) : null}
    </label>
  );
}

export function FilterSelect({ name, label, defaultValue, options }: { name: string; label: string; defaultValue?: string; options: { value: string; label: string }[] }) {
  // htmlFor, not a wrapping label: the options' text must not become the select's name.
  const id = `filter-${name}`;
  return (
    <div className="flex flex-col text-xs font-medium text-slate-700">
      <label htmlFor={id}>{label}</label>
      <select id={id} name={name} defaultValue={defaultValue ?? ""} className="mt-1 rounded-md border border-slate-300 bg-white px-2 py-1.5 text-sm font-normal text-slate-900">
        <option value="">Any</option>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}
