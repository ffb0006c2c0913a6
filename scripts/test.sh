#!/usr/bin/env bash
# Runs the whole test suite: the type check (mypy --strict, configured in pyproject.toml), the
# documentation site's build (mkdocs build --strict: broken links, missing references and
# unreadable docstrings fail; its pages run their examples), then unit, property-based, PyTorch
# reference, browser and notebook tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "test: mypy --strict microgradnet"
.venv/bin/mypy
echo "test: mkdocs build --strict (the documentation site, into a temporary folder)"
docs_site=$(mktemp -d)
trap 'rm -rf "$docs_site"' EXIT
# The notebooks are not run for this build: pytest runs each of them below (nbmake).
DOCS_EXECUTE_NOTEBOOKS=false NO_MKDOCS_2_WARNING=1 \
    .venv/bin/mkdocs build --strict --site-dir "$docs_site"
rm -rf "$docs_site"
trap - EXIT
export HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-ci}
export TQDM_DISABLE=${TQDM_DISABLE:-1}
exec .venv/bin/python -m pytest -n 2 --dist loadfile tests notebooks --nbmake --nbmake-kernel=python3 "$@"
