# Embargo Watch — the two commands of the Quick start, and their parts.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install lock demo up test unit integration lint typecheck bench bench-matcher bench-review eval clean

# Every dependency is pinned by constraints.txt (made by `make lock`), so a fresh machine
# installs the versions this code was tested with; plain pip keeps the needs to Python and make.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## make lock: resolve pyproject.toml's ranges again to their newest releases, into constraints.txt.
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--custom-compile-command "make lock" --upgrade --quiet -o constraints.txt

## make demo: start the stack on the embedded defaults, push the sample feed, show the findings.
demo: $(STAMP)
	$(BIN)/python -m services.cli.demo_run

## make up: the stack in the foreground until Ctrl-C.
up: $(STAMP)
	$(BIN)/ewatch up

## make test: every test, unit and integration, against the embedded PostgreSQL and broker
## unless EWATCH_TEST_DATABASE_URL / EWATCH_TEST_KAFKA_BOOTSTRAP_SERVERS point elsewhere.
test: $(STAMP)
	$(BIN)/pytest -q

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

lint: $(STAMP)
	$(BIN)/ruff check services tests bench
	$(BIN)/ruff format --check services tests bench

typecheck: $(STAMP)
	$(BIN)/mypy services

bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/validation.py

## make bench-matcher: the matcher on the embedded broker and PostgreSQL, same run: pure
## screen(), a no-op Faust agent, the matcher draining 20,000 accepted records, p99 latency
## (docs/benchmarks.md); 2-3 minutes, so not part of `make bench`.
bench-matcher: $(STAMP)
	$(BIN)/python bench/matcher.py

## make bench-review: the review workspace over HTTP at 1,000,000 findings on the PostgreSQL
## at PG_ADMIN_URL (docs/benchmarks.md); fills a database for several minutes, so not part
## of `make bench`.
PG_ADMIN_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
bench-review: $(STAMP)
	$(BIN)/python bench/review_queue.py --admin-url $(PG_ADMIN_URL)

## make eval: precision and recall of screening on the labelled evaluation set, per category.
eval: $(STAMP)
	$(BIN)/python -m services.evaluation.evaluate

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
