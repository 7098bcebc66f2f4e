# The two commands a reader needs: `make build` and `make test`. Both set up .venv first.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8000

# The book runs on the CPU unless told otherwise (see README: running on a GPU).
export JAX_PLATFORMS ?= cpu
# Silences the debugger's frozen-modules warning that ipykernel would print into every page.
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: build test lint bench serve clean setup lab lab-check

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

test: $(STAMP)
	$(PY) -m pytest

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

serve:
	@test -d _build/html || { echo "error: no _build/html yet; run 'make build' first"; exit 1; }
	@echo "Serving the book at http://127.0.0.1:$(PORT)/ (Ctrl-C to stop)"
	$(PYTHON) -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

clean:
	rm -rf _build .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +
