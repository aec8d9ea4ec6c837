// GET/POST /api/auth/* - next-auth (sign-in with the organization's IdP, callback, sign-out).
import { handlers } from "@/auth";

export const dynamic = "force-dynamic";
export const { GET, POST } = handlers;
