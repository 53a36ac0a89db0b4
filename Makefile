# tlcourse: every target sets up .venv first (python3 -m venv + pip install -e '.[dev]').
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ARGS   ?=
export TLCOURSE_PROGRESS ?= 1
# PyTorch's CPU threads sleep instead of spinning while they wait: on a busy 2-core machine this keeps
# small ops from crawling (one visualization took 33 s spinning and 1.7 s sleeping under load here).
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: setup lab test browser course bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" >/dev/null
	@touch $(STAMP)

lab: $(STAMP)  ## open the course in JupyterLab (ARGS=--no-browser for a headless server)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(ARGS)

test: $(STAMP)  ## unit tests, every notebook with nbval, a papermill run, grading round trip, browser test
	TLCOURSE_PROGRESS=0 $(PY) -m pytest -q tests --ignore=tests/browser
	TLCOURSE_PROGRESS=0 $(PY) -m pytest -q --nbval-lax -p no:cacheprovider notebooks
	TLCOURSE_PROGRESS=0 $(PY) -m tlcourse.course --out build/papermill --only 05 -p target=photos -p seed=1
	@$(MAKE) --no-print-directory browser

browser: $(STAMP)  ## JupyterLab driven by Debian's chromium (installed first where we are root); screenshots in build/browser
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" != 0 ]; then echo "browser: /usr/bin/chromium is missing and this is not root, so it is not installed (as root: apt-get install chromium)"; \
	elif ! command -v apt-get >/dev/null 2>&1; then echo "browser: /usr/bin/chromium is missing and there is no apt-get to install it"; \
	else echo "browser: installing Debian's chromium"; \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "browser: installing chromium failed"; fi
	$(PY) -m pytest -q -rs -p no:cacheprovider tests/browser

course: $(STAMP)  ## execute every notebook headless into build/ and print a timing table
	TLCOURSE_PROGRESS=0 $(PY) -m tlcourse.course --out build

bench: $(STAMP)  ## measure the course's performance bars into bench/
	TLCOURSE_PROGRESS=0 $(PY) -m tlcourse.bench --out bench $(ARGS)

clean:
	rm -rf build bench release .pytest_cache
