// `npm run openapi`: writes docs/openapi.json from lib/openapi/document.ts (tests check it is current).
import { writeFileSync } from "node:fs";
import { buildOpenApiDocument } from "@/lib/openapi/document";

writeFileSync("docs/openapi.json", `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`);
process.stdout.write("wrote docs/openapi.json\n");
