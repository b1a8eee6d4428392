#!/usr/bin/env bash
# The test command of the README (`npm test`): set-up, then jest on a real Temporal dev server and a
# real PostgreSQL (embedded unless DATABASE_URL is set). Extra arguments go to jest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "[test] typecheck"
npx tsc --noEmit -p tsconfig.json
echo "[test] lint"
npx eslint . --max-warnings=0
echo "[test] layers (dependency-cruiser: .dependency-cruiser.cjs, .dependency-cruiser-workflows.cjs)"
npm run -s layers
echo "[test] jest $*"
exec npx jest "$@"
