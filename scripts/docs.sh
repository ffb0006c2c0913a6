#!/usr/bin/env bash
# The documentation site (MkDocs, configured in mkdocs.yml; pages in docs/).
#   bash scripts/docs.sh               serve it at http://127.0.0.1:8000, rebuilt as files change
#   bash scripts/docs.sh build [DIR]   build it with --strict into DIR (default: build/site)
# Extra arguments after `serve` go to `mkdocs serve` (e.g. --dev-addr 127.0.0.1:8001).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export NO_MKDOCS_2_WARNING=1
case "${1:-serve}" in
    build)
        exec .venv/bin/mkdocs build --strict --site-dir "${2:-build/site}"
        ;;
    serve)
        shift $(($# > 0 ? 1 : 0))
        exec .venv/bin/mkdocs serve --dev-addr 127.0.0.1:8000 "$@"
        ;;
    *)
        echo "usage: bash scripts/docs.sh [serve [MKDOCS_ARGS...] | build [DIR]]" >&2
        exit 2
        ;;
esac
