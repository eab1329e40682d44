# The two commands of the README: `make run` (install and start the studio) and `make test`.
VENV ?= .venv
VLLM_VENV ?= .venv-vllm

.PHONY: run test lint install install-dev install-vllm
run: install
	$(VENV)/bin/python app.py

# One torch thread in tests: the model, the Gradio server and Chromium share the CPU there, and
# torch's spin-waiting threads lose most of their speed when another process wants a core.
# The vLLM tests start a server from the second environment (vLLM pins its own torch and transformers).
test: lint install-vllm
	OMP_NUM_THREADS=1 VLLM_TEST_PYTHON=$(VLLM_VENV)/bin/python $(VENV)/bin/python -m pytest -q -p no:cacheprovider --durations=30

# Lint and format check first: seconds, and a failure there is cheaper to read than a test's.
lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

install:
	VENV=$(VENV) scripts/install.sh

install-dev:
	VENV=$(VENV) scripts/install.sh dev

install-vllm:
	VLLM_VENV=$(VLLM_VENV) scripts/install.sh vllm
