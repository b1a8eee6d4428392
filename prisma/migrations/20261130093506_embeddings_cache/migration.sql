-- CreateTable
CREATE TABLE "embeddings" (
    "model_key" VARCHAR(512) NOT NULL,
    "content_hash" VARCHAR(64) NOT NULL,
    "vector" REAL[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "embeddings_pkey" PRIMARY KEY ("model_key","content_hash")
);

