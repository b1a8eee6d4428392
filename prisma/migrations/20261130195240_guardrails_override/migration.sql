-- AlterTable
ALTER TABLE "use_cases" ADD COLUMN     "guardrails_override" JSONB;

