# Two entry points a new machine needs: `make run` and `make test` (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
MANIFEST ?= examples/demo-brand/sources.yaml
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup browser run sync test lint bench baselines clean

setup: $(VENV)/.installed browser

# The browser tests drive Debian's Chromium (tests/api/web): install it when missing. Without root
# or apt it says so and goes on; the tests then skip, except under CI=true, where they fail.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	  || echo "could not install chromium chromium-driver: the browser tests will not run"; \
	else echo "chromium and chromium-driver missing (need root and apt-get): the browser tests will not run"; fi

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

sync: setup
	$(VENV)/bin/sportello sync $(MANIFEST)

run: sync
	$(VENV)/bin/sportello serve --host $(HOST) --port $(PORT)

test: setup
	$(VENV)/bin/pytest -q -n 2

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: setup
	$(PY) -m benchmarks.agent_latency
	$(PY) -m benchmarks.paraphrase

# Every suite's stored report, the baseline CI compares with (tests/evals/test_brands.py): run it
# after a change that moves results and commit the files with that change.
baselines: setup
	for suite in evals/suites/*.yaml; do \
	  $(VENV)/bin/sportello eval $$suite --resync --json evals/baselines/$$(basename $$suite .yaml).json || exit 1; \
	done

clean:
	rm -rf $(VENV) data
