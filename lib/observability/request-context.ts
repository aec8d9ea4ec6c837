// The request a piece of code is running for, without threading it through every call: the
// gateway route wrapper runs its handler inside `runWithRequest`, and the logger (request ids)
// and tracing read it back.
import { AsyncLocalStorage } from "node:async_hooks";

export interface RequestContext {
  requestId: string;
  /** Route label used by metrics, e.g. "resolve"; set by the wrapper. */
  route?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithRequest<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}
