// The demo organization's people and their demo passwords. A module of its own, without server
// dependencies, so that the demo home page can show the passwords (in demo mode only) and the
// demo identity provider can check them.
import type { DemoAccount } from "./oidc-interactions";

export const DEMO_USERS = {
  alice: { sub: "alice", email: "alice@example.test", name: "Alice Liddell", password: "wonderland", groups: ["engineering"] },
  bob: { sub: "bob", email: "bob@example.test", name: "Bob Builder", password: "canwefixit", groups: ["sales"] },
  admin: { sub: "admin", email: "admin@example.test", name: "Ada Admin", password: "frontdesk-admin", groups: ["frontdesk-admins"] },
} satisfies Record<string, DemoAccount>;

export const ADMIN_GROUP = "frontdesk-admins";
