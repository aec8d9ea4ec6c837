"use server";
// Agent actions: pre-register, rename/describe, disable/enable (effective on the agent's next
// call on every instance). Each goes through lib/agents/admin.ts, which audits it.
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { optionalText } from "@/lib/admin/form-fields";
import { adminAction } from "@/lib/admin/guard";
import { registerAgent, setAgentStatus, updateAgent } from "@/lib/agents/admin";

const id = z.string().min(1).max(128);

export const registerAgentAction = adminAction(
  "agents.register",
  z.object({ issuer: z.string().trim().min(1).max(2048), subject: z.string().trim().min(1).max(1024), displayName: optionalText(100), owner: optionalText(200), description: optionalText(1000) }),
  async (input, { actor }) => {
    const agent = await registerAgent(input, actor);
    revalidatePath("/admin/agents");
    return { message: `Agent ${agent.displayName} registered (${agent.id}). Policy rules can name it now.` };
  },
);

export const updateAgentAction = adminAction(
  "agents.update",
  z.object({ agentId: id, displayName: z.string().trim().min(1).max(100), owner: z.string().trim().max(200), description: z.string().trim().max(1000) }),
  async ({ agentId, ...edit }, { actor }) => {
    const agent = await updateAgent(agentId, edit, actor);
    revalidatePath("/admin/agents", "layout");
    return { message: `Saved ${agent.displayName}.` };
  },
);

export const setAgentStatusAction = adminAction(
  "agents.set_status",
  z.object({ agentId: id, status: z.enum(["active", "disabled"]) }),
  async ({ agentId, status }, { actor }) => {
    const agent = await setAgentStatus(agentId, status, actor);
    revalidatePath("/admin/agents", "layout");
    return { message: status === "disabled" ? `${agent.displayName} disabled: its next call is refused on every instance.` : `${agent.displayName} enabled.` };
  },
);
