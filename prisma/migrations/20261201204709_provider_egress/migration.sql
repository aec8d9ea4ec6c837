-- AlterTable
ALTER TABLE "Provider" ADD COLUMN     "allowPrivateNetwork" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "requestRules" JSONB NOT NULL DEFAULT '{}';
