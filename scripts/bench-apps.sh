#!/usr/bin/env bash
# Does the number of apps in the table change what a start costs? Against the local AWS
# emulator: a table holding one app and one holding N (default 10,000), the same warm app
# starting orders on both, interleaved; prints the two median starts and their ratio.
# Usage: scripts/bench-apps.sh [APPS] [STARTS]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_venv
cargo build --locked --release -p local
start_emulator
trap stop_emulator EXIT
target/release/local bench-apps --apps "${1:-10000}" --starts "${2:-200}"
