# dlr-vault: every target builds or reuses .venv from the project's own pinned requirement files.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        ?= .venv
CHECKOV_VENV?= .venv-checkov
BIN         := $(VENV)/bin
UV          := $(BIN)/uv
# Python 3.13 from PATH or pyenv; a pyenv shim that is not active is skipped.
PY313       ?= $(shell bash local/find-python313.sh)
export PATH := $(abspath $(BIN)):$(if $(PY313),$(dir $(PY313)),):$(PATH)
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: help venv browser demo test unit suite typecheck smoke lint static build validate bench report screenshot deploy restore-fallback backfill erase lock clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# Installs are hash-checked end to end. The new venv's own pip (from the Python) installs only uv,
# pinned with its hashes in requirements-uv.lock; uv then makes the venv exactly requirements-dev.lock,
# every file checked against its hashes (uv and pip themselves are pinned there too).
$(BIN)/.installed: requirements-dev.lock requirements-uv.lock
	@test -n "$(PY313)" || { echo "Python 3.13 not found: install it (e.g. 'pyenv install 3.13') or put python3.13 on PATH"; exit 1; }
	@echo "creating $(VENV) with $(PY313)"
	$(PY313) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements-uv.lock
	$(UV) pip sync --quiet --require-hashes --python $(BIN)/python requirements-dev.lock
	touch $@

venv: $(BIN)/.installed  ## create or reuse the virtualenv

$(CHECKOV_VENV)/.installed: requirements-checkov.lock $(BIN)/.installed
	$(PY313) -m venv --without-pip $(CHECKOV_VENV)
	$(UV) pip sync --quiet --require-hashes --python $(CHECKOV_VENV)/bin/python requirements-checkov.lock
	touch $@

# tests/browser drive Debian's headless Chromium through chromium-driver (never a downloaded browser).
# Installed here when missing and allowed (CI runs as root); elsewhere those tests skip, saying how.
browser:  ## install headless Chromium for tests/browser when missing (apt-get, as root)
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium and chromium-driver for tests/browser"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "tests/browser will skip: install headless Chromium with: sudo apt-get install -y chromium chromium-driver"; fi

demo: venv  ## run the whole pipeline locally (moto + Infobip simulator), serve the lookup on :3000
	$(BIN)/python -m local.demo $(DEMO_ARGS)

report: venv  ## the queries/ SQL in DuckDB over the archive make demo left (REPORT_ARGS="--plot docs/img")
	$(BIN)/python -m analytics $(REPORT_ARGS)

unit: venv  ## the quick tests that need no server (tests/unit: pure code, moto in-process)
	$(BIN)/python -m pytest -q tests/unit $(PYTEST_ARGS)

suite: venv browser  ## the whole suite: tests/unit, tests/simulator (simulator, local API), tests/moto_server, tests/browser (Chromium)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

typecheck: venv  ## mypy --strict over layers/ and functions/ (boto3-stubs for the clients)
	$(BIN)/mypy

lint: venv  ## ruff, bandit, cfn-lint and sam validate --lint
	$(BIN)/ruff check .
	$(BIN)/bandit -q -ll -r layers functions local analytics bench smoke ops
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint --template-file template.yaml

# checkov reads a condition at its parameter's default, so on template.yaml it never sees the optional
# parts: it also reads what SAM makes with every one of them on. The stages SAM generates carry no
# Metadata; LookupApi's and ConsoleApi's own CKV_AWS_120 skips say why there is no cache.
static: $(CHECKOV_VENV)/.installed venv  ## checkov over the template, and over its expansion with every option on (own venv: its pins clash with aws-sam-cli)
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -f template.yaml
	@expanded=$$(mktemp -d)/dlr-vault-everything-on.json; trap 'rm -rf "$$(dirname $$expanded)"' EXIT; \
	$(BIN)/python -m local.expanded $$expanded && \
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation --skip-check CKV_AWS_120 -f $$expanded

build: venv  ## sam build (no container)
	$(BIN)/sam build --parallel --cached

test: suite typecheck lint static build  ## everything CI runs: tests, type checker, linters, checkov, sam build

screenshot: venv browser  ## refresh docs/img/console.png from the browser test of a bulk
	CONSOLE_SCREENSHOT=docs/img/console.png $(BIN)/python -m pytest -q -p no:logging tests/browser -k bulk

bench: venv  ## benchmarks against moto server and the simulator; prints a table
	$(BIN)/python -m bench $(BENCH_ARGS)

smoke: venv  ## a short suite against a deployed stack: make smoke STACK=<name> (skips without AWS credentials)
	STACK=$(STACK) $(BIN)/python -m smoke

deploy: build  ## sam deploy (guided the first time)
	$(BIN)/sam deploy $(if $(wildcard samconfig.toml),,--guided) $(DEPLOY_ARGS)

backfill: venv  ## search attributes for items indexed before the search indexes: make backfill STACK=<stack> (resumable)
	@test -n "$(STACK)" || { echo "usage: make backfill STACK=<stack name> [BACKFILL_ARGS=--max-pages N]"; exit 2; }
	PYTHONPATH=layers/common $(BIN)/python -m dlr_vault.backfill --stack $(STACK) $(BACKFILL_ARGS)

restore-fallback: venv  ## put pages S3 refused back into raw/ (STACK=<stack name>; docs/operations.md)
	@test -n "$(STACK)" || { echo "usage: make restore-fallback STACK=<stack name>"; exit 2; }
	$(BIN)/python -m ops.restore_fallback --stack $(STACK)

# The number reaches the command in its environment, never its arguments; without NUMBER it is typed
# unseen at a prompt, which also keeps it out of make's own arguments and the shell's history.
erase: venv  ## erase every report to one number (GDPR art. 17): make erase STACK=<stack> [NUMBER=<msisdn>] (STACK=local: the demo's)
	@test -n "$(STACK)" || { echo "usage: make erase STACK=<stack name, or local while make demo serves> [NUMBER=<phone number>, else asked] [ERASE_ARGS=--since YYYY-MM-DD]"; exit 2; }
	@ERASE_NUMBER="$(NUMBER)" $(BIN)/python -m ops.erase --stack $(STACK) $(ERASE_ARGS)

# uv pip compile --upgrade: the newest versions the requirement files allow, each with the hashes of
# all its files. The layer is resolved for Lambda (arm64, 3.13); the others for any platform.
LOCK := $(UV) pip compile --quiet --generate-hashes --python-version 3.13 --custom-compile-command "make lock"
lock: venv  ## re-resolve the lock files (hash-pinned) from the requirement files: edit a requirements*.txt, then this
	$(LOCK) --upgrade --python-platform aarch64-manylinux_2_28 -o layers/common/requirements.lock layers/common/requirements.txt
	$(LOCK) --upgrade --universal -c layers/common/requirements.lock -o requirements-dev.lock requirements-dev.txt
	$(LOCK) --upgrade --universal -o requirements-checkov.lock requirements-checkov.txt
	grep -o '^uv==[^ ]*' requirements-dev.lock | $(LOCK) --universal -o requirements-uv.lock -

clean:  ## remove build output and virtualenvs
	rm -rf .aws-sam $(VENV) $(CHECKOV_VENV)
