-- CreateTable
CREATE TABLE "RequestStateKey" (
    "id" TEXT NOT NULL,
    "keyCipher" TEXT NOT NULL,
    "wrappedKey" TEXT NOT NULL,
    "keyVersion" TEXT NOT NULL,
    "status" "ActiveStatus" NOT NULL DEFAULT 'active',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RequestStateKey_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "RequestStateKey_status_createdAt_idx" ON "RequestStateKey"("status", "createdAt");
