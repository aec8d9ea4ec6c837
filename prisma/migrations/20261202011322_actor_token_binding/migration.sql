-- AlterTable
ALTER TABLE "ReplayNonce" ADD COLUMN     "boundTo" TEXT;
