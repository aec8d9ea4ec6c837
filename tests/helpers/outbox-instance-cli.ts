// A Frontdesk instance for outbox tests, in its own process: runs the delivery worker until
// SIGTERM (or until killed with SIGKILL, which is the point of some tests).
//   tsx tests/helpers/outbox-instance-cli.ts worker
//   tsx tests/helpers/outbox-instance-cli.ts revoke <grantId>   revoke (state change + outbox), keep delivering
export {};

const [mode, arg] = process.argv.slice(2);

const { startOutboxWorker, stopOutboxWorker } = await import("@/lib/outbox/worker");
startOutboxWorker();
if (mode === "revoke") {
  const { revokeGrant } = await import("@/lib/grants/revoke");
  await revokeGrant(arg!, { type: "admin", id: "usr_admin" });
} else if (mode !== "worker") {
  throw new Error(`unknown mode ${mode}`);
}
process.stdout.write(`ready ${mode}\n`);
process.once("SIGTERM", () => {
  stopOutboxWorker();
  void import("@/lib/db/client").then(({ closeDb }) => closeDb()).finally(() => process.exit(0));
});
setInterval(() => undefined, 60_000);
