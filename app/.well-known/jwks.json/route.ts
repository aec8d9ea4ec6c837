// GET /.well-known/jwks.json - Frontdesk's public signing keys (handler in lib/gateway-api).
export { handleJwks as GET } from "@/lib/gateway-api/discovery";
export const dynamic = "force-dynamic";
