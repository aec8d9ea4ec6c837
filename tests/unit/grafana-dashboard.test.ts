// The Grafana dashboard in deploy/grafana queries only metrics Frontdesk exports: a renamed or
// dropped metric fails here instead of leaving an empty panel in production.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { metrics } from "@/lib/observability/metrics";

interface Panel {
  title: string;
  targets: { expr: string }[];
}

describe("deploy/grafana/frontdesk-dashboard.json", () => {
  it("every panel queries metrics the registry exports", async () => {
    const dashboard = JSON.parse(readFileSync("deploy/grafana/frontdesk-dashboard.json", "utf8")) as { panels: Panel[] };
    const exported = new Set((await metrics().registry.getMetricsAsJSON()).map((m) => m.name));
    const used = new Set<string>();
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const t of panel.targets) {
        for (const name of t.expr.match(/frontdesk_[a-z0-9_]+/g) ?? []) used.add(name.replace(/_(bucket|count|sum)$/, ""));
      }
    }
    expect(used.size).toBeGreaterThan(8);
    expect([...used].filter((n) => !exported.has(n))).toEqual([]);
    // Every Frontdesk-specific metric (not the process defaults) appears on the dashboard.
    const own = [...exported].filter((n) => !n.startsWith("frontdesk_nodejs_") && !n.startsWith("frontdesk_process_"));
    expect(own.filter((n) => !used.has(n))).toEqual([]);
  });
});
