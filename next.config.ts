import { mkdirSync, rmSync, symlinkSync } from "node:fs";
import path from "node:path";
import type { NextConfig } from "next";

// Security headers for every response (design.md invariant 9). Pages may not be framed,
// referrers never carry an elicitation id to another origin, and MIME types are not sniffed.
const securityHeaders = [
  {
    key: "Content-Security-Policy",
    value: [
      "default-src 'self'",
      "script-src 'self' 'unsafe-inline'",
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data:",
      "connect-src 'self'",
      "font-src 'self'",
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'self' http: https:",
      "frame-ancestors 'none'",
    ].join("; "),
  },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "Referrer-Policy", value: "no-referrer" },
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=()" },
];

const nextConfig: NextConfig = {
  poweredByHeader: false,
  // Lets parallel test runs and benchmarks keep separate builds (build config, not app config).
  distDir: process.env.FRONTDESK_DIST_DIR || ".next",
  // The build checks the application only; tests and benchmarks are checked by `tsc` in npm test.
  typescript: { tsconfigPath: "tsconfig.build.json" },
  // PGlite loads its WASM from its own package folder; pg and oidc-provider are Node-only;
  // pkcs11js is a native addon (the PKCS#11 key source, lib/crypto/pkcs11-keys.ts).
  serverExternalPackages: ["@electric-sql/pglite", "pglite-prisma-adapter", "pg", "oidc-provider", "pkcs11js"],
  // One copy of lib/ per process (scripts/lib-modules.mjs): the server bundle requires the
  // compiled dist/lib files the production server imports, except the few modules that need
  // Next itself. Through `<distDir>/node_modules/@frontdesk/lib`, a relative symlink to dist/lib,
  // so the build moves with the checkout (and into the image).
  webpack(config, { isServer, nextRuntime, dev, dir }) {
    if (!isServer || nextRuntime !== "nodejs" || dev) return config;
    // Loaded here, at build time only: the image runs this config without the build scripts.
    const { LIB_PACKAGE, externalRequest, nextOnlyLibModules, resolveLibImport } = require("./scripts/lib-modules.mjs") as typeof import("./scripts/lib-modules.mjs");
    const root = path.resolve(dir);
    const bundled = nextOnlyLibModules(root);
    const link = path.join(root, process.env.FRONTDESK_DIST_DIR || ".next", "node_modules", LIB_PACKAGE);
    rmSync(link, { force: true });
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(path.relative(path.dirname(link), path.join(root, "dist", "lib")), link);
    const libExternal = ({ context, request }: { context?: string; request?: string }, callback: (err?: Error, result?: string) => void) => {
      const file = request && context ? resolveLibImport(root, path.join(context, "_"), request) : null;
      if (!file || bundled.has(file)) return callback();
      callback(undefined, `commonjs ${externalRequest(root, file)}`);
    };
    config.externals = [libExternal, ...(Array.isArray(config.externals) ? config.externals : [config.externals])];
    return config;
  },
  async headers() {
    return [{ source: "/:path*", headers: securityHeaders }];
  },
};

export default nextConfig;
