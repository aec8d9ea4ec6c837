// A refresh-token reuse grace period for the demo upstream, as Okta ("grace period for token
// rotation") and Auth0 ("reuse interval") offer: for `graceSeconds()` after a refresh token was
// rotated, presenting it again is accepted (another rotation) instead of being treated as reuse,
// which oidc-provider answers by revoking the whole grant. oidc-provider has no such setting; its
// storage adapter decides what "consumed" means, so this wraps its own memory adapter:
// `consume` keeps the time of the first rotation, and `find` reports a refresh token as
// consumed only once that is longer ago than the grace. 0 (the default): oidc-provider's own
// behaviour. Tests use it for the kill -9-after-rotation recovery (fault-instances).
import type { Adapter, AdapterFactory, AdapterPayload } from "oidc-provider";
import { createMemoryAdapter } from "oidc-provider/lib/adapters/memory_adapter.js";

const now = () => Math.floor(Date.now() / 1000);

export function reuseGraceAdapter(graceSeconds: () => number): AdapterFactory {
  const memory = createMemoryAdapter();
  return (model) => {
    const inner = memory(model);
    if (model !== "RefreshToken") return inner;
    const adapter: Adapter = {
      upsert: (id, payload, expiresIn) => inner.upsert(id, payload, expiresIn),
      findByUid: (uid) => inner.findByUid(uid),
      findByUserCode: (code) => inner.findByUserCode(code),
      destroy: (id) => inner.destroy(id),
      revokeByGrantId: (grantId) => inner.revokeByGrantId(grantId),
      async consume(id) {
        const stored = (await inner.find(id)) as AdapterPayload | undefined;
        // A second rotation within the grace keeps the first time: the grace does not slide.
        if (stored && stored.consumed === undefined) await inner.consume(id);
      },
      async find(id) {
        const stored = (await inner.find(id)) as AdapterPayload | undefined;
        if (stored?.consumed !== undefined && now() - Number(stored.consumed) < graceSeconds()) return { ...stored, consumed: undefined };
        return stored;
      },
    };
    return adapter;
  };
}
