# The workbook's commands. `make lab` to study, `make test` to check everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8888
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))
NBVAL_ARGS := $(if $(NOTEBOOKS),--nbval $(NOTEBOOKS) --nbval-sanitize-with notebooks/sanitize.cfg)

.PHONY: help venv lab test lint notebooks clean

help:
	@echo "make lab        start JupyterLab on notebooks/ (PORT=8888 by default)"
	@echo "make test       ruff, the unit tests and strict nbval on every notebook"
	@echo "make notebooks  re-execute every notebook in place, saving its outputs"
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
	$(BIN)/python -m pytest tests $(NBVAL_ARGS)

notebooks: venv
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=600 $(NOTEBOOKS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis *.egg-info
