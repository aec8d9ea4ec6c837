-- AlterTable
ALTER TABLE "OAuthTransaction" ADD COLUMN     "delegateDays" INTEGER;
