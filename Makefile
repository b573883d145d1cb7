# The two commands of the README: `make run` and `make test`. Both create the
# virtual environment on first use, so a fresh machine needs only Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test bench lint venv clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/ledgerdesk migrate
	$(BIN)/ledgerdesk serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m ledgerdesk.bench.run $(BENCH_ARGS)

# mypy needs the package under its own name; the repository root is the package.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	mkdir -p $(VENV)/mypy-path && ln -sfn ../.. $(VENV)/mypy-path/ledgerdesk
	MYPYPATH=$(VENV)/mypy-path $(BIN)/mypy -p ledgerdesk

clean:
	rm -rf $(VENV) build *.egg-info
