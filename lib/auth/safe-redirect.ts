// Redirect targets after sign-in are same-origin paths only: a value like `//evil.example`,
// `/\evil.example`, `https://evil.example` or one with control characters falls back to `/`.
export function toSameOriginPath(value: unknown, fallback = "/"): string {
  if (typeof value !== "string" || value.length === 0 || value.length > 2000) return fallback;
  if (!value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return fallback;
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return fallback;
  try {
    const base = new URL("http://frontdesk.invalid");
    const url = new URL(value, base);
    if (url.origin !== base.origin) return fallback;
    // Dot segments are resolved here, so "/.//evil.example" or "/a/..//evil.example" come out as
    // "//evil.example": a protocol-relative URL to another host once used as a Location.
    if (url.pathname.startsWith("//")) return fallback;
    return `${url.pathname}${url.search}${url.hash}`;
  } catch {
    return fallback;
  }
}
