# Petaport: two commands. `make run` serves the platform; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck imports unit core core-clean system-deps postgres slurm slurm-stop bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## make run: install, migrate the embedded SQLite database, seed a demo centre, serve on 127.0.0.1
run: $(STAMP) core
	$(BIN)/petaport serve

## make test: install what the tests need, start PostgreSQL and the Slurm test cluster if absent,
## lint, type-check, test
test: $(STAMP) system-deps postgres slurm lint typecheck imports
	$(BIN)/python scripts/build-core.py --require
	PETAPORT_REQUIRE_POSTGRES=1 PETAPORT_REQUIRE_SLURM=1 PETAPORT_REQUIRE_COMPILED=1 $(BIN)/python -m pytest

## make core: compile the scheduler core and the replay engine with mypyc (if a source changed;
## interpreted where no C compiler exists); make core-clean: back to interpreted
core: $(STAMP)
	@$(BIN)/python scripts/build-core.py

core-clean: $(STAMP)
	@$(BIN)/python scripts/build-core.py --clean

system-deps:
	@scripts/system-deps.sh

postgres:
	@scripts/ensure-postgres.sh

## make slurm: a single-host Slurm 22.05 test cluster (reused when up); make slurm-stop stops it
slurm:
	@scripts/slurm-test-cluster.sh start

slurm-stop:
	@scripts/slurm-test-cluster.sh stop

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP) core
	$(BIN)/python -m pytest tests/unit

bench: $(STAMP) core postgres
	$(BIN)/python bench/submit.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache build
	find src -name '*.so' -delete; rm -f src/petaport/.core-build.json
