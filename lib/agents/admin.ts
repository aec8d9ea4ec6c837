// Administration of agents (dashboard and CLI): list, pre-register, rename/describe, disable and
// enable, and what an agent used (from the audit log, which records the agent of every decision
// in its own indexed column). Every change is audited.
import { appendAudit } from "@/lib/audit/append";
import { getDb } from "@/lib/db/client";
import { AppError } from "@/lib/errors";
import type { Agent } from "@/lib/generated/prisma/client";
import { newId } from "@/lib/ids";
import { forgetAgents } from "./registry";
import { isSpiffeId } from "./spiffe";

export interface AgentActor {
  type: "admin";
  id: string;
}

export type AgentView = Pick<Agent, "id" | "issuer" | "subject" | "displayName" | "owner" | "description" | "status" | "firstSeenAt" | "lastSeenAt" | "createdAt">;

const view = {
  id: true,
  issuer: true,
  subject: true,
  displayName: true,
  owner: true,
  description: true,
  status: true,
  firstSeenAt: true,
  lastSeenAt: true,
  createdAt: true,
} as const;

const text = (value: string | undefined, max: number, what: string): string | undefined => {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed.length > max || trimmed.includes("\0")) throw new AppError("invalid_request", `${what} is at most ${max} characters`);
  return trimmed;
};

export async function listAgents(filter: { status?: "active" | "disabled"; query?: string } = {}): Promise<AgentView[]> {
  const db = await getDb();
  const q = filter.query?.trim();
  return db.agent.findMany({
    where: {
      status: filter.status,
      ...(q
        ? { OR: [{ displayName: { contains: q, mode: "insensitive" } }, { subject: { contains: q } }, { issuer: { contains: q } }, { owner: { contains: q, mode: "insensitive" } }] }
        : {}),
    },
    orderBy: [{ lastSeenAt: { sort: "desc", nulls: "last" } }, { createdAt: "desc" }],
    take: 500,
    select: view,
  });
}

export async function findAgent(idOrSubject: string): Promise<AgentView | null> {
  if (idOrSubject.includes("\0")) return null;
  const db = await getDb();
  return db.agent.findFirst({ where: { OR: [{ id: idOrSubject }, { subject: idOrSubject }] }, orderBy: { createdAt: "asc" }, select: view });
}

async function requireAgent(idOrSubject: string): Promise<AgentView> {
  const agent = await findAgent(idOrSubject);
  if (!agent) throw new AppError("not_found", "No such agent");
  return agent;
}

export interface AgentDraft {
  issuer: string;
  subject: string;
  displayName?: string;
  owner?: string;
  description?: string;
}

/** Registers an agent before it is first seen (so policy can name it and it has a good name). */
export async function registerAgent(draft: AgentDraft, actor: AgentActor): Promise<AgentView> {
  const issuer = text(draft.issuer, 2048, "issuer");
  const subject = text(draft.subject, 1024, "subject");
  if (!issuer || !subject) throw new AppError("invalid_request", "issuer and subject are required");
  if (subject.startsWith("spiffe:") && !isSpiffeId(subject)) throw new AppError("invalid_request", "subject is not a valid SPIFFE ID");
  const db = await getDb();
  try {
    return await db.$transaction(async (tx) => {
      const agent = await tx.agent.create({
        data: {
          id: newId("agt"),
          issuer,
          subject,
          displayName: text(draft.displayName, 100, "displayName") || subject.slice(0, 100),
          owner: text(draft.owner, 200, "owner") ?? "",
          description: text(draft.description, 1000, "description") ?? "",
        },
        select: view,
      });
      await appendAudit(
        { actorType: "admin", actorId: actor.id, agentId: agent.id, action: "admin.agent_registered", decision: "info", context: { issuer, subject } },
        tx,
      );
      return agent;
    });
  } catch (e) {
    if (e instanceof Error && "code" in e && (e as { code?: string }).code === "P2002") throw new AppError("conflict", "An agent with this issuer and subject exists");
    throw e;
  } finally {
    forgetAgents();
  }
}

export async function updateAgent(idOrSubject: string, edit: { displayName?: string; owner?: string; description?: string }, actor: AgentActor): Promise<AgentView> {
  const agent = await requireAgent(idOrSubject);
  const displayName = text(edit.displayName, 100, "displayName");
  if (displayName === "") throw new AppError("invalid_request", "displayName may not be empty");
  const data = { displayName, owner: text(edit.owner, 200, "owner"), description: text(edit.description, 1000, "description") };
  const changed = Object.entries(data).filter(([k, v]) => v !== undefined && v !== agent[k as keyof typeof data]).map(([k]) => k);
  if (changed.length === 0) return agent;
  const db = await getDb();
  const updated = await db.$transaction(async (tx) => {
    const row = await tx.agent.update({ where: { id: agent.id }, data, select: view });
    await appendAudit({ actorType: "admin", actorId: actor.id, agentId: agent.id, action: "admin.agent_updated", decision: "info", context: { changed } }, tx);
    return row;
  });
  forgetAgents();
  return updated;
}

/** Takes effect on the agent's next call on every instance (the credential query re-reads it). */
export async function setAgentStatus(idOrSubject: string, status: "active" | "disabled", actor: AgentActor): Promise<AgentView> {
  const agent = await requireAgent(idOrSubject);
  const db = await getDb();
  const updated = await db.$transaction(async (tx) => {
    const row = await tx.agent.update({ where: { id: agent.id }, data: { status }, select: view });
    await appendAudit(
      { actorType: "admin", actorId: actor.id, agentId: agent.id, action: status === "disabled" ? "admin.agent_disabled" : "admin.agent_enabled", decision: "info" },
      tx,
    );
    return row;
  });
  forgetAgents();
  return updated;
}

export interface AgentUsageRow {
  providerId: string | null;
  gatewayId: string | null;
  userId: string | null;
  decision: string;
  count: number;
  lastAt: Date;
}

/** What the agent used: decisions grouped by provider, gateway, user and outcome (one index range on agentId). */
export async function agentUsage(agentId: string): Promise<AgentUsageRow[]> {
  const db = await getDb();
  const rows = await db.auditEvent.groupBy({
    by: ["providerId", "gatewayId", "userId", "decision"],
    where: { agentId, action: { in: ["resolve", "token_exchange"] } },
    _count: { _all: true },
    _max: { at: true },
    orderBy: { _max: { at: "desc" } },
    take: 200,
  });
  return rows.map((r) => ({ providerId: r.providerId, gatewayId: r.gatewayId, userId: r.userId, decision: r.decision, count: r._count._all, lastAt: r._max.at! }));
}
