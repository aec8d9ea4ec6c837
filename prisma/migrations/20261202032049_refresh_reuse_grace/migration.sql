-- AlterTable
ALTER TABLE "Provider" ADD COLUMN     "refreshReuseGraceSeconds" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "Grant" ADD COLUMN     "refreshStartedAt" TIMESTAMP(3);

-- CreateIndex
CREATE INDEX "Grant_refreshStartedAt_idx" ON "Grant"("refreshStartedAt");
