# The workbook's commands. `make lab` to study, `make test` to check everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8888
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))
NBVAL_ARGS := $(if $(NOTEBOOKS),--nbval $(NOTEBOOKS) --nbval-sanitize-with notebooks/sanitize.cfg)
# An older x86-64 CPU, emulated: numba compiles for a generic CPU (no AVX, no FMA) and
# OpenBLAS uses its Haswell kernels. The notebooks must print the same numbers there.
OLD_CPU := NUMBA_CPU_NAME=generic OPENBLAS_CORETYPE=Haswell NUMBA_CACHE_DIR=$(VENV)/numba-cache-generic
# pytest-xdist: the unit tests, and the notebooks, on every core (JOBS=0: in one process).
# A notebook's cells stay together, in order, in one worker (--dist loadfile); the
# browser tests run alone, so that the machine's load does not slow their clicks.
JOBS ?= logical
PARALLEL := -n $(JOBS)
NBVAL_PARALLEL := -n $(JOBS) --dist loadfile

.PHONY: help venv lab test unit nbval nbval-old-cpu e2e lint notebooks student course clean

help:
	@echo "make lab        start JupyterLab on notebooks/ (PORT=8888 by default)"
	@echo "make test       ruff, the unit and browser tests, strict nbval on every notebook,"
	@echo "                here and on an emulated older CPU"
	@echo "make unit       only ruff and the unit tests (about 5 minutes)"
	@echo "make nbval      only strict nbval on every notebook; nbval-old-cpu: emulated old CPU"
	@echo "make e2e        only the browser tests: the widgets in JupyterLab and Chromium"
	@echo "make notebooks  re-execute every notebook in place, saving its outputs"
	@echo "make student    write the student edition, solutions stubbed, to student/"
	@echo "make course     lay out an nbgrader course for notebooks 01-04 in course/ (COURSE=...)"
	@echo "make clean      remove .venv and caches"

# Create .venv if missing and install the pinned requirements (again only when
# requirements.txt or pyproject.toml change).
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

lab: venv
	$(BIN)/jupyter lab notebooks/ --ip=127.0.0.1 --port=$(PORT) --no-browser --allow-root

lint: venv
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest $(PARALLEL) tests --ignore=tests/e2e
	$(BIN)/python -m pytest tests/e2e
	$(BIN)/python -m pytest $(NBVAL_PARALLEL) $(NBVAL_ARGS)
	$(OLD_CPU) $(BIN)/python -m pytest $(NBVAL_PARALLEL) -p no:cacheprovider $(NBVAL_ARGS)

unit: lint
	$(BIN)/python -m pytest $(PARALLEL) tests --ignore=tests/e2e

nbval: venv
	$(BIN)/python -m pytest $(NBVAL_PARALLEL) $(NBVAL_ARGS)

nbval-old-cpu: venv
	$(OLD_CPU) $(BIN)/python -m pytest $(NBVAL_PARALLEL) -p no:cacheprovider $(NBVAL_ARGS)

# Needs /usr/bin/chromium (apt-get install chromium); skipped without it
# unless BACKPROP_E2E_REQUIRED=1. Failures keep screenshots in test-artifacts/e2e/.
e2e: venv
	$(BIN)/python -m pytest tests/e2e -v

notebooks: venv
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=600 $(NOTEBOOKS)

# The notebooks with every solution replaced by nbgrader's stub, for handing out.
student: venv
	$(BIN)/python tools/make_student.py

# An nbgrader course directory: source/backprop/ (notebooks 01-04) and nbgrader_config.py.
COURSE ?= course
course: venv
	$(BIN)/python tools/make_student.py --course $(COURSE)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis *.egg-info
