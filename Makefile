# The two commands a reader needs: `make build` and `make test`. Both set up .venv first.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8000

# The book runs on the CPU unless told otherwise (see README: running on a GPU).
export JAX_PLATFORMS ?= cpu
# XLA's CPU compiler with its loop emitters instead of the newer fusion emitters. Run eagerly, JAX
# compiles one small program per operation, shape and dtype, and these compile in 55 % of the
# time: measured on two AMD EPYC cores, make test 497 s against 610 s, the mclip chapter (422
# programs) 60 s against 110 s. The same tests pass either way. It has no effect on a GPU.
export XLA_FLAGS ?= --xla_cpu_use_fusion_emitters=false
# Silences the debugger's frozen-modules warning that ipykernel would print into every page.
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: build test lint bench serve clean setup lab lab-check mutate

setup: $(STAMP)

# Re-create the environment only when it is missing or its inputs changed.
$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (the book needs Python 3.11; set PYTHON=...)"; exit 1; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@# The kernel's own log (a TCP-transport warning per notebook) is noise in every build log.
	mkdir -p $(VENV)/etc/ipython
	echo '{"IPKernelApp": {"log_level": "ERROR"}}' > $(VENV)/etc/ipython/ipython_kernel_config.json
	touch $(STAMP)

build: $(STAMP)
	$(PY) -m kexue_lib.book build

# Two test processes: on two cores the chapters' executions overlap (measured on two idle cores:
# 447 s against 593 s in one process). TEST_WORKERS=0 runs them in one process.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS)

lint: $(STAMP)
	$(PY) -m kexue_lib.book extract-code _build/lint
	$(VENV)/bin/ruff check kexue_lib tests book/_ext _build/lint

bench: $(STAMP)
	$(PY) benchmarks/run.py

# JupyterLab on book/, against this .venv: a chapter (.md) opens as a notebook with a double click.
LAB_STAMP := $(VENV)/.lab-installed
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings

$(LAB_STAMP): $(STAMP) requirements-lab.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-lab.txt
	@# jupytext's "Jupytext Notebook" viewer is the default for Markdown and MyST files.
	mkdir -p $(LAB_SETTINGS)
	echo '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}}}' > $(LAB_SETTINGS)/overrides.json
	touch $(LAB_STAMP)

lab: $(LAB_STAMP)
	@echo "JupyterLab on book/ at http://127.0.0.1:$(PORT)/lab (the URL with its token follows; Ctrl-C to stop)"
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --port=$(PORT) --no-browser --allow-root --ServerApp.root_dir=book

# The headless check of make lab: start it, open a chapter through the server's API, stop it.
lab-check: $(LAB_STAMP)
	$(PY) -m pytest tests/test_book_lab.py -q

# Mutation testing of one kernel module against its unit tests (mutmut; not part of CI, minutes per
# module): make mutate MODULE=gaussian_max [MUTATE_JOBS=2] [MUTANTS='*gumbel_constants* ...'].
# MUTANTS is a space-separated list of mutant names or fnmatch patterns (default: all of them).
# It runs in a scratch copy, _build/mutate/$(MODULE), with mutmut's configuration generated there.
# Workers come from a fork server that has imported the libraries but never run JAX, so each mutant
# traces and compiles its own code (no inherited jit cache, no fork after XLA's threads start).
# XLA's executables go to a persistent compilation cache in the scratch copy, keyed by the compiled
# program itself, so a mutant recompiles only what its mutation changed (the whole of test_softmax.py,
# as rerun for a survivor, takes 6.6 s from a warm cache against 24.6 s cold; a mutant that the first
# failing test kills gains little), and the cache's file lock (filelock) serialises the workers.
# JAX takes that lock only when the cache has a size limit: hence MAX_SIZE (4 GB, never reached).
# mutmut runs, per mutant, the tests that reached the mutated function in its stats run; a jit or
# result cache can hide a call there, so every survivor is rerun against the whole test file (in
# MUTATE_JOBS pytest-xdist workers) and reported only if it passes that too.
MUTATE_STAMP := $(VENV)/.mutate-installed
MUTATE_DIR   := _build/mutate/$(MODULE)
MUTATE_JOBS  ?= 2
MUTMUT       := $(CURDIR)/$(VENV)/bin/mutmut
MUTATE_CACHE := JAX_COMPILATION_CACHE_DIR=$(CURDIR)/$(MUTATE_DIR)/jax-cache \
  JAX_COMPILATION_CACHE_MAX_SIZE=4000000000 JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 \
  JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=0

