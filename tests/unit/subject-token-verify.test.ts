// Subject-token pieces that need no network: the trusted-subject switch and the safe reasons
// for failed verifications (the full verification runs against a real IdP in integration).
import { errors } from "jose";
import { beforeAll, describe, expect, it } from "vitest";

beforeAll(() => {
  process.env.OIDC_ISSUER = "https://idp.example";
  process.env.SUBJECT_TOKEN_ISSUERS = "https://partner.example";
});

describe("trusted subjects", () => {
  it("are refused unless the gateway is marked trusted, and only for trusted issuers", async () => {
    const { acceptTrustedSubject } = await import("@/lib/subject-tokens/verify");
    expect(() => acceptTrustedSubject({ trustedSubject: false }, { subject: "alice" })).toThrow(/may not name a subject/);
    expect(acceptTrustedSubject({ trustedSubject: true }, { subject: "alice" })).toEqual({
      issuer: "https://idp.example",
      subject: "alice",
      email: null,
      groups: null,
      source: "trusted_gateway",
    });
    expect(acceptTrustedSubject({ trustedSubject: true }, { subject: "p", issuer: "https://partner.example" }).issuer).toBe("https://partner.example");
    expect(() => acceptTrustedSubject({ trustedSubject: true }, { subject: "alice", issuer: "https://evil.example" })).toThrow(/not trusted/);
  });
});

describe("verification failure reasons", () => {
  it("name the failed check without echoing the token", async () => {
    const { describeJoseError } = await import("@/lib/subject-tokens/verify");
    const payload = { sub: "alice" };
    expect(describeJoseError(new errors.JWTExpired("x", payload, "exp", "check_failed"), "subject_token")).toBe("subject_token has expired");
    expect(describeJoseError(new errors.JWTClaimValidationFailed("x", payload, "nbf", "check_failed"), "subject_token")).toBe("subject_token is not yet valid");
    expect(describeJoseError(new errors.JWTClaimValidationFailed("x", payload, "aud", "check_failed"), "t")).toBe("t audience is not accepted");
    expect(describeJoseError(new errors.JOSEAlgNotAllowed("x"), "t")).toBe("t signature algorithm is not allowed");
    expect(describeJoseError(new errors.JWKSNoMatchingKey(), "t")).toBe("t is signed with an unknown key");
    expect(describeJoseError(new errors.JWSSignatureVerificationFailed(), "t")).toBe("t signature is invalid");
    expect(describeJoseError(new Error("eyJhbGciOi... secret detail"), "t")).toBe("t is invalid");
  });
});
