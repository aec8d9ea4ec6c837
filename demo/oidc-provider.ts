// oidc-provider 9 prints "Unsupported runtime. Use Node.js v22.x LTS" once when it loads on
// Node 20. The project supports Node >= 20.19 (package.json engines, .nvmrc), and these local
// servers (demo IdP, Notes upstream, test servers) are exercised on Node 20 by the whole test
// suite, so that one line is dropped here, where we know why; every other warning still prints.
const RUNTIME_WARNING = "oidc-provider WARNING: Unsupported runtime.";

const warn = console.warn;
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === "string" && args[0].includes(RUNTIME_WARNING)) return;
  warn(...args);
};
const loaded = await import("oidc-provider").finally(() => {
  console.warn = warn;
});

// A class value and its instance type under one name, as `import Provider from "oidc-provider"` gives.
const Provider: typeof import("oidc-provider").default = loaded.default;
type Provider = import("oidc-provider").default;
export default Provider;
/** oidc-provider's OAuth error classes (custom grant handlers throw them). */
export const errors: typeof import("oidc-provider").errors = loaded.errors;
export type { Configuration } from "oidc-provider";
