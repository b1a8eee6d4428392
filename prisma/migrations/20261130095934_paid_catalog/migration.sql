-- CreateTable
CREATE TABLE "paid_catalog_scans" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),
    "providers" JSONB NOT NULL,

    CONSTRAINT "paid_catalog_scans_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "paid_catalog_entries" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "scan_id" UUID NOT NULL,
    "provider" VARCHAR(100) NOT NULL,
    "kind" VARCHAR(20) NOT NULL,
    "upstream_id" VARCHAR(255) NOT NULL,
    "display_name" VARCHAR(255),
    "context_length" INTEGER,
    "max_output_tokens" INTEGER,
    "input_per_mtok" DOUBLE PRECISION,
    "output_per_mtok" DOUBLE PRECISION,
    "price_source" VARCHAR(300),
    "capabilities" JSONB NOT NULL,
    "upstream_created_at" TIMESTAMPTZ(3),
    "shutdown_at" TIMESTAMPTZ(3),
    "shutdown_source" VARCHAR(300),

    CONSTRAINT "paid_catalog_entries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "paid_catalog_changes" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "scan_id" UUID NOT NULL,
    "provider" VARCHAR(100) NOT NULL,
    "upstream_id" VARCHAR(255) NOT NULL,
    "change" VARCHAR(30) NOT NULL,
    "before" JSONB,
    "after" JSONB,

    CONSTRAINT "paid_catalog_changes_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "paid_catalog_scans_started_at_idx" ON "paid_catalog_scans"("started_at" DESC);

-- CreateIndex
CREATE INDEX "paid_catalog_entries_provider_upstream_id_idx" ON "paid_catalog_entries"("provider", "upstream_id");

-- CreateIndex
CREATE UNIQUE INDEX "paid_catalog_entries_scan_id_provider_upstream_id_key" ON "paid_catalog_entries"("scan_id", "provider", "upstream_id");

-- CreateIndex
CREATE INDEX "paid_catalog_changes_scan_id_idx" ON "paid_catalog_changes"("scan_id");

-- AddForeignKey
ALTER TABLE "paid_catalog_entries" ADD CONSTRAINT "paid_catalog_entries_scan_id_fkey" FOREIGN KEY ("scan_id") REFERENCES "paid_catalog_scans"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "paid_catalog_changes" ADD CONSTRAINT "paid_catalog_changes_scan_id_fkey" FOREIGN KEY ("scan_id") REFERENCES "paid_catalog_scans"("id") ON DELETE CASCADE ON UPDATE CASCADE;

