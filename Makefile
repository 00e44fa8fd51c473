# tranquillite — all set-up goes through here: a fresh machine needs only Python 3.11 and make.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export TRANQUILLITE_HOME ?= $(CURDIR)/data
export DAGSTER_HOME := $(TRANQUILLITE_HOME)/dagster
# test workers (2 cores on CI)
WORKERS ?= 2
# `require`: the PostgreSQL, browser and TLS-proxy tests fail when their Debian package is missing
# (tests/system.py); `make test SYSTEM_TESTS=skip` skips them instead, with their reason
SYSTEM_TESTS ?= require
# what a system package target does when it cannot install its package
define missing_package
if [ "$(SYSTEM_TESTS)" = skip ]; then echo "$(1) absent: ses tests seront ignorés (SYSTEM_TESTS=skip)"; \
else echo "$(1) absent et non installable ici (root et apt-get requis): installer le paquet Debian $(2), ou 'make test SYSTEM_TESTS=skip'" >&2; exit 1; fi
endef

.PHONY: install demo test check ui app browser postgres proxy lock clean-data help bench bench-forecast bench-map bench-pii bench-destruction bench-real bench-models bench-store bench-calibration

help:
	@echo "make demo   — installe, génère un an de données synthétiques, matérialise tout le graphe"
	@echo "make test   — toute la suite de tests"
	@echo "make ui     — Dagster (http://127.0.0.1:3000) et l'application (http://127.0.0.1:8501)"
	@echo "make app    — l'application Streamlit seule"
	@echo "make bench          — objectifs de l'issue 14 (cycle quotidien, année publiée, démo, imports, carte; BENCH_YEARS=8: 8 ans et la ville réelle) contre le plancher"
	@echo "make bench-forecast — banc d'essai des prévisions sur l'année de démonstration (réutilise 'make demo')"
	@echo "make bench-map      — banc d'essai des requêtes de la carte (après 'make demo')"
	@echo "make bench-models   — prédicteurs sur des faits réels (FILE=…, Toronto par défaut): semaine et jour suivants"
	@echo "make bench-calibration — monde synthétique contre données réelles (Toronto par défaut, FILE=…): concentration, stabilité, Knox, avance de l'oracle"
	@echo "make bench-pii      — détecteur de données personnelles: précision/rappel par type vs ancien garde, débit"
	@echo "make bench-destruction — durée de destruction des données de la Préfecture sur une année (copie du home)"
	@echo "make bench-store    — magasin de l'application: SQLite et PostgreSQL (journal d'accès, 1 et 2 processus)"
	@echo "make bench-real FILE=… TIMEZONE=… [AREA=…] [SINCE=…] — banc d'essai des prévisions sur des données réelles, de bout en bout"

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

install: $(BIN)/.installed

demo: install
	@umask 077; start=$$(date +%s); \
	$(BIN)/tranquillite generate && \
	$(BIN)/tranquillite materialize && \
	$(BIN)/python -m tranquillite.app_core.seed_demo && \
	$(BIN)/tranquillite summary && \
	echo && echo "make demo: $$(( $$(date +%s) - start )) s — données dans $(TRANQUILLITE_HOME); 'make ui' pour les voir dans Dagster"

test: install browser postgres proxy check
	TRANQUILLITE_SYSTEM_TESTS=$(SYSTEM_TESTS) $(BIN)/python -m pytest -n $(WORKERS) --dist loadfile -q --durations=25

# lint (ruff: pyflakes, pycodestyle errors, bugbear), the format (`ruff format .` rewrites what it
# refuses) and the code location loaded as Dagster loads it, on the instance the services use
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@$(BIN)/tranquillite instance >/dev/null
	DAGSTER_DISABLE_TELEMETRY=1 $(BIN)/dg check defs

# Dagster UI + daemon (sensors, automation) and the restitution app, stopped together by Ctrl-C;
# runs launched there record a range as `tranquillite materialize` does (tranquillite/runner.py)
ui: export DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS = 1
ui: export DAGSTER_EVENT_BATCH_SIZE = 1000
ui: install
	umask 077; $(BIN)/tranquillite instance
	umask 077; trap 'kill 0' INT TERM EXIT; \
	$(BIN)/python -m tranquillite.app_core.serve --server.port 8501 & \
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

