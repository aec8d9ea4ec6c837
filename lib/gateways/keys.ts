// Validation of the public keys a private_key_jwt gateway registers: a JWKS of public,
// asymmetric keys only (a private or symmetric key in a registration is a mistake we refuse).
import type { JSONWebKeySet, JWK } from "jose";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k"] as const;

export function validateGatewayJwks(value: unknown): JSONWebKeySet {
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > 20) {
    throw new AppError("invalid_request", "jwks must be a JSON Web Key Set with 1 to 20 keys");
  }
  for (const key of keys as JWK[]) {
    if (typeof key !== "object" || key === null || !["RSA", "EC", "OKP"].includes(String(key.kty))) {
      throw new AppError("invalid_request", "jwks keys must be RSA, EC or OKP public keys");
    }
    if (PRIVATE_MEMBERS.some((m) => m in key)) {
      throw new AppError("invalid_request", "jwks must contain public keys only");
    }
  }
  return { keys: keys as JWK[] };
}

/** A JWKS URI must be https, unless its origin is named in FRONTDESK_INSECURE_HTTP_ISSUERS. */
export function validateJwksUri(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new AppError("invalid_request", "jwksUri is not a URL");
  }
  const insecureOk = env().FRONTDESK_INSECURE_HTTP_ISSUERS.some((i) => {
    try {
      return new URL(i).origin === url.origin;
    } catch {
      return false;
    }
  });
  if (url.protocol !== "https:" && !(url.protocol === "http:" && insecureOk)) {
    throw new AppError("invalid_request", "jwksUri must use https");
  }
  return url.toString();
}

/** Webhook URLs follow the same transport rule as JWKS URIs. */
export function validateWebhookUrl(uri: string): string {
  try {
    return validateJwksUri(uri);
  } catch {
    throw new AppError("invalid_request", "webhookUrl must be an https URL");
  }
}
