import { describe, expect, it } from "vitest";
import { timeLeft } from "@/lib/portal/time-left";

describe("timeLeft", () => {
  const now = Date.UTC(2026, 11, 1, 12, 0, 0);
  const after = (ms: number) => new Date(now + ms);
  it.each([
    [-5_000, "now"],
    [0, "now"],
    [30_000, "in less than a minute"],
    [60_000, "in 1 minute"],
    [9 * 60_000 + 20_000, "in 9 minutes"],
    [119 * 60_000, "in 119 minutes"],
    [3 * 3600_000, "in 3 hours"],
    [3 * 86400_000, "in 3 days"],
  ])("%d ms ahead reads %s", (ms, words) => {
    expect(timeLeft(after(ms), now)).toBe(words);
  });
});
