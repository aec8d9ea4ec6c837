// POST /api/v1/resolve - REST credential resolve for gateways (handler in lib/gateway-api).
export { handleResolve as POST } from "@/lib/gateway-api/resolve";
export const dynamic = "force-dynamic";
