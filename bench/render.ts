// Re-renders a results file as the markdown summary:
//   npx tsx bench/render.ts bench/results/bench-<time>.json > bench/results/latest.md
import { readFileSync } from "node:fs";
import { renderMarkdown, type BenchResults } from "./lib/report";

const file = process.argv[2];
if (!file) {
  console.error("usage: render.ts <results.json>");
  process.exit(2);
}
process.stdout.write(renderMarkdown(JSON.parse(readFileSync(file, "utf8")) as BenchResults));
