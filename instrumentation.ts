// Runs once when a Frontdesk server process starts: validate configuration and open (and, for
// the embedded database, migrate) the database before the first request, so a bad setup
// stops the process at boot instead of failing requests later.
export async function register() {
  // next-auth and the edge runtime never run Frontdesk's startup; only the Node.js server does.
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { startFrontdesk, startBackgroundWork } = await import("./lib/startup");
  await startFrontdesk();
  startBackgroundWork();
}
