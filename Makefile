# One way to start everything (make run), one way to test everything (make test).
# Every target sets itself up from nothing: interpreter, venv, packages, data, model.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
BIN     := $(VENV)/bin
PY      := $(BIN)/python
RASA    := $(BIN)/rasa
MODEL   := models/hub.tar.gz
SPACY   := $(or $(SPACY_PIPELINE_DIR),var/spacy)/en-de/meta.json
KB_DB   := var/.kb-loaded

export PYTHONPATH := $(CURDIR)
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 3
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

TRAIN_INPUTS := config.yml $(wildcard domain/*.yml data/nlu/*.yml data/nlu/de/*.yml) data/rules.yml \
                data/stories.yml $(SPACY) $(wildcard nlu/components/*.py nlu/pipeline/*.py)

.PHONY: help setup kb spacy train run run-prod shell check lint test eval bench clean

help:
	@echo "make run    set up, train if needed, start the assistant (REST on :5005)"
	@echo "make run-prod  the same on PostgreSQL + Redis: two Rasa servers behind nginx on :8000"
	@echo "make check  ruff and every test that needs no server and no model, ~1 min"
	@echo "make test   set up, train if needed, run the whole test suite"
	@echo "make eval   held-out enquiries against the real assistant"
	@echo "make bench  quality, speed, conversation length and scaling report (reports/bench.md), ~22 min"
	@echo "make train  (re)train the model when its inputs changed"
	@echo "make shell  chat in the terminal"
	@echo "make kb     reload data/knowledge_base.yml into the database"

$(VENV)/.installed: pyproject.toml
	@interpreter=$$(scripts/find-python310) || exit 1; \
	  echo "Using $$interpreter"; \
	  [ -x $(PY) ] || "$$interpreter" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

# Front-end packages the web app serves (socket.io client) and tests use (axe-core).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

# Debian's chromium for the browser tests (Playwright drives it; no browser download).
$(VENV)/.chromium: | $(VENV)/.installed
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "chromium is missing: run 'sudo apt-get install chromium' (browser tests are skipped without it)"; fi; }
	@touch $@

# Debian's nginx, the front door of make run-prod (deploy/nginx.conf); never started as
# a system service.
$(VENV)/.nginx: | $(VENV)/.installed
	@PATH=$$PATH:/usr/sbin command -v nginx >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light; \
	  else echo "nginx is missing: run 'sudo apt-get install nginx-light' (the front-door tests are skipped without it)"; fi; }
	@touch $@

setup: $(VENV)/.installed node_modules/.package-lock.json

$(KB_DB): data/knowledge_base.yml $(wildcard bot/knowledge/*.py) | $(VENV)/.installed
	$(PY) -m bot kb load
	@touch $@

kb:
	@rm -f $(KB_DB)
	@$(MAKE) --no-print-directory $(KB_DB)

$(SPACY): data/knowledge_base.yml nlu/pipeline/build.py | $(VENV)/.installed
	$(PY) -m nlu.pipeline.build

spacy: $(SPACY)

# Rasa's thousands of progress and deprecation lines go to var/log/train.log; its end
# is shown if validation or training fails.
$(MODEL): $(TRAIN_INPUTS) | $(VENV)/.installed
	@mkdir -p var/log
	@echo "Training the model (a few minutes; Rasa's output: var/log/train.log) ..."
	@{ $(RASA) data validate --quiet --domain domain && \
	   $(RASA) train --domain domain --fixed-model-name hub --out models --force; } \
	   > var/log/train.log 2>&1 || { tail -n 40 var/log/train.log; \
	   echo "Training failed; the whole output is in var/log/train.log"; exit 1; }
	@touch $@
	@echo "Model trained: $@"

train: $(MODEL)

run: $(MODEL) $(KB_DB) node_modules/.package-lock.json
	@scripts/run-assistant

run-prod: $(MODEL) node_modules/.package-lock.json $(VENV)/.nginx
	@scripts/run-assistant --prod

shell: $(MODEL) $(KB_DB)
	@scripts/run-assistant --shell

# The fast tier: lint, format and every test without a server, the trained model or a
# real-time wait.
check: lint $(SPACY)
	$(PY) -m pytest -m "not e2e and not model and not slow"

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint $(MODEL) $(KB_DB) node_modules/.package-lock.json $(VENV)/.chromium $(VENV)/.nginx
	$(PY) -m pytest

eval: $(MODEL) $(KB_DB)
	$(PY) -m harness.heldout --json reports/eval.json

clean:
	rm -rf $(VENV) var models reports/eval.json reports/widget.json .pytest_cache node_modules

bench: $(MODEL) $(KB_DB) $(VENV)/.nginx
	$(PY) -m bench
