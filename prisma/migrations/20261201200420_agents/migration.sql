-- AlterTable
ALTER TABLE "Provider" ADD COLUMN     "agentsExplicit" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "Gateway" ADD COLUMN     "actorIssuers" JSONB NOT NULL DEFAULT '[]';

-- AlterTable
ALTER TABLE "PolicyRule" ADD COLUMN     "agentIssuer" TEXT,
ADD COLUMN     "agentSubjectPrefix" TEXT,
ADD COLUMN     "agents" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "Elicitation" ADD COLUMN     "agentId" TEXT;

-- AlterTable
ALTER TABLE "AuditEvent" ADD COLUMN     "agentId" TEXT;

-- CreateTable
CREATE TABLE "Agent" (
    "id" TEXT NOT NULL,
    "issuer" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "displayName" TEXT NOT NULL,
    "owner" TEXT NOT NULL DEFAULT '',
    "description" TEXT NOT NULL DEFAULT '',
    "status" "ActiveStatus" NOT NULL DEFAULT 'active',
    "firstSeenAt" TIMESTAMP(3),
    "lastSeenAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Agent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Agent_lastSeenAt_idx" ON "Agent"("lastSeenAt");

-- CreateIndex
CREATE UNIQUE INDEX "Agent_issuer_subject_key" ON "Agent"("issuer", "subject");

-- CreateIndex
CREATE INDEX "AuditEvent_agentId_seq_idx" ON "AuditEvent"("agentId", "seq");

-- AddForeignKey
ALTER TABLE "Elicitation" ADD CONSTRAINT "Elicitation_agentId_fkey" FOREIGN KEY ("agentId") REFERENCES "Agent"("id") ON DELETE SET NULL ON UPDATE CASCADE;
