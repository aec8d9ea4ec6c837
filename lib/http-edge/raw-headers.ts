// Request headers read straight from node:http's rawHeaders, the way web `Headers.get` reads
// them: names case-insensitive, a repeated header's values joined with ", " in arrival order.
// Not node's `req.headers`: for Authorization, Content-Type, Host and a few others Node keeps the
// first copy and silently drops the rest, so two Authorization headers would look like one
// (authenticateGateway refuses the joined form, lib/gateways/authenticate.ts).
export interface HeaderReader {
  get(name: string): string | null;
}

/** A reader over `rawHeaders` (name, value, name, value, ...); indexed on the first lookup. */
export function rawHeaderReader(rawHeaders: readonly string[]): HeaderReader {
  let index: Map<string, string> | undefined;
  return {
    get(name: string): string | null {
      if (!index) {
        index = new Map();
        for (let i = 0; i < rawHeaders.length; i += 2) {
          const key = rawHeaders[i]!.toLowerCase();
          const seen = index.get(key);
          index.set(key, seen === undefined ? rawHeaders[i + 1]! : `${seen}, ${rawHeaders[i + 1]!}`);
        }
      }
      return index.get(name.toLowerCase()) ?? null;
    },
  };
}
