// A fetch that records everything that passes through it (request headers and bodies, response
// headers and bodies, streamed ones included), so a test can assert that a secret never appeared
// in a component's traffic. Bodies are read from clones; the caller's streams are untouched.
export interface TrafficLog {
  fetch: typeof fetch;
  /** Everything recorded so far, as one string. */
  text(): string;
  /** Waits until streamed bodies read so far have been recorded. */
  settle(): Promise<void>;
}

export function recordTraffic(inner: typeof fetch = fetch): TrafficLog {
  const parts: string[] = [];
  const pending = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };
  const recordingFetch: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    parts.push(`> ${request.method} ${request.url}\n${[...request.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}`);
    if (request.body) track(request.clone().text().then((t) => void parts.push(t), () => undefined));
    const response = await inner(request);
    parts.push(`< ${response.status}\n${[...response.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}`);
    const copy = response.clone();
    if (copy.body) {
      // Streamed (SSE) bodies are recorded chunk by chunk as they arrive.
      track(
        (async () => {
          const reader = copy.body!.getReader();
          const decoder = new TextDecoder();
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            parts.push(decoder.decode(value, { stream: true }));
          }
        })().catch(() => undefined),
      );
    }
    return response;
  };
  return {
    fetch: recordingFetch,
    text: () => parts.join("\n"),
    settle: async () => {
      await Promise.race([Promise.allSettled([...pending]), new Promise((r) => setTimeout(r, 500))]);
    },
  };
}
