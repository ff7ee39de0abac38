# Two commands do all set-up: `make site` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TESTSTAMP := $(VENV)/.installed-test
TOOLSTAMP := $(VENV)/tools/.installed
ZENSICALSTAMP := $(VENV)/zensical/.installed
N ?= 1000

.PHONY: site test serve check bench bench-compare fuzz lint schema clean test-properdocs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TESTSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP) $@

# The workbook schema validator and a known-good reference writer, in a virtualenv of their own:
# openxml-audit needs lxml, which Dealbook itself does not.
$(TOOLSTAMP): Makefile | $(BIN)/python
	$(PYTHON) -m venv $(VENV)/tools
	$(VENV)/tools/bin/python -m pip install --quiet openxml-audit==0.8.0 xlsxwriter==3.3.1
	touch $@

# Zensical builds `dealbook export`'s project in tests/test_export.py and bench/run.py, in a virtualenv of its
# own (it brings its own Markdown stack, and runs no Dealbook code). 0.0.73: the 0.1 releases need
# zensical-ui, which the package index CI installs from does not carry.
$(ZENSICALSTAMP): Makefile | $(BIN)/python
	$(PYTHON) -m venv $(VENV)/zensical
	$(VENV)/zensical/bin/python -m pip install --quiet zensical==0.0.73
	touch $@

site: $(STAMP)   ## build the site into site/
	$(BIN)/dealbook build

serve: $(STAMP)  ## live preview on http://127.0.0.1:8000
	$(BIN)/dealbook serve --livereload

# In the rep's language: DEALBOOK_LANG (make check DEALBOOK_LANG=zh, or exported), else the site's first one.
check: $(STAMP)  ## validate every deal file and the stage model
	$(BIN)/dealbook check

# One worker per core (pytest-xdist): most tests wait on a build in a subprocess, a browser or LibreOffice, so two
# cores run the suite in about three quarters of the time. TEST_JOBS=0 runs it in this one process.
TEST_JOBS ?= auto
test: $(TESTSTAMP) $(TOOLSTAMP) $(ZENSICALSTAMP)  ## run the test suite
	$(BIN)/python -m pytest -n $(TEST_JOBS) $(PYTEST_ARGS)

# The build, browser and workbook tests again with ProperDocs 1.6.7 standing in for mkdocs 1.6.1 (both
# engines must build Dealbook: README "Engines"). CI runs it after `make test`.
ENGINE_TESTS ?= tests/test_site.py tests/test_deal_pages.py tests/test_i18n.py tests/test_publish.py \
	tests/test_workbooks.py tests/test_browser.py
test-properdocs: $(TESTSTAMP) $(TOOLSTAMP)  ## the build, browser and workbook tests under ProperDocs
	$(BIN)/python tests/under_properdocs.py $(ENGINE_TESTS) $(PYTEST_ARGS)

lint: $(TESTSTAMP)
	$(BIN)/ruff check generator tests bench

bench: $(TESTSTAMP) $(ZENSICALSTAMP)  ## benchmark against plain mkdocs; N=10000 for the large run
	$(BIN)/python -m bench.run --deals $(N) --update-readme

bench-compare: $(TESTSTAMP)  ## what a change costs: BEFORE=<rev> AFTER=<rev> (default HEAD), cold and warm, alternating
	$(BIN)/python -m bench.compare $(BEFORE) $(or $(AFTER),HEAD) --deals $(N)

fuzz: $(STAMP)  ## 2,000 mutated deal files through dealbook check: no traceback, no hang, every line positioned
	$(BIN)/python -m bench.fuzz --count 2000 --seed 1

schema: $(STAMP)  ## refresh the committed JSON Schema
	$(BIN)/dealbook schema > deals/deal.schema.json

clean:
	rm -rf site .cache
