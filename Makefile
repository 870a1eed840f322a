# Warden — entry points. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV       ?= .venv
MOTO_PORT  ?= 5000
ARCH       ?= arm64
FUNCTIONS  := remediator approvals request-validator config-rules
FN         ?= remediator
EVENT      ?= events/remediator/scheduled-sweep.json

# The virtualenv's bin first: `cargo lambda`, and the python3 that has ziglang (cargo lambda's linker).
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export CARGO_TARGET_DIR ?= $(CURDIR)/target
# Every cargo command selects the whole workspace (--workspace, or a --bin at the root), so
# features unify the same way each time and the AWS SDK crates are compiled once, not per command.
# Every AWS SDK client (Rust and boto3) reaches the local AWS through these.
export AWS_ENDPOINT_URL ?= http://127.0.0.1:$(MOTO_PORT)
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing
export AWS_REGION ?= us-east-1
export AWS_EC2_METADATA_DISABLED := true
export MOTO_PORT

LOCAL_AWS := scripts/local-aws.sh
SCAN_VENV := .venv-scan
# Context for the CDK app (`make synth`, `make deploy`): your values, e.g.
#   WARDEN_CONTEXT='-c warden:approvalEmails=secops@example.com -c warden:codestarConnectionArn=arn:…'
# `make synth` adds an example connection so the pipeline stack is checked too.
EXAMPLE_CONNECTION := arn:aws:codeconnections:us-east-1:123456789012:connection/0c1d2e3f-0000-4000-8000-000000000000
WARDEN_CONTEXT ?=
CDK_DEPLOY_FLAGS ?=

.PHONY: help
help: ## Show the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV)/.installed: requirements-dev.txt
	@echo "==> Python tooling (moto, cargo-lambda, ziglang, the pinned ollama client) into $(VENV)"
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Create the Python virtualenv with the local AWS and cargo-lambda

.PHONY: up
up: venv ## Start the local AWS (moto server on 127.0.0.1:$MOTO_PORT)
	@$(LOCAL_AWS) up

.PHONY: down
down: ## Stop the local AWS
	@$(LOCAL_AWS) down

.PHONY: env
env: ## Print the environment for running tests or the CLI by hand against the local AWS
	@echo "export AWS_ENDPOINT_URL=$(AWS_ENDPOINT_URL) AWS_ACCESS_KEY_ID=$(AWS_ACCESS_KEY_ID) AWS_SECRET_ACCESS_KEY=$(AWS_SECRET_ACCESS_KEY) AWS_REGION=$(AWS_REGION) AWS_EC2_METADATA_DISABLED=true"

.PHONY: lint
lint: ## rustfmt check and clippy with warnings as errors
	@echo "==> lint: cargo fmt --check, cargo clippy -D warnings"
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

.PHONY: unit
unit: ## Unit tests (pure logic, no AWS)
	@echo "==> unit tests"
	cargo test --workspace --locked --lib --bins

.PHONY: integration
tests/clients/node_modules/.installed: tests/clients/package-lock.json
	@echo "==> the pinned JavaScript clients the compatibility tests drive (npm ci in tests/clients)"
	cd tests/clients && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

tests/oidc/node_modules/.installed: tests/oidc/package-lock.json
	@echo "==> the OpenID Connect provider approvers sign in to in the tests (npm ci in tests/oidc)"
	cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: client-deps
client-deps: venv tests/clients/node_modules/.installed tests/oidc/node_modules/.installed ## The pinned Ollama clients (Python in .venv, JavaScript in tests/clients) and the local OpenID Connect provider (tests/oidc)

integration: venv client-deps ## Integration tests against the local AWS (started if needed)
	@echo "==> integration tests against the local AWS"
	@AWS_MAX_ATTEMPTS=1 $(LOCAL_AWS) run -- cargo test --workspace --locked --test '*'

.PHONY: browser-deps
browser-deps: ## Headless Chromium (Debian package) and playwright-core for the browser test
	@scripts/ensure-chromium.sh
	@cd tests/browser && npm ci --no-audit --no-fund --loglevel=error

.PHONY: e2e
e2e: venv bins client-deps browser-deps ## The demo with assertions (a real browser approves), and every sample through `cargo lambda invoke`
	@echo "==> end to end: cargo lambda watch + invoke against the local AWS"
	@$(LOCAL_AWS) run -- $(VENV)/bin/python scripts/demo.py --check

infra/node_modules/.installed: infra/package-lock.json
	@echo "==> CDK app dependencies (npm ci in infra/)"
	cd infra && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(SCAN_VENV)/.installed: requirements-scan.txt
	@echo "==> template scanners (cfn-lint, checkov) into $(SCAN_VENV)"
	python3 -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-scan.txt
	@touch $@

.PHONY: synth
synth: infra/node_modules/.installed ## Synthesize every stack offline (cdk-nag and cfn-guard run in the synth; no bundling)
	@echo "==> cdk synth (offline, functions not built: templates for checking, not deploying)"
	cd infra && npx cdk synth --quiet -c warden:bundle=false -c warden:codestarConnectionArn=$(EXAMPLE_CONNECTION) $(WARDEN_CONTEXT)
	@echo "    templates in infra/cdk.out; cdk-nag AwsSolutions and cfn-guard: no unacknowledged finding"

