-- AlterTable
ALTER TABLE "evaluations" ADD COLUMN     "suite_hash" VARCHAR(64);

-- CreateTable
CREATE TABLE "evaluation_prompts" (
    "hash" VARCHAR(64) NOT NULL,
    "messages" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "evaluation_prompts_pkey" PRIMARY KEY ("hash")
);

-- CreateTable
CREATE TABLE "evaluation_suites" (
    "hash" VARCHAR(64) NOT NULL,
    "use_case_id" VARCHAR(100) NOT NULL,
    "items" JSONB NOT NULL,
    "spec" JSONB NOT NULL,
    "prompt_count" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "evaluation_suites_pkey" PRIMARY KEY ("hash")
);

-- CreateTable
CREATE TABLE "evaluation_answers" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "model_key" VARCHAR(512) NOT NULL,
    "prompt_hash" VARCHAR(64) NOT NULL,
    "params_hash" VARCHAR(64) NOT NULL,
    "sample" INTEGER NOT NULL,
    "content" TEXT NOT NULL,
    "finish_reason" VARCHAR(20),
    "latency_ms" DOUBLE PRECISION NOT NULL,
    "tokens_in" INTEGER,
    "tokens_out" INTEGER,
    "cost_usd" DECIMAL(18,10),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "evaluation_answers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "evaluation_prompt_results" (
    "evaluation_id" UUID NOT NULL,
    "item_index" INTEGER NOT NULL,
    "prompt_hash" VARCHAR(64) NOT NULL,
    "kind" VARCHAR(20) NOT NULL,
    "details" JSONB NOT NULL,
    "current_embedding" REAL[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "evaluation_prompt_results_pkey" PRIMARY KEY ("evaluation_id","item_index")
);

-- CreateIndex
CREATE INDEX "evaluation_suites_use_case_id_created_at_idx" ON "evaluation_suites"("use_case_id", "created_at" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "evaluation_answers_model_key_prompt_hash_params_hash_sample_key" ON "evaluation_answers"("model_key", "prompt_hash", "params_hash", "sample");

-- AddForeignKey
ALTER TABLE "evaluations" ADD CONSTRAINT "evaluations_suite_hash_fkey" FOREIGN KEY ("suite_hash") REFERENCES "evaluation_suites"("hash") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "evaluation_prompt_results" ADD CONSTRAINT "evaluation_prompt_results_evaluation_id_fkey" FOREIGN KEY ("evaluation_id") REFERENCES "evaluations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

