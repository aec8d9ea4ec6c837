// /admin/gateways - registered gateways; register a new one (its secret is shown once).
import type { Metadata } from "next";
import Link from "next/link";
import { AdminForm } from "@/components/admin/admin-form";
import { CheckboxField, Panel, SelectField, TextArea, TextField } from "@/components/admin/fields";
import { Badge, DataTable, Td, When } from "@/components/admin/table";
import { SubmitButton } from "@/components/ui/button";
import { requireAdminPage } from "@/lib/admin/guard";
import { listGateways } from "@/lib/gateways/register";
import { createGatewayAction } from "./actions";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Gateways" };

export default async function GatewaysPage() {
  const { formToken } = await requireAdminPage("/admin/gateways");
  const gateways = await listGateways();
  return (
    <>
      <h1 className="text-2xl font-semibold tracking-tight [overflow-wrap:anywhere]">Gateways</h1>
      <DataTable caption="Gateways" head={["Name", "Client id", "Authentication", "Secret", "Webhook", "Trusted subject", "Status", "Registered"]} empty={gateways.length === 0} emptyText="No gateways registered yet.">
        {gateways.map((g) => (
          <tr key={g.id}>
            <Td>
              <Link href={`/admin/gateways/${g.id}`} className="font-medium hover:underline">
                {g.name}
              </Link>
            </Td>
            <Td className="font-mono text-xs">{g.id}</Td>
            <Td>{g.authMethod}</Td>
            <Td className="font-mono text-xs">{g.secretPrefix ? `${g.secretPrefix}…` : "—"}</Td>
            <Td className="max-w-48 truncate text-xs">{g.webhookUrl ?? "—"}</Td>
            <Td>{g.trustedSubject ? <Badge value="deny" label="trusted (!)" /> : "no"}</Td>
            <Td>
              <Badge value={g.status} />
            </Td>
            <Td>
              <When value={g.createdAt} />
            </Td>
          </tr>
        ))}
      </DataTable>
      <Panel title="Register a gateway">
        <AdminForm action={createGatewayAction} formToken={formToken} className="space-y-4" label="Register a gateway">
          <div className="grid gap-4 md:grid-cols-2">
            <TextField name="name" label="Name" required />
            <SelectField
              name="authMethod"
              label="Authentication"
              options={[
                { value: "client_secret_basic", label: "Client secret (HTTP Basic) — generated, shown once" },
                { value: "client_secret_post", label: "Client secret (form post) — generated, shown once" },
                { value: "private_key_jwt", label: "private_key_jwt (JWKS or JWKS URI)" },
              ]}
            />
            <TextArea name="jwks" label="JWKS (private_key_jwt; paste public keys)" rows={4} hint='{"keys":[...]} — public keys only.' />
            <TextField name="jwksUri" label="or JWKS URI (private_key_jwt)" placeholder="https://gateway.example.com/jwks.json" />
            <TextField name="webhookUrl" label="Webhook URL (optional)" hint="Signed (JWS) notifications when an elicitation settles." />
            <CheckboxField
              name="trustedSubject"
              label="Trusted subject (dangerous)"
              hint="Lets this gateway name any user without a subject token. Only for a gateway that authenticates users itself and that you trust completely."
            />
          </div>
          <SubmitButton pendingLabel="Registering…">Register gateway</SubmitButton>
        </AdminForm>
      </Panel>
    </>
  );
}
