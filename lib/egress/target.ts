// Where a proxied request goes: the provider's registered API base plus the caller's path, and
// nothing else. The caller chooses a path and a query, never a scheme, host, port or userinfo.
// Paths that could mean something else to the upstream than to this check are refused rather
// than normalized: dot segments (plain or percent-encoded), encoded slashes and backslashes,
// backslashes, empty segments (`//host` tricks), `@`, NUL and control characters.
import { AppError } from "@/lib/errors";

export interface UpstreamTarget {
  /** The full upstream URL (base + path + query). */
  url: URL;
  /** The registered base it is under, as registered. */
  base: string;
  /** The path relative to the base, starting with "/", as sent (what request rules match). */
  path: string;
}

// Percent-encoded `.`, `/`, `\` and NUL (and their double-encoded forms, for upstreams that decode twice).
const ENCODED_TRAVERSAL = /%(25)*(2e|2f|5c|00)/i;
// Anything but printable ASCII without space, `\`, `@` and `#`.
const UNSAFE_PATH_CHAR = /[^\x21-\x7e]|[\\@#]/;

function refuse(message: string): AppError {
  return new AppError("invalid_request", message, { egress: "path_refused" });
}

/** Checks the caller's path (relative to the base, "" or starting with "/"). Returns it normalized to start with "/". */
export function checkProxyPath(raw: string): string {
  const path = raw === "" ? "/" : raw;
  if (!path.startsWith("/")) throw refuse("The upstream path must start with /");
  if (path.length > 4096) throw refuse("The upstream path is too long");
  if (UNSAFE_PATH_CHAR.test(path)) throw refuse("The upstream path contains a character that is not allowed (space, control, \\, @ or #)");
  if (ENCODED_TRAVERSAL.test(path)) throw refuse("The upstream path contains an encoded dot, slash, backslash or NUL");
  if (path.includes("://")) throw refuse("Absolute URLs are not accepted; send a path under the provider's API base");
  const segments = path.slice(1).split("/");
  segments.forEach((s, i) => {
    if (s === "." || s === "..") throw refuse("The upstream path contains a dot segment");
    // A trailing slash is an empty last segment; anything else empty is `//`.
    if (s === "" && i !== segments.length - 1) throw refuse("The upstream path contains an empty segment (//)");
  });
  return path;
}

/** The registered base a request may use: the one named (exactly as registered), or the first. */
export function chooseBase(resourceUrls: readonly string[], named: string | null): string {
  if (resourceUrls.length === 0) throw new AppError("not_found", "This provider has no registered API base URL", { egress: "no_base" });
  if (named === null) return resourceUrls[0]!;
  const found = resourceUrls.find((u) => u === named);
  if (!found) throw new AppError("invalid_request", "Frontdesk-Upstream-Base must be one of the provider's registered API base URLs", { egress: "unknown_base" });
  return found;
}

/** base + path + query, verified to stay on the base's origin and under its path. */
export function buildUpstreamUrl(base: string, rawPath: string, search: string, opts: { allowHttp: boolean }): UpstreamTarget {
  const path = checkProxyPath(rawPath);
  const baseUrl = new URL(base);
  if (baseUrl.protocol !== "https:" && !(baseUrl.protocol === "http:" && opts.allowHttp)) {
    throw new AppError("config_error", "This provider's API base is not https", { egress: "insecure_base" });
  }
  if (baseUrl.username || baseUrl.password || baseUrl.search || baseUrl.hash) {
    throw new AppError("config_error", "This provider's API base carries userinfo, a query or a fragment", { egress: "bad_base" });
  }
  const basePath = baseUrl.pathname.replace(/\/+$/, "");
  const url = new URL(baseUrl.origin);
  url.pathname = `${basePath}${path}`;
  if (search && search !== "?") {
    if (search.length > 8192 || UNSAFE_PATH_CHAR.test(search.replace(/[@#]/g, ""))) throw refuse("The query string is too long or contains unsafe characters");
    url.search = search;
  }
  // The URL parser must not have reinterpreted anything (it normalizes dot segments and hosts).
  if (url.origin !== baseUrl.origin || url.pathname !== `${basePath}${path}`) throw refuse("The upstream path does not stay under the API base");
  return { url, base, path };
}
