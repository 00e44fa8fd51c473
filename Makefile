# tranquillite — all set-up goes through here: a fresh machine needs only Python 3.11 and make.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export TRANQUILLITE_HOME ?= $(CURDIR)/data
export DAGSTER_HOME := $(TRANQUILLITE_HOME)/dagster
# test workers (2 cores on CI)
WORKERS ?= 2

.PHONY: install demo test ui lock clean-data help

help:
	@echo "make demo   — installe, génère un an de données synthétiques, matérialise tout le graphe"
	@echo "make test   — toute la suite de tests"
	@echo "make ui     — interface Dagster (http://127.0.0.1:3000) sur les données de \$$TRANQUILLITE_HOME"

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

install: $(BIN)/.installed

demo: install
	@start=$$(date +%s); \
	$(BIN)/tranquillite generate && \
	$(BIN)/tranquillite materialize && \
	$(BIN)/tranquillite summary && \
	echo && echo "make demo: $$(( $$(date +%s) - start )) s — données dans $(TRANQUILLITE_HOME); 'make ui' pour les voir dans Dagster"

test: install
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadfile -q

ui: install
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

lock:
	$(BIN)/pip freeze --exclude-editable | { echo "# Pinned dependency versions (pip constraints), Python 3.11. Regenerate: make lock"; cat; } > constraints.txt

clean-data:
	rm -rf $(TRANQUILLITE_HOME)
