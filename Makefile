# The two commands of the README. Both install what they need: a pinned uv in .tools,
# then the locked dependencies (uv.lock) into .venv.
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test lint bench catalogs chromium

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

## Start the bot on its embedded default (SQLite; the local sandbox when no bot token is set).
run: $(UV)
	$(UV) run --locked stegvis run

## Install and run the whole test suite: lint, types, then pytest.
## The dashboard's browser tests drive the system's Chromium (from Debian, never a download).
test: $(UV) chromium
	$(UV) sync --locked --quiet
	$(UV) run --locked ruff check .
	$(UV) run --locked ruff format --check .
	$(UV) run --locked mypy
	$(UV) run --locked pytest

chromium:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	fi

lint: $(UV)
	$(UV) run --locked ruff check --fix .
	$(UV) run --locked ruff format .

## Re-extract the message catalog and compile every locale.
catalogs: $(UV)
	$(UV) run --locked stegvis i18n update

bench: $(UV)
	$(UV) run --locked python -m bench
