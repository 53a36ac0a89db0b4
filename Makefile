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

.PHONY: setup lab lab-zh check test nbval sandbox-deps browser course bench results clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" >/dev/null
	@touch $(STAMP)

# `make lab` opens the learner's workspace (tlcourse/workspace.py): their own student copies, made on the
# first run, in a JupyterLab without nbgrader's menus; MODE=instructor opens notebooks/ with nbgrader's tools.
MODE      ?= learner
WORKSPACE ?= $(or $(TLCOURSE_WORKSPACE),workspace)
WS        := $(abspath $(WORKSPACE))
# Jupyter refuses to run as root (the usual shell in a container) unless told --allow-root: only then.
ROOT_ARG  := $(if $(filter 0,$(shell id -u)),--allow-root)
ROOT_NOTE := lab: running as root, so JupyterLab gets --allow-root (it refuses root without it)
# `tlcourse` on the PATH of the lab's terminals and kernels (`!tlcourse solution ...`)
LAB_ENV   := PATH="$(abspath $(VENV))/bin:$$PATH" TLCOURSE_WORKSPACE="$(WS)"

lab: $(STAMP)  ## your workspace in JupyterLab (MODE=instructor: notebooks/ with nbgrader; ARGS=--no-browser: headless)
	@$(if $(ROOT_ARG),echo "$(ROOT_NOTE)")
ifeq ($(MODE),learner)
	@$(LAB_ENV) $(VENV)/bin/tlcourse workspace
	$(LAB_ENV) JUPYTER_CONFIG_PATH="$(WS)/.tlcourse/jupyter$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
	  $(VENV)/bin/jupyter lab --notebook-dir="$(WS)" $(ROOT_ARG) $(ARGS)
else ifeq ($(MODE),instructor)
	$(LAB_ENV) $(VENV)/bin/jupyter lab --notebook-dir=notebooks $(ROOT_ARG) $(ARGS)
else
	$(error MODE=$(MODE) is unknown: use MODE=learner (the default: your workspace) or MODE=instructor)
endif

# `make lab-zh`: the Chinese edition (中文版) in its own workspace (workspace-zh/, or TLCOURSE_WORKSPACE_ZH): student
# copies of notebooks/zh/ and the glossary, JupyterLab's interface in Chinese, TLCOURSE_LANG=zh in every kernel.
WS_ZH := $(abspath $(or $(TLCOURSE_WORKSPACE_ZH),workspace-zh))

lab-zh: $(STAMP)  ## 中文版: your Chinese workspace in a Chinese JupyterLab (ARGS=--no-browser: headless)
	@$(if $(ROOT_ARG),echo "$(ROOT_NOTE)")
	@TLCOURSE_LANG=zh PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/tlcourse workspace --dir "$(WS_ZH)" --source notebooks/zh
	@cp notebooks/zh/*.md "$(WS_ZH)/"  # the glossary: reference, always the course's latest
	TLCOURSE_LANG=zh PATH="$(abspath $(VENV))/bin:$$PATH" TLCOURSE_WORKSPACE="$(WS_ZH)" \
	  JUPYTER_CONFIG_PATH="$(WS_ZH)/.tlcourse/jupyter$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
	  $(VENV)/bin/jupyter lab --notebook-dir="$(WS_ZH)" $(ROOT_ARG) $(ARGS)

check: $(STAMP)  ## the fast tier (under 2 minutes): unit tests only, no notebooks, 3-seed claims, grading round trips or browser
	TLCOURSE_PROGRESS=0 $(PY) -m pytest -q -p no:cacheprovider -m "not slow and not heavy and not browser" tests --ignore=tests/browser

# Every lesson runs whole, cell by cell, in tests/test_grading_notebooks.py: the grader's reference run of each
# source notebook fails the test on any failing cell (what `make nbval` checks), then its student copies are graded.
# The Chinese lessons run whole first, in a pytest process of their own: late in the long run below they took up to
# twice their standalone time (cause not found; see build/zh-lessons.json for each lesson's wall time and the load).
ZH_WHOLE := tests/test_zh_edition.py::test_chinese_lesson_runs_whole_and_draws_every_glyph
test: $(STAMP) sandbox-deps  ## unit tests, 3-seed claims, every lesson run and graded (English and 中文), a papermill run, browser test
	TLCOURSE_PROGRESS=0 $(PY) -m pytest -q -p no:cacheprovider $(ZH_WHOLE)
	TLCOURSE_PROGRESS=0 $(PY) -m pytest -q --durations=15 tests --ignore=tests/browser --deselect $(ZH_WHOLE)
	TLCOURSE_PROGRESS=0 $(PY) -m tlcourse.course --out build/papermill --only 05 -p target=photos -p seed=1
	@$(MAKE) --no-print-directory browser

nbval: $(STAMP)  ## every lesson with nbval in this environment (outside the grading sandbox)
	TLCOURSE_PROGRESS=0 $(PY) -m pytest -q --nbval-lax -p no:cacheprovider notebooks

sandbox-deps:  ## bubblewrap, the OS sandbox of every grading kernel (installed where we are root, as chromium is)
	@if command -v bwrap >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" != 0 ]; then echo "sandbox-deps: bwrap is missing and this is not root, so it is not installed (as root: apt-get install bubblewrap); the grading tests will say so"; \
	elif ! command -v apt-get >/dev/null 2>&1; then echo "sandbox-deps: bwrap is missing and there is no apt-get to install it"; \
	else echo "sandbox-deps: installing Debian's bubblewrap"; \
	  (apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null) || echo "sandbox-deps: installing bubblewrap failed"; fi

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
	TLCOURSE_PROGRESS=0 $(PY) tests/benchmarks/bench.py --out bench $(ARGS)

# Every stored multi-seed result a lesson prints beside its live seed (data/results/, data/transferability.json and the
# capstone's answer key), regenerated by the one command each producer documents; one thread each, so that the
# numbers are those of a grading kernel. Hours on 2 cores (the transferability grid alone is about an hour per split).
RESULTS := \
  tlcourse.payoff --seeds 0 1 2 | \
  tlcourse.four_cases --seeds 0 1 2 | \
  tlcourse.finetune --seeds 0 1 2 | \
  tlcourse.lr_finder --seeds 0 1 2 | \
  tlcourse.viz.layer_change --seeds 0 1 2 3 4 5 6 7 8 9 | \
  tlcourse.adapt.study --seeds 0 1 2 3 4 5 6 7 8 9 | \
  tlcourse.label_budget --seeds 0 1 2 | \
  tlcourse.capstone --seeds 0 1 2 | \
  tlcourse.transferability --seeds 0 1 2

results: $(STAMP)  ## regenerate every stored multi-seed result (hours); the slow tests check they reproduce
	@echo '$(RESULTS)' | tr '|' '\n' | while read -r cmd; do \
	  echo "results: python -m $$cmd"; OMP_NUM_THREADS=1 TLCOURSE_PROGRESS=0 $(PY) -m $$cmd || exit 1; done

clean:
	rm -rf build bench release .pytest_cache
