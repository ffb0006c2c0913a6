#!/usr/bin/env bash
# Idempotent set-up: a .venv with microgradnet and its extras, Graphviz's `dot`, and (for the
# browser tests) Chromium. A warm run compares a checksum and returns at once.
#   MICROGRADNET_EXTRAS  extras to install (default: dev,bench,jupyter,docs)
#   PYTHON               interpreter for the venv (default: python3)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.setup-stamp
EXTRAS=${MICROGRADNET_EXTRAS:-dev,bench,jupyter,docs}

# Installs Debian packages when we may (root, or passwordless sudo); otherwise says what to do.
apt_install() {
    local runner=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            runner=(sudo -n)
        else
            runner=(none)
        fi
    fi
    if [ "${runner[*]:-}" = "none" ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "setup: please install: $* (Debian/Ubuntu: sudo apt-get install $*;" \
            "macOS: brew install graphviz; conda: conda install -c conda-forge graphviz)" >&2
        return 0
    fi
    echo "setup: installing $* with apt-get"
    "${runner[@]}" apt-get update -qq
    "${runner[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

missing=()
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
if [[ "$EXTRAS" == *dev* ]] && ! command -v chromium >/dev/null 2>&1; then
    missing+=(chromium)
fi
# Debian's Python needs python3-venv for `python3 -m venv` (it provides ensurepip).
if [ ! -x "$VENV/bin/python" ] && ! "$PYTHON" -c "import ensurepip" >/dev/null 2>&1; then
    missing+=(python3-venv)
fi
if ((${#missing[@]})); then
    apt_install "${missing[@]}"
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"

want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1) $EXTRAS"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    exit 0
fi
echo "setup: installing microgradnet[$EXTRAS] into $VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[$EXTRAS]"
echo "$want" >"$STAMP"
