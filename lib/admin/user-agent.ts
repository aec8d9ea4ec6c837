// A session's browser and operating system in words ("Chrome 156 on Linux") for the dashboard;
// the raw User-Agent string stays available as a tooltip.
import { UAParser } from "ua-parser-js";

export function describeUserAgent(userAgent: string | null): string {
  if (!userAgent) return "Unknown browser";
  const { browser, os } = UAParser(userAgent);
  const name = browser.name ? [browser.name, browser.major].filter(Boolean).join(" ") : "Unknown browser";
  const system = os.name ? [os.name, os.version].filter(Boolean).join(" ") : null;
  return system ? `${name} on ${system}` : name;
}
