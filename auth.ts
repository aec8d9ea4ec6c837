// next-auth entry points (Auth.js v5 convention). Configuration is built lazily per request so
// that importing this module never reads env or opens the database at build time.
import NextAuth from "next-auth";
import { buildAuthConfig } from "@/lib/auth/config";

export const { handlers, auth, signIn, signOut } = NextAuth(() => buildAuthConfig());
