#!/usr/bin/env bash
# Soaks the running local system (start it first: scripts/run.sh): two merchants drive ORDERS
# orders through feed, start, settlement, sync and auto finish, and the emulator's memory and
# the start latency are printed at the start and the end. Usage: scripts/soak.sh [ORDERS]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ -f "$ROOT/.local/run.env" ] || { echo "start the system first: scripts/run.sh" >&2; exit 1; }
exec python3 "$ROOT/scripts/soak.py" "$@"
