// GET /.well-known/oauth-authorization-server - RFC 8414 metadata (handler in lib/gateway-api).
export { handleAuthorizationServerMetadata as GET } from "@/lib/gateway-api/discovery";
export const dynamic = "force-dynamic";
