-- AlterTable
ALTER TABLE "evaluations" ADD COLUMN     "budget_id" UUID;

-- CreateTable
CREATE TABLE "spending_budgets" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "purpose" VARCHAR(255) NOT NULL,
    "cap_usd" DOUBLE PRECISION NOT NULL,
    "spent_usd" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "reserved_usd" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "calls" INTEGER NOT NULL DEFAULT 0,
    "refused" INTEGER NOT NULL DEFAULT 0,
    "prices" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "spending_budgets_pkey" PRIMARY KEY ("id")
);

