-- AlterTable
ALTER TABLE "embeddings" ADD COLUMN     "last_used_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateIndex
CREATE INDEX "embeddings_last_used_at_idx" ON "embeddings"("last_used_at");

