// Recognises "the database cannot serve right now" in every shape it reaches us: node-postgres
// errors (refused, reset, terminated, pool and connect timeouts), PostgreSQL SQLSTATEs of a
// server going away or refusing sessions, and Prisma's wrappers around its driver adapter
// (codes P1001..., and meta.driverAdapterError.cause). Such a failure is a retryable 503 with
// Retry-After (design.md invariant 15), never a 500. Pure: no imports, no I/O.

// SQLSTATE: class 08 (connection exception) plus the operator-intervention and resource codes a
// restart, failover or overload produces, and the transient conflicts a retry resolves
// (statement/lock timeout, deadlock, serialization failure), and a database that is not there
// (3D000: dropped or not yet restored; tests/e2e/server-log-pipe.spec.ts got a 500 for it).
const SQLSTATE_CLASSES = ["08"];
const SQLSTATES = new Set(["3D000", "57P01", "57P02", "57P03", "57P05", "53300", "53400", "57014", "55P03", "40P01", "40001", "58000", "58030"]);
const NODE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOTFOUND"]);
// Prisma: can't reach server, timed out, database does not exist, server closed the connection, pool timeout,
// transaction conflict/deadlock, transaction closed under us (its connection died).
const PRISMA_CODES = new Set(["P1001", "P1002", "P1003", "P1008", "P1017", "P2024", "P2028", "P2034"]);
const ADAPTER_KINDS = new Set(["DatabaseNotReachable", "DatabaseDoesNotExist", "ConnectionClosed", "SocketTimeout", "TooManyConnections", "TransactionWriteConflict", "TransactionAlreadyClosed"]);
// node-postgres errors without a code.
const PG_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Cannot use a pool after calling end|Query read timeout|connection timeout|Can't reach database server|the database system is (starting up|shutting down|in recovery mode)/i;

function ownProperty(value: object, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

function isUnavailableNode(e: object): boolean {
  const code = ownProperty(e, "code") ?? (e as { code?: unknown }).code;
  if (typeof code === "string") {
    if (NODE_CODES.has(code) || PRISMA_CODES.has(code) || SQLSTATES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && SQLSTATE_CLASSES.includes(code.slice(0, 2))) return true;
  }
  const kind = (e as { kind?: unknown }).kind;
  if (typeof kind === "string" && ADAPTER_KINDS.has(kind)) return true;
  const message = (e as { message?: unknown }).message;
  return typeof message === "string" && PG_MESSAGES.test(message);
}

/** Whether `e` (or anything it wraps) says the database is unavailable right now. */
export function isDatabaseUnavailable(e: unknown): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [e];
  while (queue.length > 0 && seen.size < 16) {
    const x = queue.shift();
    if (x === null || typeof x !== "object" || seen.has(x)) continue;
    seen.add(x);
    if (isUnavailableNode(x)) return true;
    queue.push((x as { cause?: unknown }).cause);
    const meta = (x as { meta?: { driverAdapterError?: unknown } }).meta;
    if (meta && typeof meta === "object") queue.push(meta.driverAdapterError);
    const errors = (x as { errors?: unknown }).errors;
    if (Array.isArray(errors)) queue.push(...errors);
  }
  return false;
}
