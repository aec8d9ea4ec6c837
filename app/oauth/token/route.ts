// POST /oauth/token - RFC 8693 token exchange for gateways (handler in lib/gateway-api).
export { handleTokenRequest as POST } from "@/lib/gateway-api/token-exchange";
export const dynamic = "force-dynamic";
