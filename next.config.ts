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
  async headers() {
    return [{ source: "/:path*", headers: securityHeaders }];
  },
};

export default nextConfig;
