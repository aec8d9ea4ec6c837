// The process's serving state: readiness must say "not ready" the moment a shutdown begins.
const serving = { shuttingDown: false, listeners: new Set<() => void>() };

function state() {
  return serving;
}

export function isShuttingDown(): boolean {
  return state().shuttingDown;
}

/** Marks the process as draining and tells the listeners (long-polls end early, retryably). */
export function markShuttingDown(): void {
  const s = state();
  if (s.shuttingDown) return;
  s.shuttingDown = true;
  for (const listener of s.listeners) listener();
}

/** Calls `listener` once when a shutdown begins (at once if it already has); returns an unsubscribe. */
export function onShutdown(listener: () => void): () => void {
  const s = state();
  if (s.shuttingDown) {
    listener();
    return () => undefined;
  }
  s.listeners.add(listener);
  return () => s.listeners.delete(listener);
}
