// The endpoint/credential fields shared by the generic create form and the edit form.
import { CheckboxField, SecretField, SelectField, TextArea, TextField } from "@/components/admin/fields";
import type { Provider } from "@/lib/generated/prisma/client";
import { formatScopeDescriptions } from "@/lib/providers/scope-descriptions";

export function ProviderFields({ provider }: { provider?: Provider }) {
  return (
    <div className="grid gap-4 md:grid-cols-2">
      <TextField name="issuer" label="Issuer (OIDC: discovery)" defaultValue={provider?.issuer} placeholder="https://accounts.example.com" />
      <TextField name="authorizationEndpoint" label="Authorization endpoint (OAuth 2)" defaultValue={provider?.authorizationEndpoint} />
      <TextField name="tokenEndpoint" label="Token endpoint (OAuth 2)" defaultValue={provider?.tokenEndpoint} />
      <TextField name="revocationEndpoint" label="Revocation endpoint (RFC 7009, optional)" defaultValue={provider?.revocationEndpoint} />
      <TextField name="clientId" label="Client id" defaultValue={provider?.clientId} />
      <SecretField
        name="clientSecret"
        label="Client secret"
        hint={provider ? (provider.keyVersion ? "A secret is stored (never displayed). Leave empty to keep it; type a new one to replace it." : "No secret stored.") : "Stored encrypted; never displayed again."}
      />
      <SelectField
        name="tokenEndpointAuth"
        label="Token endpoint authentication"
        defaultValue={provider?.tokenEndpointAuth ?? "client_secret_basic"}
        options={["client_secret_basic", "client_secret_post", "none"].map((v) => ({ value: v, label: v }))}
      />
      <TextField name="defaultScopes" label="Default scopes" defaultValue={provider?.defaultScopes.join(" ")} hint="Space separated." />
      <TextArea
        name="scopeDescriptions"
        label="What each scope lets an agent do (consent page)"
        defaultValue={formatScopeDescriptions(provider?.scopeDescriptions)}
        hint="One per line: scope = plain words, e.g. notes:read = Read your notes. People see these lines when they consent; the scope name stays visible next to each."
      />
      <TextArea name="resourceUrls" label="API base URLs (token-exchange resources)" defaultValue={provider?.resourceUrls.join("\n")} hint="One per line." />
      <div className="space-y-4">
        <TextField name="apiKeyHeader" label="API key header (API-key providers)" defaultValue={provider?.apiKeyHeader} placeholder="X-Api-Key" />
        <TextField name="apiKeyPrefix" label="API key prefix" defaultValue={provider?.apiKeyPrefix} placeholder="Bearer " />
        <TextField name="validationUrl" label="Key validation URL" defaultValue={provider?.validationUrl} />
      </div>
      <SelectField
        name="crossAppAccess"
        label="Cross-app access (ID-JAG through your identity provider)"
        defaultValue={provider?.crossAppAccess ?? "off"}
        options={[
          { value: "off", label: "Off: users connect through the consent page" },
          { value: "when_advertised", label: "When the provider's metadata offers it" },
          { value: "always", label: "Always (the provider redeems ID-JAGs)" },
        ]}
      />
      <SelectField
        name="crossAppAccessFallback"
        label="When the identity provider refuses"
        defaultValue={provider?.crossAppAccessFallback ?? "deny"}
        options={[
          { value: "deny", label: "Deny the request" },
          { value: "consent", label: "Ask the user to connect (URL consent)" },
        ]}
      />
      <TextField
        name="refreshReuseGraceSeconds"
        label="Refresh-token reuse grace (seconds)"
        type="number"
        defaultValue={String(provider?.refreshReuseGraceSeconds ?? 0)}
        hint="How long the provider still accepts a refresh token it has just rotated (Okta's grace period, Auth0's reuse interval); 0 if it has none. A refresh cut off by a crash is redone within it; without one the connection is lost and the user is asked to connect again."
      />
      <CheckboxField name="allowInsecureHttp" label="Allow plain http (development only)" defaultChecked={provider?.allowInsecureHttp} hint="Never in production: tokens would cross the network unencrypted." />
      <fieldset className="space-y-4 md:col-span-2">
        <legend className="text-sm font-semibold text-slate-900">Egress proxy</legend>
        <TextArea
          name="requestRules"
          label="Request rules (JSON)"
          rows={8}
          defaultValue={provider ? JSON.stringify(provider.requestRules ?? {}, null, 2) : ""}
          hint={
            <>
              Per scope, the methods and paths (relative to the API base) the egress proxy and ext_authz let through, e.g.{" "}
              <code>{'{"notes:read": [{"methods": ["GET"], "paths": ["/notes", "/notes/*"]}]}'}</code>. <code>*</code> is one path segment, a final <code>**</code> any rest; the key{" "}
              <code>&quot;*&quot;</code> applies to every caller. Empty: nothing is proxied.
            </>
          }
        />
        <CheckboxField
          name="allowPrivateNetwork"
          label="Allow private and loopback addresses"
          defaultChecked={provider?.allowPrivateNetwork}
          hint="Warning: lets the egress proxy connect to this API on private, loopback and link-local addresses. Only for an on-premises API or development; anywhere else it opens an SSRF path into your network."
        />
      </fieldset>
    </div>
  );
}
