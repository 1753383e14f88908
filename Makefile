# Two commands set up everything on a fresh machine (Python 3.11+ with venv):
#   make demo   - install into .venv if needed, then scan the bundled demo hive for persistence
#   make test   - install into .venv if needed, then lint, type-check and run the tests
# The disk-image tests also need Debian's fdisk, ntfs-3g, ewf-tools and qemu-utils
# (.ci/run installs them; locally those tests skip, saying what is missing).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install fixtures bench bench-triage clean

# the compiled extensions are built by the install: a changed C source (or setup.py) installs
# again, so a pulled checkout never runs an old build (hivescan.scm.compiled would refuse it)
$(STAMP): pyproject.toml setup.py $(wildcard hivescan/*/*.c)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,images,notebooks,scale]"
	# bytecode now, as pip does for the packages it installs: an editable install has none, and
	# where PYTHONDONTWRITEBYTECODE is set every command would compile hivescan again (~0.1-0.2 s)
	$(BIN)/python -m compileall -q hivescan
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/hivescan demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

fixtures: $(STAMP)
	$(BIN)/python -m hivescan.testing build

bench: $(STAMP)
	$(BIN)/python bench/services.py

bench-triage: $(STAMP)
	$(BIN)/python bench/triage.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
