-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "models" (
    "model_id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "model_name" VARCHAR(255) NOT NULL,
    "model_type" VARCHAR(50) NOT NULL,
    "provider" VARCHAR(100),
    "use_case" VARCHAR(100) NOT NULL,
    "version" VARCHAR(50) NOT NULL,
    "status" VARCHAR(20) NOT NULL,
    "model_path" TEXT,
    "configuration" JSONB,
    "performance_metrics" JSONB,
    "upstream_model" VARCHAR(255),
    "base_model_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "models_pkey" PRIMARY KEY ("model_id")
);

-- CreateTable
CREATE TABLE "model_historical_logs" (
    "log_id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "model_id" UUID,
    "use_case" VARCHAR(100),
    "prompt" TEXT NOT NULL,
    "context" JSONB,
    "generated_output" TEXT NOT NULL,
    "user_feedback" JSONB,
    "corrected_output" TEXT,
    "performance_metrics" JSONB,
    "timestamp" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "request_id" VARCHAR(64),
    "role" VARCHAR(20),
    "allocation_version" INTEGER,
    "status" VARCHAR(20),
    "error_class" VARCHAR(50),
    "latency_ms" DOUBLE PRECISION,
    "ttft_ms" DOUBLE PRECISION,
    "tokens_in" INTEGER,
    "tokens_out" INTEGER,
    "cost_usd" DECIMAL(18,10),
    "guardrail_verdict" VARCHAR(20),
    "sticky_key_hash" VARCHAR(64),
    "feedback_score" DOUBLE PRECISION,
    "feedback_at" TIMESTAMPTZ(3),

    CONSTRAINT "model_historical_logs_pkey" PRIMARY KEY ("log_id")
);

-- CreateTable
CREATE TABLE "model_snapshots" (
    "snapshot_id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "model_id" UUID,
    "snapshot_name" VARCHAR(255),
    "model_state_path" TEXT NOT NULL,
    "configuration" JSONB NOT NULL,
    "performance_metrics" JSONB,
    "traffic_allocation" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "use_case_id" VARCHAR(100) NOT NULL,
    "allocation_version" INTEGER,
    "is_stable" BOOLEAN NOT NULL DEFAULT false,
    "reason" TEXT,
    "request_key" VARCHAR(255),

    CONSTRAINT "model_snapshots_pkey" PRIMARY KEY ("snapshot_id")
);

-- CreateTable
CREATE TABLE "guardrails_violations" (
    "violation_id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "model_id" UUID,
    "violation_type" VARCHAR(50),
    "severity" VARCHAR(20),
    "violation_details" JSONB,
    "output_sample" TEXT,
    "intervention_taken" VARCHAR(100),
    "timestamp" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "use_case_id" VARCHAR(100),
    "log_id" UUID,

    CONSTRAINT "guardrails_violations_pkey" PRIMARY KEY ("violation_id")
);

-- CreateTable
CREATE TABLE "model_deployments" (
    "deployment_id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "model_id" UUID,
    "deployment_type" VARCHAR(50),
    "status" VARCHAR(20),
    "traffic_percentage" INTEGER DEFAULT 0,
    "start_time" TIMESTAMPTZ(3) DEFAULT CURRENT_TIMESTAMP,
    "completion_time" TIMESTAMPTZ(3),
    "rollback_reason" TEXT,
    "use_case_id" VARCHAR(100),
    "previous_model_id" UUID,
    "snapshot_id" UUID,
    "workflow_id" VARCHAR(255),
    "details" JSONB,
    "request_key" VARCHAR(255),

    CONSTRAINT "model_deployments_pkey" PRIMARY KEY ("deployment_id")
);