.PHONY: infra-test
infra-test: synth $(SCAN_VENV)/.installed venv ## The CDK app: assertion tests, template scans, event wiring against the local AWS
	@echo "==> infra: type check (tsc) and assertion tests (node --test)"
	cd infra && npm run typecheck --silent && npm test --silent
	$(SCAN_VENV)/bin/python scripts/scan_templates.py infra/cdk.out infra/scan-skips.json $(SCAN_VENV)/bin
	@echo "==> event wiring: every EventBridge sample in events/ against the synthesized rules"
	@$(LOCAL_AWS) run -- $(VENV)/bin/python scripts/check_event_wiring.py infra/cdk.out events

.PHONY: deploy
deploy: venv infra/node_modules/.installed ## Deploy every stack with cdk (builds the functions with cargo lambda, arm64); see README
	@rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true
	cd infra && npx cdk deploy --all $(WARDEN_CONTEXT) $(CDK_DEPLOY_FLAGS)

.PHONY: test
test: lint unit integration e2e infra-test ## Everything CI runs: lint, unit, integration, end to end, the CDK app
	@echo "==> all tests passed"

.PHONY: bench
bench: venv ## Benchmarks: planner and validator throughput, validator cold start, streamed time to first byte, remediation latency against the local AWS
	@echo "==> planner and parser (pure)"
	cargo bench --workspace --locked --bench planner
	@echo "==> request validation: chat requests of 1, 8 and 64 KB (criterion)"
	cargo bench --workspace --locked --bench validator
	@echo "==> request validation under crafted input: 32 shapes at 64 KB and 1 MiB, each within 3x of prose"
	cargo bench --workspace --locked --bench worst_case
	@echo "==> request validator: process start to ready (release binary)"
	cargo build --release --locked --bin request-validator
	cargo bench --workspace --locked --bench cold_start
	@echo "==> streamed answers: time to first byte through the release binary, streaming vs buffered"
	@AWS_MAX_ATTEMPTS=1 $(LOCAL_AWS) run -- cargo bench --workspace --locked --bench stream_ttfb
	@echo "==> remediation latency against the local AWS"
	@AWS_MAX_ATTEMPTS=1 $(LOCAL_AWS) run -- cargo bench --workspace --locked --bench remediation_latency

BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed: requirements-bench.txt
	@echo "==> Cloud Custodian (c7n, pinned) into $(BENCH_VENV), for the side-by-side benchmark"
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	@touch $@

.PHONY: bench-compare
bench-compare: venv $(BENCH_VENV)/.installed ## Containment beside Cloud Custodian: the same sweep, the same local AWS, the same added latency per call (WARDEN_BENCH_LATENCY_MS, 50), interleaved runs (WARDEN_BENCH_RUNS, 5)
	@echo "==> the remediator, release build (the first one compiles the AWS SDK with optimisations: many minutes)"
	cargo build --release --locked --bin remediator
	@$(LOCAL_AWS) run -- $(VENV)/bin/python scripts/bench_compare.py

.PHONY: guard-eval
guard-eval: ## Recall and false-positive rate of the prompt guard on tests/corpus, with every miss
	cargo test --locked -p warden-integration-tests --test guard_corpus -- --nocapture --test-threads 1

FUZZ_SECONDS ?= 60
FUZZ_TIMEOUT ?= 1
FUZZ_MAX_LEN ?= 131072
.PHONY: fuzz
fuzz: ## Fuzz request validation and the content detectors (cargo-fuzz; FUZZ_SECONDS each, default 60); an input slower than FUZZ_TIMEOUT seconds (1) is a failure
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cd fuzz && for t in validate_request openai_request scan_text; do \
	  RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$(CARGO_TARGET_DIR)-fuzz cargo fuzz run -O $$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) -max_len=$(FUZZ_MAX_LEN) -len_control=0 || exit 1; done

.PHONY: bins
bins:
	@echo "==> building the functions, the warden CLI and the Ollama stand-in (the first build compiles the AWS SDK: minutes)"
	cargo build --locked --bin remediator --bin approvals --bin request-validator --bin config-rules --bin warden --bin fake-ollama

.PHONY: demo
demo: venv bins client-deps ## The story: exposure undone, a GPU node isolated, inference refused, an abuser suspended, a compliance report
	@$(LOCAL_AWS) run -- $(VENV)/bin/python scripts/demo.py

.PHONY: build
build: venv ## Release zips for Lambda (ARCH=arm64 by default; ARCH=x86_64 also works)
	@if [ "$(ARCH)" = arm64 ]; then rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || \
	  echo "note: could not add the aarch64 target with rustup; try ARCH=x86_64"; fi
	cargo lambda build --release --$(ARCH) --output-format zip $(addprefix --bin ,$(FUNCTIONS))
	@ls -l $(CARGO_TARGET_DIR)/lambda/*/bootstrap.zip

.PHONY: watch
watch: venv ## Run the functions locally (needs `make up`; set WARDEN_TABLE_NAME and WARDEN_TOPIC_ARN)
	cargo lambda watch -P 9000

.PHONY: invoke
invoke: venv ## Invoke a function under `make watch`: make invoke FN=remediator EVENT=events/…json
	cargo lambda invoke $(FN) -P 9000 --data-file $(EVENT)

.PHONY: clean
clean: down ## Remove build output and local state
	cargo clean
	rm -rf .local infra/cdk.out
