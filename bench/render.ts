// Re-renders a results file as the markdown summary, or (--svg) as the open-loop plot:
//   npx tsx bench/render.ts bench/results/bench-<time>.json > bench/results/latest.md
//   npx tsx bench/render.ts bench/results/bench-<time>.json --svg > bench/results/open-loop.svg
import { readFileSync } from "node:fs";
import { renderOpenLoopSvg } from "./lib/plot";
import { renderMarkdown, type BenchResults } from "./lib/report";

const file = process.argv[2];
if (!file) {
  console.error("usage: render.ts <results.json> [--svg]");
  process.exit(2);
}
const results = JSON.parse(readFileSync(file, "utf8")) as BenchResults;
process.stdout.write(process.argv.includes("--svg") ? renderOpenLoopSvg(results) : renderMarkdown(results));
