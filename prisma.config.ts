// Prisma CLI configuration. The CLI runs its WASM schema engine through a driver adapter,
// so no native engine is downloaded (see README, "Migrations"). With a real DATABASE_URL it
// talks to that PostgreSQL; with the offline placeholder (set by `npm run prisma` when no
// DATABASE_URL is given) it uses a throwaway in-memory PGlite, enough for `migrate diff`.
import path from "node:path";
import { defineConfig } from "prisma/config";
import { PrismaPg } from "@prisma/adapter-pg";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";

const OFFLINE_PLACEHOLDER = "postgresql://offline@localhost/offline";

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: path.join("prisma", "schema.prisma"),
  migrations: { path: path.join("prisma", "migrations") },
  async adapter() {
    const url = process.env.DATABASE_URL;
    if (!url || url === OFFLINE_PLACEHOLDER) return new PrismaPGlite(new PGlite());
    return new PrismaPg({ connectionString: url });
  },
});
