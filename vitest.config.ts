import path from "node:path";
import { defineConfig } from "vitest/config";

const alias = { "@": path.resolve(import.meta.dirname) };

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        // Timeouts only end hangs: tests wait on events, and a busy machine (CI sharing its cores,
        // a load average of 8 on 2 cores) makes child processes start many times slower.
        test: { name: "unit", include: ["tests/unit/**/*.test.ts"], environment: "node", testTimeout: 120_000, sequence: { groupOrder: 0 } },
      },
      {
        resolve: { alias },
        test: {
          name: "integration",
          include: ["tests/integration/**/*.test.ts"],
          environment: "node",
          globalSetup: ["tests/helpers/postgres-global-setup.ts", "tests/helpers/pglite-global-setup.ts"],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // Two cores: files run in parallel two at a time, each on its own database.
          maxWorkers: 2,
          // Unit tests run first, then integration (their worker limits differ).
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
