# Cheetah: `make demo` runs everything on one machine; `make test` lints and runs every test.
# Needs only Python 3.11 and make. DATABASE_URL / CELERY_BROKER_URL are used when set.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: demo test install lint clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "Cheetah needs Python 3.11 (found %d.%d)" % sys.version_info[:2])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

demo: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py seed_demo
	DEBUG=1 $(BIN)/python manage.py rundemo --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: lint
	@# No persistent connections: the live server's request threads would leave them open.
	DEBUG=1 CONN_MAX_AGE=0 CHEETAH_VAR_DIR=$(CURDIR)/var/test $(BIN)/python -m pytest

clean:
	rm -rf var .pytest_cache .ruff_cache .hypothesis
