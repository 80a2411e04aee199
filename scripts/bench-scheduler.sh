#!/usr/bin/env bash
# Measures one scheduler run against the local AWS emulator: seeds N due items (default 2000),
# dispatches them, prints items/s and the run time as a ratio of the sum of its round trips.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_venv
cargo build --locked --release -p local
start_emulator
trap stop_emulator EXIT
target/release/local bench-scheduler --items "${1:-2000}"
