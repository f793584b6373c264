# Cheetah: `make demo` runs everything on one machine; `make test` lints and runs every test.
# Needs only Python 3.11 and make. DATABASE_URL / CELERY_BROKER_URL are used when set.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: demo test install env kernels lint clean screenshots

$(VENV)/.installed: requirements.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "Cheetah needs Python 3.11 (found %d.%d)" % sys.version_info[:2])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed kernels

# numba compiles the scoring kernels into its cache (scoring/__pycache__, or NUMBA_CACHE_DIR)
# here, not in the worker at its first submission; a second run only loads them (~2 s).
kernels: $(VENV)/.installed
	$(BIN)/python -m scoring warm

# The checkout's development settings, read by cheetah/settings.py (git- and docker-ignored), so
# every manage.py command works here with nothing exported. Written once: an existing .env, and
# so its SECRET_KEY, is kept. Variables set in the environment win over it.
env: .env

.env:
	@umask 077 && printf '%s\n' \
	  '# Written by `make env` for this checkout (development only; never for production).' \
	  'DEBUG=1' \
	  "SECRET_KEY=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	  'CHEETAH_VAR_DIR=$(CURDIR)/var' > $@
	@echo "Wrote .env: DEBUG=1, a new SECRET_KEY, CHEETAH_VAR_DIR=$(CURDIR)/var"

demo: install env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py rundemo --port $(PORT)

# The README's screenshots (docs/img/*.png): docs/screenshots.py starts a demo of its own in a
# temporary folder and stops it again; `make screenshots URL=http://127.0.0.1:8000` photographs
# a demo that is running instead.
screenshots: install
	$(BIN)/python docs/screenshots.py $(if $(URL),--url $(URL))

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: install lint
	@# No persistent connections: the live server's request threads would leave them open.
	DEBUG=1 CONN_MAX_AGE=0 CHEETAH_VAR_DIR=$(CURDIR)/var/test $(BIN)/python -m pytest

clean:
	rm -rf var .pytest_cache .ruff_cache .hypothesis
