// "expires in 9 minutes": how long until a deadline, in the words a person reads in two seconds
// (issue 18). Rendered on the server at page time; the exact UTC time stays in the element's title.
const relative = new Intl.RelativeTimeFormat("en", { numeric: "always" });

export function timeLeft(until: Date, now: number = Date.now()): string {
  const seconds = Math.round((until.getTime() - now) / 1000);
  if (seconds <= 0) return "now";
  if (seconds < 60) return "in less than a minute";
  const minutes = Math.round(seconds / 60);
  if (minutes < 120) return relative.format(minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (hours < 48) return relative.format(hours, "hour");
  return relative.format(Math.round(hours / 24), "day");
}
