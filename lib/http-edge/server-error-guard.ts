// Next.js renders portal and dashboard pages itself, and a page whose database read fails becomes
// its generic error page with status 500: no Retry-After, nothing that says "try again", and a
// 500 where invariant 15 wants a 503. Likewise a server-action POST whose body Next cannot decode
// (garbage multipart, arguments that are not JSON) is a 500 by Next's design, where invariant 10
// wants a 4xx. Next offers no hook to choose those statuses, so server.ts watches what Next is
// about to send: a 500 is held back (head and body), `decide` picks a replacement (the database
// is unreachable: the branded 503 page; a server-action request with the database fine: 400),
// or none, and then Next's 500 goes out unchanged. Only 500s pay for the decision.
import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import { RETRY_AFTER_SECONDS } from "@/lib/errors";
import { newId } from "@/lib/ids";

export interface Replacement {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const UNAVAILABLE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Frontdesk is temporarily unavailable</title>
<style>body{margin:0;font-family:system-ui,sans-serif;background:#f8fafc;color:#0f172a}main{max-width:36rem;margin:0 auto;padding:4rem 1.5rem}
p.brand{font-size:.875rem;font-weight:600;color:#475569}section{margin-top:1rem;border:1px solid #e2e8f0;border-radius:.5rem;background:#fff;padding:1.5rem}
h1{font-size:1.5rem;margin:0}section p{color:#334155}a{color:#0f172a}</style></head>
<body><main><p class="brand">Frontdesk</p><section><h1>Temporarily unavailable</h1>
<p>Frontdesk cannot reach its database right now. Nothing you did caused this, and nothing was lost.</p>
<p>Please try again in a moment. If you came from a request link, it stays valid until it expires.</p>
<p><a href="">Try again</a></p></section></main></body></html>
`;

/** The branded page for "the database is unreachable": 503 with Retry-After. */
export function unavailablePage(): Replacement {
  return {
    status: 503,
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "retry-after": String(RETRY_AFTER_SECONDS) },
    body: UNAVAILABLE_PAGE,
  };
}

/** A server-action request Next could not handle although the database is fine: its body was unreadable. */
export function unreadableAction(): Replacement {
  const body = JSON.stringify({ error: { code: "invalid_request", message: "The submitted form could not be read; reload the page and try again", requestId: newId("req") } });
  return { status: 400, headers: { "content-type": "application/json", "cache-control": "no-store" }, body };
}

/**
 * Wraps `res` so that a 500 Next is about to send is replaced by what `decide` returns (if
 * anything). Call before handing the response to Next.
 */
export function guardServerErrors(res: ServerResponse, decide: () => Promise<Replacement | null>): void {
  const writeHead = res.writeHead.bind(res) as (status: number, headers?: OutgoingHttpHeaders) => ServerResponse;
  const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  let held: { status: number; headers?: OutgoingHttpHeaders; chunks: unknown[] } | null = null;

  const holding = (): boolean => {
    if (held) return true;
    if (res.headersSent || res.statusCode !== 500) return false;
    held = { status: res.statusCode, chunks: [] };
    return true;
  };

  res.writeHead = ((status: number, ...rest: unknown[]) => {
    if (status !== 500 || res.headersSent) return (writeHead as (...a: unknown[]) => ServerResponse)(status, ...rest);
    const headers = rest.find((r) => typeof r === "object" && r !== null) as OutgoingHttpHeaders | undefined;
    held = { status, headers, chunks: [] };
    return res;
  }) as typeof res.writeHead;

  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (!holding()) return write(chunk, ...rest);
    held!.chunks.push(chunk);
    return true;
  }) as typeof res.write;

  res.end = ((...args: unknown[]) => {
    if (!holding()) return end(...args);
    const h = held!;
    if (args.length > 0 && typeof args[0] !== "function" && args[0] !== undefined) h.chunks.push(args[0]);
    void decide()
      .catch(() => null)
      .then((replacement) => {
        res.writeHead = writeHead as typeof res.writeHead;
        res.write = write as typeof res.write;
        res.end = end as typeof res.end;
        if (replacement) {
          // The security headers Next set stay (CSP, frame-ancestors, ...); the body's do not.
          for (const name of res.getHeaderNames()) if (/^(content-(type|length|encoding|disposition)|etag|cache-control|vary|x-nextjs.*|x-action.*)$/i.test(name)) res.removeHeader(name);
          writeHead(replacement.status, { ...replacement.headers, "content-length": String(Buffer.byteLength(replacement.body)) });
          end(replacement.body);
          return;
        }
        // Not the database: Next's own 500, unchanged.
        writeHead(h.status, h.headers);
        for (const c of h.chunks) write(c);
        end();
      });
    return res;
  }) as typeof res.end;
}
