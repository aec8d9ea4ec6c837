import { describe, expect, it } from "vitest";
import { describeUserAgent } from "@/lib/admin/user-agent";

describe("describeUserAgent", () => {
  it("names browser, major version and operating system", () => {
    expect(
      describeUserAgent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.8078.73 Safari/537.36"),
    ).toBe("Chrome Headless 156 on Linux");
    expect(
      describeUserAgent("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"),
    ).toBe("Mobile Safari 18 on iOS 18.1");
  });
  it("says what it does not know instead of echoing junk", () => {
    expect(describeUserAgent(null)).toBe("Unknown browser");
    expect(describeUserAgent("curl/8.5.0")).toBe("Unknown browser");
  });
});
