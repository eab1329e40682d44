# The two commands of the README: `make run` (install and start the studio) and `make test`.
VENV ?= .venv

.PHONY: run test install install-dev
run: install
	$(VENV)/bin/python app.py

test: install-dev
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider

install:
	VENV=$(VENV) scripts/install.sh

install-dev:
	VENV=$(VENV) scripts/install.sh dev
