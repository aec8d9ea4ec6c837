// RFC 7523 client assertions for the token-exchange scenario, signed ahead of time in worker
// threads (RS256, unique jti each, 300 s lifetime like agentgateway's), so the load generator
// only picks the next one and replay protection is exercised on every request.
import { Worker } from "node:worker_threads";

// Runs inside each worker: plain JavaScript over node:crypto (no loader needed).
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { createPrivateKey, randomUUID, sign } = require("node:crypto");
const { pem, kid, clientId, audience, count } = workerData;
const key = createPrivateKey(pem);
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
const header = b64({ alg: "RS256", kid, typ: "JWT" });
const now = Math.floor(Date.now() / 1000);
const out = new Array(count);
for (let i = 0; i < count; i++) {
  const input = header + "." + b64({ iss: clientId, sub: clientId, aud: audience, jti: randomUUID(), iat: now, exp: now + 300 });
  out[i] = input + "." + sign("sha256", Buffer.from(input), key).toString("base64url");
}
parentPort.postMessage(out);
`;

export async function signClientAssertions(opts: {
  privateKeyPem: string;
  kid: string;
  clientId: string;
  audience: string;
  count: number;
  threads: number;
}): Promise<string[]> {
  const per = Math.ceil(opts.count / opts.threads);
  const parts = await Promise.all(
    Array.from(
      { length: opts.threads },
      () =>
        new Promise<string[]>((resolve, reject) => {
          const worker = new Worker(WORKER_SOURCE, {
            eval: true,
            workerData: { pem: opts.privateKeyPem, kid: opts.kid, clientId: opts.clientId, audience: opts.audience, count: per },
          });
          worker.once("message", (m: string[]) => {
            resolve(m);
            void worker.terminate();
          });
          worker.once("error", reject);
        }),
    ),
  );
  return parts.flat().slice(0, opts.count);
}
