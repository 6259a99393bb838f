# mash-triage developer entry points; `make` lists them.
# PostgreSQL and Redis come from scripts/services.sh: servers already answering on 127.0.0.1:5432/6379,
# else throwaway ones it starts (see the script's header). Their URLs land in .local/services.env.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help
.PHONY: help services db run test openapi load-test bench

# A sandbox (MASH_SANDBOX__ENABLED=true make run) keeps its own database and Redis prefix: a
# sandbox refuses a database marked live, and the other way round.
SANDBOX := $(filter true,$(MASH_SANDBOX__ENABLED))
DEV_DB := $(if $(SANDBOX),mash_triage_sandbox_dev,mash_triage_dev)
BIN = $${CARGO_TARGET_DIR:-target}/debug/mash-triage
# Recipe prelude: service URLs, plus the dev database's two roles: DATABASE_URL (the runtime role,
# which serves and owns nothing) and MASH_DATABASE__MIGRATE_URL (the owner, which migrates).
LOAD_ENV = source .local/services.env; eval "$$(scripts/services.sh database $(DEV_DB))"

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-10s %s\n", $$1, $$2 }'

services: ## reuse or start PostgreSQL + Redis; writes .local/services.env
	@scripts/services.sh ensure

db: services ## roles mash_triage_owner + mash_triage_app, and database mash_triage_dev owned by the first
	@scripts/services.sh database $(DEV_DB) >/dev/null

run: db ## build, migrate (as owner), create demo agencies/keys, serve (as runtime role) on 127.0.0.1:8080 (MASH_SANDBOX__ENABLED=true: a sandbox)
	@$(LOAD_ENV)
	export REDIS_URL="$$MASH_REDIS_URL" MASH_REDIS__KEY_PREFIX=$(if $(SANDBOX),mash:sandbox-dev:,mash:dev:) MASH_LISTEN=127.0.0.1:8080
	$(if $(SANDBOX),export MASH_WEBHOOKS__ALLOW_HOSTS="$${MASH_WEBHOOKS__ALLOW_HOSTS:-127.0.0.1}")
	npm ci --prefix console --no-audit --no-fund --silent
	cargo build
	$(BIN) migrate
	$(BIN) demo
	$(if $(SANDBOX),printf '\n  SANDBOX: each agency moves its own test clock with POST /v1/sandbox/clock (guide: http://127.0.0.1:8080/docs/integration)\n')
	printf '\n  mash-triage on http://127.0.0.1:8080 - API docs: http://127.0.0.1:8080/docs - staff console: http://127.0.0.1:8080/console  (Ctrl-C stops)\n\n'
	exec $(BIN) serve

test: services ## fmt check, clippy, tests (nextest if installed), OpenAPI lint, Helm check, alert rules, dashboards, API contract, partner walkthrough, console in a browser
	@source .local/services.env
	export MASH_TEST_PG_ADMIN_URL="$$MASH_PG_ADMIN_URL" MASH_TEST_REDIS_URL="$$MASH_REDIS_URL"
	step() { printf '\n==> %s\n' "$$*"; }
	step "console packages (npm ci: GOV.UK Frontend, embedded by the build; the browser tests' driver)"
	npm ci --prefix console --no-audit --no-fund --silent
	step "cargo fmt --check";  cargo fmt --all -- --check
	step "cargo clippy";       cargo clippy --all-targets -- -D warnings
	step "drop leftover mash_test_* databases"
	for d in $$(psql "$$MASH_PG_ADMIN_URL" -XAtc "select datname from pg_database where left(datname, 10) = 'mash_test_'"); do
	  psql "$$MASH_PG_ADMIN_URL" -Xqc "drop database if exists \"$$d\"" || echo "kept $$d (in use?)"
	done
	if command -v cargo-nextest >/dev/null; then
	  step "cargo nextest run"; cargo nextest run --no-fail-fast
	else
	  step "cargo test (cargo-nextest not installed)"; cargo test --no-fail-fast
	fi
	step "OpenAPI lint";       scripts/lint-openapi.sh
	step "Helm chart lint, render, schema"; scripts/check-helm.sh
	step "Alert rules (promtool)"; scripts/monitoring-test.sh rules
	step "Dashboards against the service (a real Prometheus scraping real work)"; scripts/monitoring-live.sh
	step "API contract (schemathesis, agency and manager keys)"; scripts/contract-test.sh
	step "Partner walkthrough in a sandbox (webhooks verified by PyPI's standardwebhooks)"; scripts/partner-walkthrough.sh
	step "Console in Chromium (playwright-core, axe-core on every page)"; scripts/console-e2e.sh

openapi: services ## regenerate openapi/openapi.json from the code
	@source .local/services.env
	export MASH_TEST_PG_ADMIN_URL="$$MASH_PG_ADMIN_URL" MASH_TEST_REDIS_URL="$$MASH_REDIS_URL"
	UPDATE_OPENAPI=1 cargo test --test api openapi_committed

load-test: services ## run load-tests/run.sh (loopback only)
	@source .local/services.env
	load-tests/run.sh

bench: services ## cargo bench (classification, and the ladder against PostgreSQL and Redis)
	@source .local/services.env
	export MASH_TEST_PG_ADMIN_URL="$$MASH_PG_ADMIN_URL" MASH_TEST_REDIS_URL="$$MASH_REDIS_URL"
	cargo bench
