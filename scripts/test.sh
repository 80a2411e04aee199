#!/usr/bin/env bash
# Runs every check and every test on a fresh machine (Rust toolchain and python3 assumed):
# formatting, the SAM template lint (cfn-lint, then sam validate --lint), clippy, then the whole
# test suite against a local AWS emulator started on a free port and always stopped afterwards,
# then the system test: the whole local system walked by the CLI and checked against its OpenAPI
# contract (scripts/system-test.sh), then a short chaos soak: 100 orders through a fresh local
# system with AWS faults, sandbox crashes and SQS duplicates injected, and its invariants checked
# (scripts/chaos.sh, about 3 minutes).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

# One cold build per run: incremental caches would only add a few hundred MB to target/.
export CARGO_INCREMENTAL=0

ensure_venv
log "cargo fmt --check"
cargo fmt --all -- --check
log "cfn-lint template.yaml"
"$VENV/bin/cfn-lint" template.yaml
ensure_sam
log "sam validate --lint"
# Offline: no telemetry, and a region so that no AWS configuration is looked for.
SAM_CLI_TELEMETRY=0 AWS_REGION=us-east-1 "$SAM_VENV/bin/sam" validate --lint --template template.yaml
log "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

start_emulator
trap stop_emulator EXIT
log "cargo test"
cargo test --workspace --locked
stop_emulator

log "system test"
scripts/system-test.sh

log "chaos soak, short (logs: .local-chaos/)"
scripts/chaos.sh 100 --faults 0.05 --crashes 0.02 --dupes 0.10
