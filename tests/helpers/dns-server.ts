// A real DNS server on 127.0.0.1 (UDP, node:dgram) for SSRF tests: answers A and AAAA queries
// from a table of functions, so a test can change a name's answer between queries (DNS
// rebinding) and count the queries. Frontdesk is pointed at it with FRONTDESK_EGRESS_DNS_SERVERS.
// Implements the small part of RFC 1035 needed: one question, uncompressed name, answers with a
// pointer to the question name, TTL 0.
import { createSocket } from "node:dgram";
import { isIP } from "node:net";

export type Answer = (name: string, type: "A" | "AAAA", queryNumber: number) => string[];

export interface TestDnsServer {
  server: string;
  queries: { name: string; type: string }[];
  close(): Promise<void>;
}

function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let i = offset;
  while (msg[i]! !== 0) {
    const len = msg[i]!;
    labels.push(msg.subarray(i + 1, i + 1 + len).toString("ascii"));
    i += len + 1;
  }
  return { name: labels.join(".").toLowerCase(), end: i + 1 };
}

function ipBytes(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(address.split(".").map(Number));
  const [head, tail] = address.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g || "0", 16), i * 2));
  return out;
}

export async function startDnsServer(answer: Answer): Promise<TestDnsServer> {
  const socket = createSocket("udp4");
  const queries: { name: string; type: string }[] = [];
  socket.on("message", (msg, rinfo) => {
    const { name, end } = readName(msg, 12);
    const qtype = msg.readUInt16BE(end);
    const type = qtype === 28 ? "AAAA" : qtype === 1 ? "A" : null;
    queries.push({ name, type: type ?? String(qtype) });
    const addresses = type ? answer(name, type, queries.filter((q) => q.name === name && q.type === type).length).filter((a) => isIP(a) === (type === "A" ? 4 : 6)) : [];
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // id
    header.writeUInt16BE(0x8180, 2); // response, recursion desired + available, no error
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(addresses.length, 6);
    const question = msg.subarray(12, end + 4);
    const records = addresses.map((a) => {
      const data = ipBytes(a);
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // pointer to the question name
      rr.writeUInt16BE(qtype, 2);
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(0, 6); // TTL 0: never cached
      rr.writeUInt16BE(data.length, 10);
      return Buffer.concat([rr, data]);
    });
    socket.send(Buffer.concat([header, question, ...records]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  const { port } = socket.address();
  return {
    server: `127.0.0.1:${port}`,
    queries,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
