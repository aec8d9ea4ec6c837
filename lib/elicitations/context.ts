// What an elicitation is for (attribution and display). Stored as JSON; parsed on the way out
// so the portal only ever renders known, bounded string fields.
import { z } from "zod";

const text = z.string().min(1).max(200);

export const elicitationContextSchema = z
  .object({
    agentId: text.optional(),
    mcpServer: text.optional(),
    toolName: text.optional(),
    labels: z.record(z.string().min(1).max(64), z.string().max(200)).optional(),
  })
  .strict();

export type ElicitationContext = z.infer<typeof elicitationContextSchema>;

/** Parses stored context; anything unexpected becomes an empty context rather than a crash. */
export function readElicitationContext(value: unknown): ElicitationContext {
  const parsed = elicitationContextSchema.safeParse(value);
  return parsed.success ? parsed.data : {};
}

/** Elicitation ids are `eli_` + 32 random bytes in base64url (43 characters). */
export function isElicitationId(value: string): boolean {
  return /^eli_[A-Za-z0-9_-]{43}$/.test(value);
}
