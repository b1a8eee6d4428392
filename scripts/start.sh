#!/usr/bin/env bash
# The run command of the README (`npm start`): set-up, then `mms dev` on the embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/mms.js dev "$@"
