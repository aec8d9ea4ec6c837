import { describe, expect, it } from "vitest";
import { newId, newSecretToken } from "@/lib/ids";

describe("ids", () => {
  it("carry the prefix and the asked number of random bytes", () => {
    expect(newId("eli", 32)).toMatch(/^eli_[A-Za-z0-9_-]{43}$/);
    expect(newId("req")).toMatch(/^req_[A-Za-z0-9_-]{22}$/);
    expect(newSecretToken()).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("never hand out the same bytes twice, across refills of the pooled CSPRNG bytes", () => {
    // 5,000 ids of 32 bytes span about 40 refills of the 4 KiB pool; any reuse of a byte range
    // (a refill that does not happen, an offset that does not move) repeats a 256-bit value.
    const seen = new Set<string>();
    for (let i = 0; i < 5_000; i++) seen.add(newId("eli", 32).slice(4));
    for (let i = 0; i < 1_000; i++) seen.add(newSecretToken());
    expect(seen.size).toBe(6_000);
    // And odd sizes that straddle the end of a pool still come out whole.
    for (let i = 0; i < 500; i++) expect(Buffer.from(newId("evt", 17).slice(4), "base64url")).toHaveLength(17);
  });
});
