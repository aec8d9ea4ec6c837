// Provider presets: configuration only, no code paths of their own except the two response
// quirks named in `presetQuirks` (Slack). Each documents what is unusual about the provider,
// next to the settings that deal with it. An admin still supplies the client id and secret.
import type { RequestRules } from "@/lib/egress/request-rules";
import type { ProviderInput } from "./input";

// Request rules (lib/egress/request-rules.ts) the presets ship: what a caller that asked for a
// scope may send through the egress proxy. Read scopes get reads only, whatever the stored
// token could do; an admin can widen or narrow them per provider.
const READ = ["GET", "HEAD"] as ("GET" | "HEAD")[];
const WRITE = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] as ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE")[];

const GITHUB_RULES: RequestRules = {
  // Profile and e-mail.
  "read:user": [{ methods: READ, paths: ["/user", "/users/*", "/users/*/**"] }],
  "user:email": [{ methods: READ, paths: ["/user/emails", "/user/public_emails"] }],
  "read:org": [{ methods: READ, paths: ["/user/orgs", "/orgs/*", "/orgs/*/**"] }],
  // `repo` and `public_repo` tokens can write; asking for them means asking for that.
  repo: [{ methods: WRITE, paths: ["/repos/*/*", "/repos/*/*/**", "/user/repos", "/search/**"] }],
  public_repo: [{ methods: WRITE, paths: ["/repos/*/*", "/repos/*/*/**", "/user/repos", "/search/**"] }],
};

// GitHub App user tokens carry no OAuth scopes (the app's permissions decide): reads on
// repositories and the profile for any caller.
const GITHUB_APP_RULES: RequestRules = {
  "*": [{ methods: READ, paths: ["/user", "/user/repos", "/repos/*/*", "/repos/*/*/**", "/installation/repositories"] }],
};

const GOOGLE_RULES: RequestRules = {
  openid: [{ methods: READ, paths: ["/oauth2/v3/userinfo"] }],
  email: [{ methods: READ, paths: ["/oauth2/v3/userinfo"] }],
  "https://www.googleapis.com/auth/gmail.readonly": [{ methods: READ, paths: ["/gmail/v1/users/*/**"] }],
  "https://www.googleapis.com/auth/drive.readonly": [{ methods: READ, paths: ["/drive/v3/**"] }],
  "https://www.googleapis.com/auth/calendar.readonly": [{ methods: READ, paths: ["/calendar/v3/**"] }],
};

// Slack's Web API takes GET or POST for reads alike (method names are the paths).
const SLACK_RULES: RequestRules = {
  "users:read": [{ methods: ["GET", "POST"], paths: ["/users.list", "/users.info"] }],
  "channels:read": [{ methods: ["GET", "POST"], paths: ["/conversations.list", "/conversations.info"] }],
  "channels:history": [{ methods: ["GET", "POST"], paths: ["/conversations.history", "/conversations.replies"] }],
  "chat:write": [{ methods: ["POST"], paths: ["/chat.postMessage"] }],
};

const ATLASSIAN_RULES: RequestRules = {
  "read:me": [{ methods: READ, paths: ["/me", "/oauth/token/accessible-resources"] }],
  "read:jira-work": [{ methods: READ, paths: ["/ex/jira/*/rest/api/3/**"] }],
  "write:jira-work": [{ methods: WRITE, paths: ["/ex/jira/*/rest/api/3/**"] }],
  "read:confluence-content.all": [{ methods: READ, paths: ["/ex/confluence/*/wiki/rest/api/**"] }],
};

const MICROSOFT_RULES: RequestRules = {
  "User.Read": [{ methods: READ, paths: ["/v1.0/me", "/v1.0/me/photo/**"] }],
  "Mail.Read": [{ methods: READ, paths: ["/v1.0/me/messages", "/v1.0/me/messages/**", "/v1.0/me/mailFolders/**"] }],
  "Calendars.Read": [{ methods: READ, paths: ["/v1.0/me/events", "/v1.0/me/events/**", "/v1.0/me/calendar/**"] }],
  "Files.Read": [{ methods: READ, paths: ["/v1.0/me/drive/**"] }],
};

// What each scope lets an agent do, in the words the consent page shows (lib/providers/scope-descriptions.ts).
const GITHUB_SCOPES = {
  "read:user": "See your GitHub profile",
  "user:email": "See your e-mail addresses",
  "read:org": "See which organizations and teams you belong to",
  repo: "Read and change all your repositories, private ones included (code, issues, pull requests)",
  public_repo: "Read and change your public repositories",
};
const GOOGLE_SCOPES = {
  "https://www.googleapis.com/auth/gmail.readonly": "Read your Gmail messages (not send or delete them)",
  "https://www.googleapis.com/auth/drive.readonly": "See and download your Google Drive files",
  "https://www.googleapis.com/auth/calendar.readonly": "See your calendars and events",
};
const SLACK_SCOPES = {
  "users:read": "See the people in your workspace",
  "channels:read": "See the public channels in your workspace",
  "channels:history": "Read messages in public channels",
  "chat:write": "Send messages as you",
};
const ATLASSIAN_SCOPES = {
  "read:me": "See your Atlassian profile",
  "read:jira-work": "Read Jira projects and issues",
  "write:jira-work": "Create and change Jira issues and comments",
  "read:confluence-content.all": "Read Confluence pages and blog posts",
};
const MICROSOFT_SCOPES = {
  "User.Read": "See your Microsoft profile",
  "Mail.Read": "Read your mail (not send or delete it)",
  "Calendars.Read": "See your calendars and events",
  "Files.Read": "See and download your OneDrive files",
};

type PresetDefaults = Omit<ProviderInput, "slug" | "clientId" | "clientSecret">;

export interface PresetOptions {
  /** Microsoft Entra ID: the directory (tenant) id or verified domain. */
  tenant?: string;
}

export const presetNames = ["github", "github-app", "google", "slack", "atlassian", "microsoft"] as const;
export type PresetName = (typeof presetNames)[number];

export function isPresetName(value: string): value is PresetName {
  return (presetNames as readonly string[]).includes(value);
}

