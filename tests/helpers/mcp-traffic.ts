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
  // Finite reads (request bodies) and streamed response bodies. A stream may never end (an SSE
  // stream left open), so settle() does not wait for its end: only until its reader is parked.
  const pending = new Set<Promise<void>>();
  const streams = new Set<{ reads: number; parked: boolean }>();
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
      const stream = { reads: 0, parked: false };
      streams.add(stream);
      void (async () => {
        const reader = copy.body!.getReader();
        const decoder = new TextDecoder();
        for (;;) {
          stream.reads++;
          stream.parked = true;
          const { done, value } = await reader.read();
          stream.parked = false;
          if (done) break;
          parts.push(decoder.decode(value, { stream: true }));
        }
      })()
        .catch(() => undefined)
        .finally(() => streams.delete(stream));
    }
    return response;
  };
  return {
    fetch: recordingFetch,
    text: () => parts.join("\n"),
    // A chunk the caller has received is in our branch of the tee too, so it is recorded once
    // every reader has gone a full event-loop turn parked in the same read() call.
    settle: async () => {
      await Promise.allSettled([...pending]);
      for (;;) {
        const reads = new Map([...streams].map((s) => [s, s.reads]));
        await new Promise((r) => setImmediate(r));
        if ([...streams].every((s) => s.parked && reads.get(s) === s.reads)) return;
      }
    },
  };
}
