#!/usr/bin/env bash
# The main job: set up, then run `microgradnet demo` (output in ./demo-output unless given --out).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/microgradnet demo --out "${1:-demo-output}"
