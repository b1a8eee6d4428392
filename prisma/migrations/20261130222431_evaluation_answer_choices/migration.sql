-- AlterTable
ALTER TABLE "evaluation_answers" ADD COLUMN     "choices" INTEGER NOT NULL DEFAULT 1;

