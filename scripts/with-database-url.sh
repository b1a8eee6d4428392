#!/usr/bin/env bash
# Runs a prisma CLI command. Every prisma command, even `generate`, needs DATABASE_URL set, or Prisma
# tries to download engines; commands that do not connect get a placeholder.
set -euo pipefail
cd "$(dirname "$0")/.."
export DATABASE_URL="${DATABASE_URL:-postgresql://placeholder@127.0.0.1:1/placeholder}"
export PRISMA_HIDE_UPDATE_MESSAGE=1 CHECKPOINT_DISABLE=1
exec node node_modules/prisma/build/index.js "$@"
