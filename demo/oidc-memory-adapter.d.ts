// oidc-provider ships JavaScript only (types come from @types/oidc-provider, which covers its
// main entry): the declaration of its in-memory storage adapter, used by reuse-grace-adapter.ts.
declare module "oidc-provider/lib/adapters/memory_adapter.js" {
  import type { AdapterFactory } from "oidc-provider";
  export function createMemoryAdapter(clockTolerance?: number): AdapterFactory;
}
