// The fields of a form a server action received. A server action is a public endpoint: a caller
// can invoke it with any arguments the framework can encode (a string, an array, nothing), not
// only the FormData the page's form sends. Anything that is not a FormData is refused here,
// before a field is read (reading `.entries()` of a string was a TypeError -> 500).
/** Form fields as an object (a repeated field becomes an array; files are dropped), or null when `value` is not a form. Next's internal `$ACTION…` fields are not ours. */
export function submittedFields(value: unknown): Record<string, string | string[]> | null {
  if (!(value instanceof FormData)) return null;
  const out: Record<string, string | string[]> = {};
  for (const [key, entry] of value.entries()) {
    if (key.startsWith("$ACTION") || typeof entry !== "string") continue;
    const prev = out[key];
    out[key] = prev === undefined ? entry : Array.isArray(prev) ? [...prev, entry] : [prev, entry];
  }
  return out;
}
