"use server";
// Sign-in and sign-out server actions (next-auth). Only same-origin paths are used as targets.
import { z } from "zod";
import { signIn, signOut } from "@/auth";
import { IDP_PROVIDER_ID } from "@/lib/auth/config";
import { toSameOriginPath } from "@/lib/auth/safe-redirect";
import { submittedFields } from "@/lib/portal/form-fields";

const signInForm = z.object({ callbackUrl: z.string().max(2000).optional() }).strict();

export async function signInAction(formData: unknown): Promise<void> {
  const parsed = signInForm.safeParse({ callbackUrl: submittedFields(formData)?.callbackUrl });
  const redirectTo = toSameOriginPath(parsed.success ? parsed.data.callbackUrl : undefined);
  await signIn(IDP_PROVIDER_ID, { redirectTo });
}

export async function signOutAction(): Promise<void> {
  await signOut({ redirectTo: "/" });
}
