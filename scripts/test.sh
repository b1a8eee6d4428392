#!/usr/bin/env bash
# The test command of the README (`npm test`): set-up, then jest on a real Temporal dev server and a
# real PostgreSQL (embedded unless DATABASE_URL is set). Extra arguments go to jest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# No Docker Compose plugin on a test machine: docker-compose.yml is checked with Compose's own loader
# (compose-spec/compose-go, scripts/compose-config), built once and rebuilt when its source changes.
compose_hash=$(cat scripts/compose-config/main.go scripts/compose-config/go.sum | sha256sum | cut -d' ' -f1)
if [ -x .tools/bin/compose-config ] && [ "$(cat .tools/bin/.compose-config-hash 2>/dev/null)" = "$compose_hash" ]; then
  echo "[setup] compose-config: up to date"
else
  echo "[setup] building compose-config (compose-go v2.16.2, the loader of docker compose config)"
  mkdir -p .tools/bin
  (cd scripts/compose-config && go build -o ../../.tools/bin/compose-config .)
  echo "$compose_hash" > .tools/bin/.compose-config-hash
fi
echo "[test] typecheck"
npx tsc --noEmit -p tsconfig.json
echo "[test] lint"
npx eslint . --max-warnings=0
echo "[test] layers (dependency-cruiser: .dependency-cruiser.cjs, .dependency-cruiser-workflows.cjs)"
npm run -s layers
echo "[test] jest $*"
exec npx jest "$@"