-- CreateTable
CREATE TABLE "use_cases" (
    "id" VARCHAR(100) NOT NULL,
    "kind" VARCHAR(20) NOT NULL,
    "description" TEXT,
    "temperature" DOUBLE PRECISION NOT NULL,
    "max_tokens" INTEGER NOT NULL,
    "system_prompt_template" TEXT NOT NULL,
    "sampling_params" JSONB NOT NULL DEFAULT '{}',
    "fallback_model_id" UUID,
    "config_hash" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "use_cases_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "traffic_allocations" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "use_case_id" VARCHAR(100) NOT NULL,
    "version" INTEGER NOT NULL,
    "entries" JSONB NOT NULL,
    "reason" TEXT NOT NULL,
    "created_by" VARCHAR(255) NOT NULL,
    "request_key" VARCHAR(255),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "traffic_allocations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "evaluations" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "use_case_id" VARCHAR(100) NOT NULL,
    "candidate_model_id" UUID NOT NULL,
    "current_model_id" UUID,
    "kind" VARCHAR(50) NOT NULL,
    "status" VARCHAR(20) NOT NULL,
    "meets_threshold" BOOLEAN,
    "similarity_score" DOUBLE PRECISION,
    "results" JSONB,
    "workflow_id" VARCHAR(255),
    "request_key" VARCHAR(255),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "evaluations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "training_jobs" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "base_model_id" UUID NOT NULL,
    "use_case_id" VARCHAR(100) NOT NULL,
    "method" VARCHAR(20) NOT NULL,
    "status" VARCHAR(20) NOT NULL,
    "dataset_ref" TEXT,
    "params" JSONB NOT NULL DEFAULT '{}',
    "metrics" JSONB,
    "output_model_id" UUID,
    "output_path" TEXT,
    "error" TEXT,
    "workflow_id" VARCHAR(255),
    "request_key" VARCHAR(255),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "training_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "discovered_candidates" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "source" VARCHAR(50) NOT NULL,
    "external_id" VARCHAR(255) NOT NULL,
    "use_case_id" VARCHAR(100) NOT NULL,
    "metadata" JSONB NOT NULL,
    "score" DOUBLE PRECISION,
    "score_breakdown" JSONB,
    "rank" INTEGER,
    "discovered_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "discovered_candidates_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "optimization_decisions" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "use_case_id" VARCHAR(100) NOT NULL,
    "decision_type" VARCHAR(50) NOT NULL,
    "target_model_id" UUID,
    "current_model_id" UUID,
    "reason" TEXT NOT NULL,
    "details" JSONB,
    "status" VARCHAR(20) NOT NULL,
    "workflow_id" VARCHAR(255),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "executed_at" TIMESTAMPTZ(3),

    CONSTRAINT "optimization_decisions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" VARCHAR(255) NOT NULL,
    "key_hash" VARCHAR(64) NOT NULL,
    "key_prefix" VARCHAR(16) NOT NULL,
    "use_cases" TEXT[],
    "scopes" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "idx_models_use_case_status" ON "models"("use_case", "status");

-- CreateIndex
CREATE INDEX "idx_models_type_status" ON "models"("model_type", "status");

-- CreateIndex
CREATE UNIQUE INDEX "models_model_name_version_use_case_key" ON "models"("model_name", "version", "use_case");

-- CreateIndex
CREATE UNIQUE INDEX "model_historical_logs_request_id_key" ON "model_historical_logs"("request_id");

-- CreateIndex
CREATE INDEX "idx_historical_logs_model_time" ON "model_historical_logs"("model_id", "timestamp" DESC);

-- CreateIndex
CREATE INDEX "idx_historical_logs_use_case_time" ON "model_historical_logs"("use_case", "timestamp");

-- CreateIndex
CREATE UNIQUE INDEX "model_snapshots_request_key_key" ON "model_snapshots"("request_key");

-- CreateIndex
CREATE INDEX "idx_model_snapshots_model_time" ON "model_snapshots"("model_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "idx_model_snapshots_use_case_time" ON "model_snapshots"("use_case_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "idx_guardrails_violations_model_time" ON "guardrails_violations"("model_id", "timestamp" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "model_deployments_request_key_key" ON "model_deployments"("request_key");

-- CreateIndex
CREATE INDEX "idx_model_deployments_use_case_time" ON "model_deployments"("use_case_id", "start_time" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "traffic_allocations_request_key_key" ON "traffic_allocations"("request_key");

-- CreateIndex
CREATE UNIQUE INDEX "traffic_allocations_use_case_id_version_key" ON "traffic_allocations"("use_case_id", "version");

-- CreateIndex
CREATE UNIQUE INDEX "evaluations_request_key_key" ON "evaluations"("request_key");

-- CreateIndex
CREATE INDEX "evaluations_use_case_id_created_at_idx" ON "evaluations"("use_case_id", "created_at" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "training_jobs_request_key_key" ON "training_jobs"("request_key");

-- CreateIndex
CREATE INDEX "training_jobs_use_case_id_created_at_idx" ON "training_jobs"("use_case_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "discovered_candidates_use_case_id_score_idx" ON "discovered_candidates"("use_case_id", "score" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "discovered_candidates_source_external_id_use_case_id_key" ON "discovered_candidates"("source", "external_id", "use_case_id");

-- CreateIndex
CREATE INDEX "optimization_decisions_use_case_id_created_at_idx" ON "optimization_decisions"("use_case_id", "created_at" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_key_hash_key" ON "api_keys"("key_hash");

-- AddForeignKey
ALTER TABLE "models" ADD CONSTRAINT "models_base_model_id_fkey" FOREIGN KEY ("base_model_id") REFERENCES "models"("model_id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "model_historical_logs" ADD CONSTRAINT "model_historical_logs_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "models"("model_id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "model_snapshots" ADD CONSTRAINT "model_snapshots_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "models"("model_id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "model_snapshots" ADD CONSTRAINT "model_snapshots_use_case_id_fkey" FOREIGN KEY ("use_case_id") REFERENCES "use_cases"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "guardrails_violations" ADD CONSTRAINT "guardrails_violations_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "models"("model_id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "model_deployments" ADD CONSTRAINT "model_deployments_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "models"("model_id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "traffic_allocations" ADD CONSTRAINT "traffic_allocations_use_case_id_fkey" FOREIGN KEY ("use_case_id") REFERENCES "use_cases"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

