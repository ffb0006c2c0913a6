#!/usr/bin/env bash
# Runs the whole test suite: the type check (mypy --strict, configured in pyproject.toml), then
# unit, property-based, PyTorch reference, browser and notebook tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "test: mypy --strict microgradnet"
.venv/bin/mypy
export HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-ci}
export TQDM_DISABLE=${TQDM_DISABLE:-1}
exec .venv/bin/python -m pytest -n 2 --dist loadfile tests notebooks --nbmake --nbmake-kernel=python3 "$@"
