// The user as an agent names them in a delegation-mode call (no subject token: nobody is
// present). Only the issuer is checked here; the name counts for nothing until resolveCredential
// finds an active delegation from exactly that user to the verified agent (lib/delegations).
import { AppError } from "@/lib/errors";
import { trustedIssuers } from "@/lib/subject-tokens/issuers";
import type { VerifiedSubject } from "@/lib/subject-tokens/verify";

export function namedByAgent(named: { issuer: string; subject: string }): VerifiedSubject {
  if (!trustedIssuers().includes(named.issuer)) throw new AppError("invalid_subject", "on_behalf_of.issuer is not a trusted identity provider");
  return { issuer: named.issuer, subject: named.subject, email: null, groups: null, source: "delegation" };
}
