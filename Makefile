# Demarche — the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# The suite runs on every core (pytest-xdist); each worker makes its own database. A worker
# that runs out of tests takes some of another's, so one slow file does not hold up the end.
PYTEST_ARGS ?= -n auto --dist worksteal

.PHONY: run test test-sqlite test-postgresql bytecode lint bench fuzz migration install lock system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# system-deps first: PyICU is compiled against the ICU headers it installs. Every package comes
# from the lock, hashes checked, so a clean clone runs the versions the tests ran against; pip
# check fails when pyproject.toml asks for something the lock lacks (then `make lock`).
$(STAMP): requirements-dev.lock pyproject.toml | $(BIN)/python system-deps
	$(BIN)/pip install -q --require-hashes -r requirements-dev.lock
	$(BIN)/pip install -q --no-deps -e .
	$(BIN)/pip check
	touch $(STAMP)

install: $(STAMP)

# The locks again from pyproject.toml: pinned versions are kept while they still fit, and
# `make lock UPGRADE=1` takes the newest ones allowed. requirements.lock is what the image
# installs; requirements-dev.lock adds the dev extras at the same versions.
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --quiet \
	--custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)
# uv (a dev extra) at its locked version, also before a first install
lock: | $(BIN)/python
	@test -x $(BIN)/uv || $(BIN)/pip install -q "$$(grep -m1 '^uv==' requirements-dev.lock | cut -d' ' -f1)"
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev -c requirements.lock $(LOCK_FLAGS) \
	  -o requirements-dev.lock

system-deps:
	@bash scripts/system-deps.sh

run: install system-deps
	@$(BIN)/demarche migrate
	@$(BIN)/demarche demo
	@echo ""
	@echo "  Demarche is starting on http://$(HOST):$(PORT)"
	@echo "  Sign in as coordinator@demarche.example / demarche-demo"
	@echo "  (admin@demarche.example and campaigner@demarche.example use the same password)"
	@echo ""
	@trap 'kill 0' INT TERM EXIT; \
	  $(BIN)/demarche worker & \
	  $(BIN)/demarche serve --host $(HOST) --port $(PORT)

test: install
	@bash scripts/system-deps.sh --browser
	$(MAKE) test-sqlite
	$(MAKE) test-postgresql

# The PostgreSQL pass runs the tests that use a database; the others ran in the SQLite pass
# (tests/support/dbuse.py; DEMARCHE_TEST_ALL=1 runs every test there too).
test-sqlite: bytecode
	DEMARCHE_TEST_DB=sqlite PYTHONDONTWRITEBYTECODE= $(BIN)/pytest $(PYTEST_ARGS)

test-postgresql: bytecode
	DEMARCHE_TEST_DB=postgresql PYTHONDONTWRITEBYTECODE= $(BIN)/pytest $(PYTEST_ARGS)

# Every server, worker, renderer and command a test starts imports the app: compiled once here
# rather than in each of them where the environment keeps Python from writing bytecode. pytest
# runs with bytecode writing allowed, so each test module's assertions are rewritten once, not
# again in every xdist worker of every pass.
bytecode: install
	@$(BIN)/python -m compileall -q app migrations tests bench

# lint-imports: the layers and the import rules in pyproject.toml ([tool.importlinter])
lint: install
	$(BIN)/ruff format --check app tests bench migrations
	$(BIN)/ruff check app tests bench migrations
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install system-deps
	$(BIN)/python -m bench

# Every schemathesis check; a 5xx fails, what the schema-only checks find is listed in
# tests/artifacts/fuzz-schema-strictness.txt.
fuzz: install
	rm -f tests/artifacts/fuzz-schema-strictness.txt
	DEMARCHE_FUZZ_CHECKS=all DEMARCHE_FUZZ_EXAMPLES=$${DEMARCHE_FUZZ_EXAMPLES:-500} \
	  $(BIN)/pytest tests/fuzz -q -n auto

migration: install
	@test -n "$(m)" || (echo 'usage: make migration m="what changed"' && exit 2)
	$(BIN)/alembic revision --autogenerate -m "$(m)"

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache tests/artifacts
