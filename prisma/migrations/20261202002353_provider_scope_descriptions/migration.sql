-- AlterTable
ALTER TABLE "Provider" ADD COLUMN     "scopeDescriptions" JSONB NOT NULL DEFAULT '{}';
