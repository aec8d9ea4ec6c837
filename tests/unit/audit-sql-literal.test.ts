import { randomBytes } from "node:crypto";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { sqlLiteral } from "@/lib/audit/writer-pool";

// pg's own escapeLiteral is the reference: sqlLiteral must write the very same literal.
const reference = (text: string) => pg.Client.prototype.escapeLiteral.call(null, text);

describe("sqlLiteral", () => {
  it("writes the literal pg's escapeLiteral writes", () => {
    const samples = ["", "plain", "O'Brien", "''", "a\\b", "\\", "'\\'", "\\'", 'JSON "quoted" {"a":"b\\"c"}', "é ✓ \u2028"];
    // Random text over the characters that matter, so any difference in the rules shows.
    const alphabet = ["'", "\\", "a", '"', " ", "E", "\n"];
    for (let i = 0; i < 500; i++) samples.push([...randomBytes(12)].map((b) => alphabet[b % alphabet.length]).join(""));
    for (const text of samples) expect(sqlLiteral(text), JSON.stringify(text)).toBe(reference(text));
  });
});
