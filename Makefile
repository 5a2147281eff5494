# The two commands of the quick start: `make up` and `make test`.
PY      := .venv/bin/python
STAMP   := .venv/.installed-$(shell cat pyproject.toml clients/python/pyproject.toml | sha1sum | cut -c1-12)

.PHONY: up test install services services-down status lint bench soak browser

$(STAMP): pyproject.toml clients/python/pyproject.toml
	@test -x $(PY) || python3 -m venv .venv
	@$(PY) -m pip install -q -U pip
	@$(PY) -m pip install -q -e '.[dev]'
	@$(PY) -m pip install -q -e clients/python
	@rm -f .venv/.installed-* && touch $(STAMP)

install: $(STAMP)

services: install
	@scripts/services.sh up

services-down:
	@scripts/services.sh down

status:
	@scripts/services.sh status

## Start the services and run Phony (edge, workers, projector, and the simulators when no
## Twilio/OpenAI credentials are configured) on port 24187, in the foreground.
## The operator key: PHONY_ADMIN_KEY if set, else one generated once into .services/admin-key.
up: services
	@test -n "$$PHONY_ADMIN_KEY" || test -s .services/admin-key || \
	  $(PY) -c "import secrets; print('adm_' + secrets.token_urlsafe(24))" > .services/admin-key
	@echo "operator key: $${PHONY_ADMIN_KEY:-$$(cat .services/admin-key)}  (ADMIN=\$$(cat .services/admin-key))"
	@PHONY_ADMIN_KEY="$${PHONY_ADMIN_KEY:-$$(cat .services/admin-key)}" .venv/bin/phony serve

lint: install
	@.venv/bin/ruff check phony tests bench clients/python
	@.venv/bin/ruff format --check phony tests bench clients/python
	@.venv/bin/mypy

## Debian's chromium for the dashboard's browser tests (Playwright drives it; its own browser
## download cannot be reached). A failed install does not stop the suite: those tests then fail, saying why.
browser:
	@command -v chromium >/dev/null || { \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  echo "installing chromium from Debian"; \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q chromium >/dev/null 2>&1 || { \
	    $$sudo apt-get update -q >/dev/null; \
	    DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q chromium >/dev/null; } || \
	  echo "could not install chromium: the dashboard's browser tests will fail" >&2; }

## Install and start what is needed, then lint, type-check and run the whole suite.
## pytest's exit code 5 (no tests collected) is a failure too.
test: services browser lint
	@.venv/bin/pytest -q -p no:cacheprovider $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

bench: services
	@$(PY) bench/rest.py

## Soak (not part of `make test`): 30 simulated calls on the line for 10 minutes on a split
## deployment; checks memory growth after warm-up and the Kafka log. Options: SOAK_ARGS="--calls 10 --minutes 1".
soak: services
	@$(PY) bench/soak.py $(SOAK_ARGS)
