-- AlterTable
ALTER TABLE "model_historical_logs" ADD COLUMN     "attempts" SMALLINT,
ADD COLUMN     "first_attempt_error_class" VARCHAR(50);

-- AlterTable
ALTER TABLE "model_historical_logs_long_term" ADD COLUMN     "attempts" SMALLINT,
ADD COLUMN     "first_attempt_error_class" VARCHAR(50);

