# Two commands do everything on a fresh machine (each builds .venv first when it is missing):
#   make run    - lesson 1 end to end, headless, offline, in sample mode; prints its validation metrics
#   make test   - unit tests, real-data and Jupyter-kernel tests, then every notebook under nbval in sample mode
# Also: make unit (unit tests only, about a minute), make real (real-data and kernel tests), make nbs,
#       make lab (JupyterLab on nbs/), make run LESSON=nbs/lesson05_tabular.ipynb, make bench, make lint.
# make help lists every target with one line each (the '## ' comment after its name).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.coursekit-installed
LESSON ?= nbs/lesson01_dogs_cats.ipynb
MODE   ?= sample
SHARED ?= $(abspath ../shared/data)
# Tests and notebooks run this many at a time, each in its own pytest-xdist worker and kernel: most
# lessons train on one thread, so two of them keep a 2-core machine busy. JOBS=1 runs them one after the other.
# Each worker's kernels get the cores divided among the workers (OMP_NUM_THREADS), so two lessons that use every
# core do not fight over them.
JOBS   ?= 2
PARALLEL := $(if $(filter-out 0 1,$(JOBS)),-n $(JOBS) --dist loadfile)
THREADS  := $(shell n=$$(( $$(nproc) / $(JOBS) )); echo $$(( n > 0 ? n : 1 )))

export COURSEKIT_SHARED_DATA ?= $(SHARED)
export COURSEKIT_SMALL_DATA ?= $(SHARED)

.PHONY: help run test unit real nbs small pretrain lab bench lint format clean-venv site browser lock

# .venv holds exactly the locked versions, each checked against its hash (requirements-lock.txt: the lessons'
# requirements.txt and the tools of requirements-dev.txt, every dependency pinned; `make lock` remakes it).
$(STAMP): requirements-lock.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements-lock.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

help:  ## list the targets
	@awk -F':.*## ' '/^[a-z-]+:.*## /{printf "  make %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: $(STAMP)  ## lesson 1 (or LESSON=...) end to end, headless, in sample mode (MODE=full for the real data)
	COURSEKIT_MODE=$(MODE) $(PY) -m coursekit.run $(LESSON)

test: unit real nbs small  ## everything CI runs: unit, real-data and kernel tests, every notebook under nbval (sample, then small)

unit: $(STAMP)  ## the unit tests (about a minute on a quiet 2-core CPU)
	OMP_NUM_THREADS=$(THREADS) $(PY) -m pytest -q $(PARALLEL) -m "not real_data and not kernel" tests

real: $(STAMP)  ## tests on ../shared/data and through a Jupyter kernel (minutes)
	OMP_NUM_THREADS=$(THREADS) $(PY) -m pytest -q $(PARALLEL) -m "(real_data or kernel) and not browser" -rs tests

# The text lessons' general language models are pretrained (about 1.5 minutes, once per machine, then cached
# in data/models) before the notebooks run, so lesson 10's own time is the lesson's work.
nbs: $(STAMP)  ## every notebook under nbval in sample mode, after pretraining the text lessons' models
	COURSEKIT_MODE=sample $(PY) -m coursekit.text.pretrained
	COURSEKIT_MODE=sample OMP_NUM_THREADS=$(THREADS) $(PY) -m pytest -q $(PARALLEL) --nbval-lax --nbval-cell-timeout=300 -p no:cacheprovider nbs

# The notebooks that have a small mode, under nbval on the real data in COURSEKIT_SMALL_DATA (../shared/data); each
# other one, and each whose data is absent there, is skipped with its reason (printed by coursekit.small).
small: $(STAMP)  ## every notebook with a small mode under nbval on ../shared/data's real data (skips, with the reason, when absent)
	@nbs="$$($(PY) -m coursekit.small nbs)" || exit 1; \
	if [ -z "$$nbs" ]; then echo "small mode: no notebook to run here (the reasons are above)"; \
	else COURSEKIT_MODE=small OMP_NUM_THREADS=$(THREADS) $(PY) -m pytest -q $(PARALLEL) --nbval-lax --nbval-cell-timeout=300 \
		-p no:cacheprovider $$nbs; fi

pretrain: $(STAMP)  ## the general language models of lessons 4 and 10 (once per machine, then cached)
	COURSEKIT_MODE=$(MODE) $(PY) -m coursekit.text.pretrained

# JupyterLab for the course: jupyter-config/ joins the config search path (JUPYTER_CONFIG_PATH, in front of and
# not instead of the user's own), and its labconfig/page_config.json turns off the announcements plugin (the
# "official Jupyter news?" pop-up and update checks). The course's settings stay in the repository: none go to the
# home folder. As root (a container), Jupyter refuses to start without --allow-root.
LAB_CONFIG := $(CURDIR)/jupyter-config$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH))
LAB_FLAGS  := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)  ## JupyterLab on nbs/ with the course's settings
	cd nbs && JUPYTER_CONFIG_PATH="$(LAB_CONFIG)" $(abspath $(VENV))/bin/jupyter lab $(LAB_FLAGS)

# The course as static HTML in site/ (git-ignored): every notebook executed (sample mode on a CPU, full on a GPU;
# COURSEKIT_MODE overrides), an index of the lessons, previous/next links. A failing lesson is marked in the index
# and the command exits non-zero after building the rest.
site: $(STAMP)  ## execute every notebook and render the course to site/index.html (each lesson small where its real data is here, else sample; full on a GPU)
	$(PY) -m coursekit.text.pretrained
	$(PY) -m coursekit.site --out site

# JupyterLab in Chromium (Debian's chromium and chromium-driver): lesson 1's first cells as a student runs them.
# Skips with its reason when Chromium is missing; screenshots go to runs/browser/.
browser: $(STAMP)  ## JupyterLab in a real browser (Chromium): lesson 1's first cells, screenshots in runs/browser
	$(PY) -m pytest -q -p no:cacheprovider -m browser -rs tests/test_browser.py

.bench-site/.installed: benchmarks/requirements-fastai.txt $(STAMP)
	$(PY) -m pip install --quiet --no-deps --target .bench-site -r benchmarks/requirements-fastai.txt
	@touch $@

bench: $(STAMP) .bench-site/.installed  ## every benchmark, each printing its figures (long)
	cd benchmarks && for b in bench_*.py; do echo "== $$b"; ../$(PY) $$b || exit 1; done

lint: $(STAMP)  ## ruff: pycodestyle and pyflakes over the package, tests, benchmarks and notebooks; the format check
	$(PY) -m ruff check coursekit tests benchmarks nbs
	$(PY) -m ruff format --check coursekit tests benchmarks || { echo "Run '$(PY) -m ruff format coursekit tests benchmarks' to lay the files out."; exit 1; }

format: $(STAMP)  ## ruff format: lay out the package, tests and benchmarks as the format check wants them
	$(PY) -m ruff format coursekit tests benchmarks

# One lock for every platform (Linux x86_64 and aarch64 with torch's CUDA packages, macOS, Windows) and Python 3.11
# and newer, every file's hash included: after changing requirements.txt or requirements-dev.txt, run this and commit
# requirements-lock.txt (tests/test_requirements.py checks that the two agree).
lock: $(STAMP)  ## requirements-lock.txt from requirements-dev.txt (uv, universal, with hashes)
	$(VENV)/bin/uv pip compile requirements-dev.txt --universal --python-version 3.11 --generate-hashes \
		--custom-compile-command "make lock" -o requirements-lock.txt

clean-venv:  ## delete .venv (the next command rebuilds it)
	rm -rf $(VENV)
