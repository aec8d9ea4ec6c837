// ANY /api/v1/ext-authz/<provider>/<original path> - Envoy / agentgateway HTTP ext_authz (handler in lib/egress/ext-authz.ts).
import { handleExtAuthz } from "@/lib/egress/ext-authz";

export const GET = handleExtAuthz;
export const HEAD = handleExtAuthz;
export const POST = handleExtAuthz;
export const PUT = handleExtAuthz;
export const PATCH = handleExtAuthz;
export const DELETE = handleExtAuthz;
export const OPTIONS = handleExtAuthz;
export const dynamic = "force-dynamic";
