# MaskLens developer tasks. `make test` is the command CI runs (.ci/run).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.requirements-installed
TORCH  := torch==2.13.0

.PHONY: venv app test test-all bench clean-venv

venv: $(STAMP)

# Re-run only when a requirements file changes. torch goes first so that no
# dependency pulls a CUDA build of it. Ray is optional for users; CI and tests install it.
$(STAMP): requirements.txt requirements-ray.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install $(TORCH)
	$(PIP) install -r requirements.txt
	$(PIP) install -r requirements-ray.txt
	touch $@

app: venv
	$(VENV)/bin/streamlit run app.py

test: venv
	$(PY) -m pytest -q -ra tests

test-all: venv
	$(PY) -m pytest -q -ra --run-slow tests

bench: venv
	for script in bench/*.py; do $(PY) $$script || exit 1; done

clean-venv:
	rm -rf $(VENV)