export function presetDefaults(name: PresetName, options: PresetOptions = {}): PresetDefaults {
  switch (name) {
    case "github":
      // GitHub OAuth app. No discovery document and no OIDC, so explicit endpoints (oauth2).
      // - Tokens do not expire and there is no refresh token; a grant stays valid until revoked.
      // - The token endpoint answers JSON only when asked (openid-client sends Accept: application/json)
      //   and reports some errors with HTTP 200 and an `error` field.
      // - The granted scope comes back comma separated; the user may narrow scopes on the consent screen.
      // - No RFC 7009 endpoint: revocation is `DELETE /applications/{client_id}/grant` with basic auth,
      //   which is not standard, so no revocationEndpoint is set (revoke deletes Frontdesk's copy).
      return {
        displayName: "GitHub",
        kind: "oauth2",
        preset: name,
        authorizationEndpoint: "https://github.com/login/oauth/authorize",
        tokenEndpoint: "https://github.com/login/oauth/access_token",
        tokenEndpointAuth: "client_secret_post",
        defaultScopes: ["read:user"],
        resourceUrls: ["https://api.github.com/"],
        requestRules: GITHUB_RULES,
        scopeDescriptions: GITHUB_SCOPES,
      };
    case "github-app":
      // GitHub App user-to-server tokens. Same endpoints as the OAuth app, but:
      // - access tokens expire after 8 hours and come with a refresh token (6 months) when the app
      //   has "expire user authorization tokens" enabled; each refresh returns a new refresh token;
      // - OAuth scopes are ignored: what the token can do is the app's permissions intersected with
      //   the user's, so defaultScopes stays empty and scope checks see what GitHub returns.
      return {
        displayName: "GitHub App",
        kind: "oauth2",
        preset: name,
        authorizationEndpoint: "https://github.com/login/oauth/authorize",
        tokenEndpoint: "https://github.com/login/oauth/access_token",
        tokenEndpointAuth: "client_secret_post",
        defaultScopes: [],
        resourceUrls: ["https://api.github.com/"],
        requestRules: GITHUB_APP_RULES,
        scopeDescriptions: GITHUB_SCOPES,
      };
    case "google":
      // Google (OIDC discovery at accounts.google.com).
      // - A refresh token is issued only with access_type=offline, and only at the first consent
      //   unless prompt=consent forces the consent screen again (so re-connects get one too).
      // - include_granted_scopes=true makes incremental consent keep earlier scopes on the new token.
      // - Revocation (RFC 7009 style) at oauth2.googleapis.com/revoke revokes the whole grant.
      return {
        displayName: "Google",
        kind: "oidc",
        preset: name,
        issuer: "https://accounts.google.com",
        revocationEndpoint: "https://oauth2.googleapis.com/revoke",
        tokenEndpointAuth: "client_secret_post",
        defaultScopes: ["openid", "email"],
        extraAuthParams: { access_type: "offline", prompt: "consent", include_granted_scopes: "true" },
        resourceUrls: ["https://www.googleapis.com/", "https://gmail.googleapis.com/"],
        requestRules: GOOGLE_RULES,
        scopeDescriptions: GOOGLE_SCOPES,
      };
    case "slack":
      // Slack OAuth v2 with user scopes (the token acts as the user, not as the bot).
      // - User scopes go in `user_scope`, not `scope` (handled by presetQuirks.scopeParam).
      // - The user token comes back nested in `authed_user` and errors come back as
      //   HTTP 200 `{ok: false, error}`; presetQuirks.normalizeTokenResponse lifts both into the
      //   standard shape before openid-client validates the response.
      // - With token rotation enabled, access tokens expire after 12 hours and each refresh
      //   returns a new refresh token (the old one stops working).
      // - Revocation is `auth.revoke` with the token as bearer, not RFC 7009, so none is set.
      return {
        displayName: "Slack",
        kind: "oauth2",
        preset: name,
        authorizationEndpoint: "https://slack.com/oauth/v2/authorize",
        tokenEndpoint: "https://slack.com/api/oauth.v2.access",
        tokenEndpointAuth: "client_secret_post",
        scopeSeparator: ",",
        defaultScopes: ["users:read"],
        resourceUrls: ["https://slack.com/api/"],
        requestRules: SLACK_RULES,
        scopeDescriptions: SLACK_SCOPES,
      };
    case "atlassian":
      // Atlassian Cloud OAuth 2.0 (3LO).
      // - `audience=api.atlassian.com` and `prompt=consent` are required on the authorize URL.
      // - A refresh token is issued only with the `offline_access` scope; refresh tokens rotate
      //   (each refresh returns a new one and the old one expires after a short reuse interval),
      //   so the rotated token must be stored atomically.
      // - Calls go to api.atlassian.com/ex/jira/{cloudId}/..., the cloud id comes from
      //   accessible-resources. No revocation endpoint.
      return {
        displayName: "Atlassian",
        kind: "oauth2",
        preset: name,
        authorizationEndpoint: "https://auth.atlassian.com/authorize",
        tokenEndpoint: "https://auth.atlassian.com/oauth/token",
        tokenEndpointAuth: "client_secret_post",
        defaultScopes: ["read:me", "offline_access"],
        extraAuthParams: { audience: "api.atlassian.com", prompt: "consent" },
        resourceUrls: ["https://api.atlassian.com/"],
        requestRules: ATLASSIAN_RULES,
        scopeDescriptions: ATLASSIAN_SCOPES,
      };
    case "microsoft": {
      // Microsoft Entra ID (v2.0 endpoints).
      // - The issuer is tenant specific: the `common`/`organizations` discovery documents carry a
      //   `{tenantid}` placeholder issuer that never equals the ID token's `iss`, so a tenant is required.
      // - Refresh tokens only with `offline_access`; they rotate on use.
      // - One resource per token: Graph scopes and other APIs' scopes cannot be mixed in one request.
      // - No RFC 7009 revocation endpoint (sign-out revocation is per user via Graph).
      const tenant = options.tenant;
      if (!tenant || !/^[A-Za-z0-9.-]{1,100}$/.test(tenant) || ["common", "organizations", "consumers"].includes(tenant)) {
        throw new Error("the microsoft preset needs a specific tenant id or domain (not common/organizations/consumers)");
      }
      return {
        displayName: "Microsoft",
        kind: "oidc",
        preset: name,
        issuer: `https://login.microsoftonline.com/${tenant}/v2.0`,
        tokenEndpointAuth: "client_secret_post",
        defaultScopes: ["openid", "offline_access", "User.Read"],
        resourceUrls: ["https://graph.microsoft.com/"],
        requestRules: MICROSOFT_RULES,
        scopeDescriptions: MICROSOFT_SCOPES,
      };
    }
  }
}

export interface PresetQuirks {
  /** Authorization parameter that carries the scopes (Slack user scopes: `user_scope`). */
  scopeParam: string;
  /** Rewrites a token endpoint JSON body into the standard shape, or returns it unchanged. */
  normalizeTokenResponse?: (body: Record<string, unknown>) => Record<string, unknown>;
}

/** Slack's oauth.v2.access: lift `authed_user` (user token) to the top level; map ok:false to an OAuth error. */
export function normalizeSlackTokenResponse(body: Record<string, unknown>): Record<string, unknown> {
  if (body.ok === false) return { error: typeof body.error === "string" ? body.error : "invalid_request" };
  const user = body.authed_user;
  if (user && typeof user === "object" && typeof (user as Record<string, unknown>).access_token === "string") {
    const { id: _id, ...tokenFields } = user as Record<string, unknown>;
    // Slack says token_type "user"; the token is used as a bearer token.
    return { ...tokenFields, token_type: "Bearer" };
  }
  return body;
}

export function presetQuirks(preset: string | null | undefined): PresetQuirks {
  if (preset === "slack") return { scopeParam: "user_scope", normalizeTokenResponse: normalizeSlackTokenResponse };
  return { scopeParam: "scope" };
}
