// zod field helpers for admin forms: HTML forms send "" for empty inputs, "on" for checked
// boxes (nothing for unchecked), and lists as free text.
import { z } from "zod";
import { parseScopeDescriptions } from "@/lib/providers/scope-descriptions";

/** "" becomes undefined. */
export const optionalText = (max: number) =>
  z.preprocess((v) => (typeof v === "string" && v.trim() === "" ? undefined : typeof v === "string" ? v.trim() : v), z.string().max(max).optional());

/** Space, comma or newline separated list (or repeated fields). */
export const listField = (itemMax: number, maxItems: number) =>
  z.preprocess(
    (v) => (Array.isArray(v) ? v : typeof v === "string" ? v : "").toString().split(/[\s,]+/).filter(Boolean),
    z.array(z.string().max(itemMax)).max(maxItems),
  );

/** A whole number of seconds from a number input: "" is 0. */
export const seconds = (max: number) =>
  z.preprocess((v) => (v === undefined || (typeof v === "string" && v.trim() === "") ? 0 : typeof v === "string" ? Number(v) : v), z.number().int().min(0).max(max));

/** A checkbox: present ("on") is true, absent is false. */
export const checkbox = z.preprocess((v) => v === "on" || v === "true", z.boolean());

/** `scope = description` lines (lib/providers/scope-descriptions.ts); a bad line is a field error. */
export const scopeDescriptionsField = z
  .string()
  .max(40_000)
  .optional()
  .transform((text, ctx) => {
    const parsed = parseScopeDescriptions(text ?? "");
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: "custom", message: parsed.message });
    return z.NEVER;
  });

/** A JSON text field: "" becomes undefined; anything else must parse, then match `schema`. */
export const jsonText = <T extends z.ZodType>(max: number, schema: T) =>
  z.preprocess(
    (v) => (typeof v === "string" && v.trim() === "" ? undefined : v),
    z
      .string()
      .max(max)
      .transform((text, ctx) => {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          ctx.addIssue({ code: "custom", message: "not valid JSON" });
          return z.NEVER;
        }
      })
      .pipe(schema)
      .optional(),
  );
