// A small in-process cache with a time-to-live, for configuration read on every gateway call
// (gateway rows, providers, policy rules). Changes made in this process invalidate at once;
// changes made on another instance are seen within the TTL. Secrets-bearing rows are cached only
// as hashes (gateway secrets), never decrypted material. Concurrent misses for one key share one
// load. `invalidate` and `clear` (used after a configuration change) also bump one process-wide
// epoch (on globalThis); entries loaded before the current epoch count as stale in every copy of
// this module. Needed by the dev server only, where an admin action's copy is not the gateway
// route's: `next dev` (Turbopack) gives instrumentation, route handlers and server actions each
// their own copy of lib/ and re-evaluates modules on edits; a production build has one copy per
// process (scripts/lib-modules.mjs), where this is a plain module variable in effect.
const shared = globalThis as typeof globalThis & { __frontdeskConfigEpoch?: { value: number } };
const epoch = (shared.__frontdeskConfigEpoch ??= { value: 0 });

export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; at: number; epoch: number }>();
  private readonly loading = new Map<string, Promise<V>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  async get(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && Date.now() - hit.at < this.ttlMs && hit.epoch === epoch.value) return hit.value;
    const pending = this.loading.get(key);
    if (pending) return pending;
    const started = Date.now();
    const startedEpoch = epoch.value;
    const promise = load()
      .then((value) => {
        // Only cache what is worth caching (callers decide, e.g. not "not found").
        if (this.loading.get(key) === promise) {
          if (this.entries.size >= this.maxEntries) this.entries.clear();
          this.entries.set(key, { value, at: started, epoch: startedEpoch });
        }
        return value;
      })
      .finally(() => {
        if (this.loading.get(key) === promise) this.loading.delete(key);
      });
    this.loading.set(key, promise);
    return promise;
  }

  delete(key: string): void {
    this.entries.delete(key);
    this.loading.delete(key);
  }

  /** After a change to what `key` caches: stale in every bundle's copy of every cache. */
  invalidate(key: string): void {
    epoch.value++;
    this.delete(key);
  }

  clear(): void {
    epoch.value++;
    this.entries.clear();
    this.loading.clear();
  }
}

/** How long configuration read on the hot path may be stale on other instances. */
export const CONFIG_CACHE_TTL_MS = 2_000;