$(MUTATE_STAMP): $(STAMP) requirements-mutate.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-mutate.txt
	touch $(MUTATE_STAMP)

mutate: $(MUTATE_STAMP)
	@test -n "$(MODULE)" && test -f kexue_lib/$(MODULE).py && test -f tests/test_$(MODULE).py || \
	  { echo "usage: make mutate MODULE=<name> (kexue_lib/<name>.py, tested by tests/test_<name>.py)"; exit 1; }
	rm -rf $(MUTATE_DIR)
	mkdir -p $(MUTATE_DIR)/tests
	cp -R kexue_lib $(MUTATE_DIR)/
	find $(MUTATE_DIR) -name __pycache__ -type d -prune -exec rm -rf {} +
	cp tests/conftest.py tests/test_$(MODULE).py $(MUTATE_DIR)/tests/
	printf '%s\n' '[tool.mutmut]' 'source_paths = ["kexue_lib"]' 'only_mutate = ["kexue_lib/$(MODULE).py"]' \
	  'pytest_add_cli_args_test_selection = ["tests/test_$(MODULE).py"]' \
	  'process_isolation = "forkserver"' 'forkserver_warmup = "import"' \
	  'preload_modules_file = "preload.txt"' '[tool.pytest.ini_options]' 'testpaths = ["tests"]' \
	  > $(MUTATE_DIR)/pyproject.toml
	printf '%s\n' numpy scipy.special mpmath jax jax.numpy pytest > $(MUTATE_DIR)/preload.txt
	cd $(MUTATE_DIR) && $(MUTATE_CACHE) $(MUTMUT) run --max-children $(MUTATE_JOBS) $(foreach m,$(MUTANTS),'$(m)')
	@cd $(MUTATE_DIR) && $(MUTMUT) results --all true | sed 's/^ *//' | grep -v ': not checked$$' \
	  > results.txt; \
	full() { (cd mutants && MUTANT_UNDER_TEST=$$1 $(MUTATE_CACHE) $(CURDIR)/$(PY) -m pytest -x -q -p no:cacheprovider \
	  -n $(MUTATE_JOBS) --timeout=600 tests/test_$(MODULE).py >/dev/null 2>&1); }; \
	full "" || { echo "error: tests/test_$(MODULE).py fails on the unmutated copy"; exit 1; }; \
	: > survivors.txt; : > missed.txt; \
	for m in $$(sed -n 's/: survived$$//p' results.txt); do \
	  if full $$m; then echo $$m >> survivors.txt; else echo $$m >> missed.txt; fi; done; \
	for m in $$(cat survivors.txt); do echo; $(MUTMUT) show $$m; done; \
	echo; echo "mutmut's verdicts on kexue_lib/$(MODULE).py:"; sed 's/.*: //' results.txt | sort | uniq -c; \
	total=$$(wc -l < results.txt); \
	caught=$$(grep -cE ': (killed|timeout|segfault)$$' results.txt); \
	missed=$$(wc -l < missed.txt); left=$$((total - caught - missed)); \
	echo "survivors that the whole test file kills: $$missed"; \
	echo "mutation score: $$((caught + missed))/$$total killed; $$left not killed," \
	  "of which $$(wc -l < survivors.txt) survivors (diffs above, names in $(MUTATE_DIR)/survivors.txt)"

serve:
	@test -d _build/html || { echo "error: no _build/html yet; run 'make build' first"; exit 1; }
	@echo "Serving the book at http://127.0.0.1:$(PORT)/ (Ctrl-C to stop)"
	$(PYTHON) -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

clean:
	rm -rf _build .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +
