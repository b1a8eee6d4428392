-- CreateTable
CREATE TABLE "model_call_rollups_hourly" (
    "hour" TIMESTAMPTZ(3) NOT NULL,
    "use_case" VARCHAR(100) NOT NULL,
    "model_id" UUID NOT NULL,
    "role" VARCHAR(20) NOT NULL,
    "calls" INTEGER NOT NULL,
    "errors" INTEGER NOT NULL,
    "first_attempt_failures" INTEGER,
    "latency_buckets" INTEGER[],
    "latency_sum_ms" DOUBLE PRECISION NOT NULL,
    "tokens_in" BIGINT NOT NULL,
    "tokens_out" BIGINT NOT NULL,
    "cost_usd" DECIMAL(18,10) NOT NULL,
    "violations" INTEGER NOT NULL,
    "blocked" INTEGER NOT NULL,
    "feedback_count" INTEGER NOT NULL,
    "feedback_score_sum" DOUBLE PRECISION NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "model_call_rollups_hourly_pkey" PRIMARY KEY ("hour","use_case","model_id","role")
);

-- CreateIndex
CREATE INDEX "idx_model_call_rollups_hourly_use_case_hour" ON "model_call_rollups_hourly"("use_case", "hour");


-- Added by hand: the hourly table starts with every hour the per-minute roll-ups already hold, so
-- readRollups (which now reads whole hours from here) returns the same sums right after the upgrade.
-- The sums are those of rollupSumsSql() in src/logs/rollups.ts (10 latency buckets: 9 bounds + overflow).
INSERT INTO "model_call_rollups_hourly" ("hour", "use_case", "model_id", "role", "calls", "errors", "first_attempt_failures", "latency_buckets",
    "latency_sum_ms", "tokens_in", "tokens_out", "cost_usd", "violations", "blocked", "feedback_count", "feedback_score_sum", "updated_at")
SELECT date_bin('1 hour', "minute", '2000-01-01T00:00:00Z'), "use_case", "model_id", "role", sum("calls"), sum("errors"), sum("first_attempt_failures"),
       array[sum("latency_buckets"[1]), sum("latency_buckets"[2]), sum("latency_buckets"[3]), sum("latency_buckets"[4]), sum("latency_buckets"[5]),
             sum("latency_buckets"[6]), sum("latency_buckets"[7]), sum("latency_buckets"[8]), sum("latency_buckets"[9]), sum("latency_buckets"[10])],
       sum("latency_sum_ms"), sum("tokens_in"), sum("tokens_out"), sum("cost_usd"), sum("violations"), sum("blocked"), sum("feedback_count"),
       sum("feedback_score_sum"), now()
  FROM "model_call_rollups"
 GROUP BY 1, 2, 3, 4;
