// Scope lists: parsing a token response's `scope`, and what to ask a provider for.

/** Splits a granted-scope string (space separated; GitHub and Slack use commas). */
export function parseScopeString(value: string | undefined | null): string[] | null {
  if (typeof value !== "string") return null;
  return [...new Set(value.split(/[\s,]+/).filter(Boolean))];
}

/**
 * Scopes for the authorization request: the provider's defaults, what the user already granted
 * (the new token replaces the stored one, so it must keep covering them), and the new ones.
 */
export function scopesToRequest(defaults: string[], granted: string[], requested: string[]): string[] {
  return [...new Set([...defaults, ...granted, ...requested])];
}

export function coversScopes(granted: string[], requested: string[]): boolean {
  return requested.every((s) => granted.includes(s));
}
