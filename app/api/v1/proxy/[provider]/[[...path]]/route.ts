// ANY /api/v1/proxy/<provider>/<path> - the egress proxy (handler in lib/egress/proxy.ts; server.ts serves the same handler directly).
import { handleProxy } from "@/lib/egress/proxy";

export const GET = handleProxy;
export const HEAD = handleProxy;
export const POST = handleProxy;
export const PUT = handleProxy;
export const PATCH = handleProxy;
export const DELETE = handleProxy;
export const OPTIONS = handleProxy;
export const dynamic = "force-dynamic";