app: install
	umask 077; $(BIN)/python -m tranquillite.app_core.serve --server.port 8501

# Debian's chromium for the headless-browser tests (installed when running as root; otherwise
# `make test` stops here unless SYSTEM_TESTS=skip)
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	      || { $(call missing_package,chromium,chromium chromium-driver); }; \
	  else $(call missing_package,chromium,chromium chromium-driver); fi; \
	fi

# Debian's PostgreSQL for the production-profile tests (a throw-away server started by the test
# fixtures, tests/pg.py); installed when running as root, otherwise `make test` stops here unless
# SYSTEM_TESTS=skip
postgres:
	@if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
	      || { $(call missing_package,PostgreSQL,postgresql); }; \
	  else $(call missing_package,PostgreSQL,postgresql); fi; \
	fi

# Debian's nginx for the live TLS-proxy test (tests/app/test_sec_transport.py serves the app through
# deploy/nginx.conf); installed when running as root, otherwise `make test` stops here unless
# SYSTEM_TESTS=skip
proxy:
	@if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null) \
	      || { $(call missing_package,nginx,nginx-light); }; \
	  else $(call missing_package,nginx,nginx-light); fi; \
	fi

# Issue 14's targets, each against its figure and the floor measured in the same run (a temporary
# home; BENCH_YEARS=8 adds eight years, long)
bench: install
	$(BIN)/python scripts/bench.py

# Forecasting benchmark: every model's next-day hit rate at 5 % of the area vs the oracle, timings,
# peak memory and the targets of issue #3. Reuses $(TRANQUILLITE_HOME) when `make demo` filled it,
# else generates and ingests the demo year into a temporary directory first (not timed).
bench-forecast: install
	$(BIN)/python scripts/bench_forecast.py

# Real-data forecasting benchmark (#13): every predictor vs the trailing 52-week count, champion rule
bench-models: install
	$(BIN)/python scripts/bench_models.py $(if $(FILE),--file $(FILE),)

# Calibration of the synthetic world (#13): the generator's demo year vs real events, measure by measure
bench-calibration: install
	$(BIN)/python scripts/bench_calibration.py $(if $(FILE),--file $(FILE),)

bench-map: install
	$(BIN)/python apps/streamlit/bench_map.py

# Personal-data guard: precision/recall per kind on tests/pii/corpus_fr.jsonl vs the former regex
# guard (same run), and the throughput on a year of free texts
bench-pii: install
	$(BIN)/python scripts/bench_pii.py

# Destruction of the Préfecture convention's data (issue #12), on a COPY of $(TRANQUILLITE_HOME)
# when `make demo` filled it, else on a demo year generated in a temporary directory
bench-destruction: install
	$(BIN)/python scripts/bench_destruction.py

# App store (issue 14): the same code on SQLite (baseline, same run) and on a real PostgreSQL server
bench-store: install postgres
	$(BIN)/python scripts/bench_app_store.py

lock:
	$(BIN)/pip freeze --exclude-editable | { echo "# Pinned dependency versions (pip constraints), Python 3.11. Regenerate: make lock"; cat; } > constraints.txt

clean-data:
	rm -rf $(TRANQUILLITE_HOME)

# Real-data benchmark through the product (issue #13): FILE (CSV/Parquet: id, occurred_at, category,
# lon, lat), TIMEZONE (IANA), optional AREA (boundary file), SINCE (AAAA-MM-JJ) or YEARS, ORIGINS
bench-real: install
	$(BIN)/python scripts/bench_real.py --file "$(FILE)" --timezone "$(TIMEZONE)" \
	  $(if $(AREA),--area "$(AREA)") $(if $(SINCE),--since $(SINCE)) $(if $(YEARS),--years $(YEARS)) \
	  $(if $(ORIGINS),--origins $(ORIGINS)) $(if $(HOLIDAYS),--holidays $(HOLIDAYS))
