-- CreateEnum
CREATE TYPE "CrossAppAccessMode" AS ENUM ('off', 'when_advertised', 'always');

-- CreateEnum
CREATE TYPE "CrossAppAccessFallback" AS ENUM ('deny', 'consent');

-- AlterEnum
ALTER TYPE "ApprovalSource" ADD VALUE 'cross_app_access';

-- AlterTable
ALTER TABLE "Provider" ADD COLUMN     "crossAppAccess" "CrossAppAccessMode" NOT NULL DEFAULT 'off',
ADD COLUMN     "crossAppAccessFallback" "CrossAppAccessFallback" NOT NULL DEFAULT 'deny';
