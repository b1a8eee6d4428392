-- CreateIndex
-- Edited by hand: the index is PARTIAL (Prisma's schema cannot say so). Retention drops a day partition
-- after copying the rows that outlive it, and without this index finding them scanned the whole day (1.0-1.3 s
-- for a 461 MB day of 333,000 rows, of which 3 % are kept). The predicate is LONG_LIVED_LOGS_SQL in
-- src/logs/partitions.ts, written identically so the planner matches it. Only ~3 % of inserts touch it.
CREATE INDEX "idx_historical_logs_long_lived" ON "model_historical_logs"("timestamp")
  WHERE "user_feedback" IS NOT NULL OR "feedback_score" IS NOT NULL OR "corrected_output" IS NOT NULL OR "guardrail_verdict" IN ('redacted', 'blocked');
