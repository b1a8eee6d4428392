-- AlterTable
ALTER TABLE "api_keys" ADD COLUMN     "budget_period" VARCHAR(10),
ADD COLUMN     "budget_usd" DECIMAL(18,6),
ADD COLUMN     "expires_at" TIMESTAMPTZ(3),
ADD COLUMN     "previous_key_expires_at" TIMESTAMPTZ(3),
ADD COLUMN     "previous_key_hash" VARCHAR(64),
ADD COLUMN     "rotated_at" TIMESTAMPTZ(3),
ADD COLUMN     "rpm_limit" INTEGER,
ADD COLUMN     "tpm_limit" INTEGER,
ADD COLUMN     "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "use_case_limits" JSONB;

-- CreateTable
CREATE TABLE "api_key_counters" (
    "key_id" UUID NOT NULL,
    "counter" VARCHAR(120) NOT NULL,
    "window_start" TIMESTAMPTZ(3) NOT NULL,
    "reserved" BIGINT NOT NULL DEFAULT 0,
    "used" BIGINT NOT NULL DEFAULT 0,
    "last_grant" BIGINT NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "api_key_counters_pkey" PRIMARY KEY ("key_id","counter","window_start")
);

-- CreateIndex
CREATE INDEX "idx_api_key_counters_window" ON "api_key_counters"("window_start");

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_previous_key_hash_key" ON "api_keys"("previous_key_hash");

-- AddForeignKey
ALTER TABLE "api_key_counters" ADD CONSTRAINT "api_key_counters_key_id_fkey" FOREIGN KEY ("key_id") REFERENCES "api_keys"("id") ON DELETE CASCADE ON UPDATE CASCADE;

