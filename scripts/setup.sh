#!/usr/bin/env bash
# Idempotent set-up: a .venv with microgradnet and its extras, Graphviz's `dot`, and (for the
# browser tests) Chromium. A warm run is a checksum comparison and returns at once.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.setup-stamp
EXTRAS=${MICROGRADNET_EXTRAS:-dev,bench,jupyter}

need_apt=()
command -v dot >/dev/null 2>&1 || need_apt+=(graphviz)
if [[ "$EXTRAS" == *dev* ]] && ! command -v chromium >/dev/null 2>&1; then
    need_apt+=(chromium)
fi
if ((${#need_apt[@]})); then
    if [ "$(id -u)" -eq 0 ]; then
        sudo_cmd=()
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo_cmd=(sudo -n)
    else
        sudo_cmd=""
    fi
    if [ -n "${sudo_cmd+set}" ] && [ "${sudo_cmd:-x}" != "" ]; then
        echo "setup: installing ${need_apt[*]} with apt-get"
        "${sudo_cmd[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need_apt[@]}" >/dev/null
    else
        echo "setup: please install ${need_apt[*]} (Debian/Ubuntu: sudo apt-get install ${need_apt[*]};" \
             "macOS: brew install graphviz; conda: conda install -c conda-forge graphviz)" >&2
    fi
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"

want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1) $EXTRAS"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    exit 0
fi
echo "setup: installing microgradnet[$EXTRAS] into $VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[$EXTRAS]"
echo "$want" > "$STAMP"
