// GET /api/v1/elicitations/<id>?wait=<s> - elicitation status long-poll (handler in lib/gateway-api).
export { handleElicitationStatus as GET } from "@/lib/gateway-api/elicitation-status";
export const dynamic = "force-dynamic";
