-- CreateEnum
CREATE TYPE "ApprovalSource" AS ENUM ('user', 'policy', 'migrated');

-- AlterTable
ALTER TABLE "PolicyRule" ADD COLUMN     "preApproved" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "RequesterApproval" (
    "id" TEXT NOT NULL,
    "grantId" TEXT NOT NULL,
    "gatewayId" TEXT NOT NULL,
    "agentId" TEXT,
    "approvedBy" "ApprovalSource" NOT NULL,
    "approvedById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMP(3),
    "withdrawnAt" TIMESTAMP(3),
    "withdrawnById" TEXT,

    CONSTRAINT "RequesterApproval_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Delegation" (
    "id" TEXT NOT NULL,
    "grantId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "providerId" TEXT NOT NULL,
    "agentId" TEXT NOT NULL,
    "scopes" TEXT[],
    "gatewayId" TEXT,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "revokedAt" TIMESTAMP(3),
    "revokedById" TEXT,
    "firstUsedAt" TIMESTAMP(3),
    "lastUsedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Delegation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "RequesterApproval_grantId_gatewayId_agentId_idx" ON "RequesterApproval"("grantId", "gatewayId", "agentId");

-- CreateIndex
CREATE INDEX "RequesterApproval_gatewayId_idx" ON "RequesterApproval"("gatewayId");

-- CreateIndex
CREATE INDEX "Delegation_userId_agentId_idx" ON "Delegation"("userId", "agentId");

-- CreateIndex
CREATE INDEX "Delegation_agentId_idx" ON "Delegation"("agentId");

-- CreateIndex
CREATE INDEX "Delegation_grantId_idx" ON "Delegation"("grantId");

-- CreateIndex
CREATE INDEX "Delegation_createdAt_idx" ON "Delegation"("createdAt");

-- AddForeignKey
ALTER TABLE "RequesterApproval" ADD CONSTRAINT "RequesterApproval_grantId_fkey" FOREIGN KEY ("grantId") REFERENCES "Grant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RequesterApproval" ADD CONSTRAINT "RequesterApproval_gatewayId_fkey" FOREIGN KEY ("gatewayId") REFERENCES "Gateway"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RequesterApproval" ADD CONSTRAINT "RequesterApproval_agentId_fkey" FOREIGN KEY ("agentId") REFERENCES "Agent"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Delegation" ADD CONSTRAINT "Delegation_grantId_fkey" FOREIGN KEY ("grantId") REFERENCES "Grant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Delegation" ADD CONSTRAINT "Delegation_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Delegation" ADD CONSTRAINT "Delegation_providerId_fkey" FOREIGN KEY ("providerId") REFERENCES "Provider"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Delegation" ADD CONSTRAINT "Delegation_agentId_fkey" FOREIGN KEY ("agentId") REFERENCES "Agent"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Delegation" ADD CONSTRAINT "Delegation_gatewayId_fkey" FOREIGN KEY ("gatewayId") REFERENCES "Gateway"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Per-requester consent starts from what already happened, so existing connections keep working
-- for the requesters that already used them: every gateway that received a grant's credential
-- (allowed resolve / token-exchange audit events, Grant.lastUsedGatewayId) or whose request
-- created or extended it (completed elicitations) is recorded as approved, marked 'migrated'.
-- Revoked grants get none: reconnecting asks afresh.
INSERT INTO "RequesterApproval" ("id", "grantId", "gatewayId", "agentId", "approvedBy", "createdAt", "lastUsedAt")
SELECT 'apr_' || replace(gen_random_uuid()::text, '-', ''), s."grantId", s."gatewayId", NULL, 'migrated', CURRENT_TIMESTAMP, max(s."usedAt")
FROM (
  SELECT g."id" AS "grantId", g."lastUsedGatewayId" AS "gatewayId", g."lastUsedAt" AS "usedAt"
  FROM "Grant" g
  WHERE g."status" <> 'revoked' AND g."lastUsedGatewayId" IS NOT NULL
  UNION ALL
  SELECT g."id", e."gatewayId", NULL
  FROM "Elicitation" e
  JOIN "User" u ON u."issuer" = e."userIssuer" AND u."subject" = e."userSubject"
  JOIN "Grant" g ON g."userId" = u."id" AND g."providerId" = e."providerId"
  WHERE e."status" = 'completed' AND g."status" <> 'revoked'
  UNION ALL
  SELECT g."id", a."gatewayId", a."at"
  FROM "AuditEvent" a
  JOIN "Grant" g ON g."id" = a."context"->>'grantId'
  WHERE a."action" IN ('resolve', 'token_exchange') AND a."decision" = 'allow' AND a."gatewayId" IS NOT NULL
    AND g."status" <> 'revoked'
) s
JOIN "Gateway" gw ON gw."id" = s."gatewayId"
GROUP BY s."grantId", s."gatewayId";
