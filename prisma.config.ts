import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';

// The Prisma CLI runs through the pg driver adapter: Prisma 6.19's classic engines would be
// downloaded from a host this project cannot rely on. DATABASE_URL is set by scripts/with-database-url.sh
// (or by `mms db migrate`) before any prisma command runs.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  engine: 'js',
  experimental: { adapter: true },
  // Without the idle timeout every CLI call keeps its pool open for ~11 s before exiting.
  adapter: async () => new PrismaPg({ connectionString: process.env.DATABASE_URL ?? '', idleTimeoutMillis: 200 }),
});
