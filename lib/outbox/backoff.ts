// Exponential backoff with a cap and full jitter ("Exponential Backoff And Jitter", AWS
// Architecture Blog): attempt n waits a random time up to min(cap, base * 2^(n-1)), at least half
// of it, so receivers that come back are not hit by every instance's retries at the same moment.
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 40));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
