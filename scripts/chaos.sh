#!/usr/bin/env bash
# The chaos soak (SPEC §9): starts a fresh local system (scripts/run.sh, in its own .local-chaos/
# folder and on free ports), drives ORDERS orders of three apps on both channels through it with
# AWS faults, sandbox crashes and SQS duplicates injected, heals, waits for it to converge and
# checks the invariants from the channel simulators' ledgers and the store (scripts/chaos.py says
# what exactly). Everything it started is stopped when it ends, whatever the outcome.
#
# Usage: scripts/chaos.sh [ORDERS] [--faults RATE] [--crashes RATE] [--dupes RATE]
#                         [--notice-fail RATE] [--seed N] [chaos.py's other options]
#   ORDERS          default 100
#   --faults R      the share of AWS calls failed (DynamoDB, SQS sends, KMS), default 0
#   --crashes R     the share of function invocations killed after one of their calls, default 0
#   --dupes R       the share of SQS messages delivered twice (and of batches reordered), default 0
#   --notice-fail R the share of merchant notices the notice sink refuses, default 0.1
# e.g. scripts/chaos.sh 100 --faults 0.05 --crashes 0.02 --dupes 0.10
# The last line is `chaos: N orders, F faults, C crashes, D duplicates: invariants held` (exit 0)
# or `...: K violations` (exit 1). Logs: .local-chaos/ (chaos-driver.log: every order's story;
# chaos-stories.log: the run's log lines naming the orders that broke an invariant).
set -euo pipefail
export LOCAL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.local-chaos"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

NOTICE_FAIL=0.1
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --notice-fail) NOTICE_FAIL="${2:?--notice-fail needs a rate}"; shift 2 ;;
    --notice-fail=*) NOTICE_FAIL="${1#*=}"; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
SEED=1
for ((i = 0; i < ${#ARGS[@]}; i++)); do
  [ "${ARGS[$i]}" = --seed ] && SEED="${ARGS[$((i + 1))]:-1}"
done

BEGAN=$(date +%s)
rm -rf "$LOCAL_DIR"
mkdir -p "$LOCAL_DIR"
export NOTICE_SINK_FAIL_RATE="$NOTICE_FAIL" NOTICE_SINK_SEED="$SEED"
# Notices retried within minutes rather than DaxPay's hours, so that one refused four times
# in a row is still delivered within the convergence bound.
export NOTIFY_DELAYS_SECS="${NOTIFY_DELAYS_SECS:-5,5,10,15,20,30,30,60,60,60,120,120,120,120,120}"
log "chaos: starting the local system (log: .local-chaos/run.log)"
trap stop_local_system EXIT
trap 'exit 130' INT TERM
start_local_system
log "chaos: the system is up after $(($(date +%s) - BEGAN)) s; driving"

# chaos.py prints the wall time from here (the system's start included) before its last line
export CHAOS_BEGAN="$BEGAN"
RC=0
"$VENV/bin/python" "$ROOT/scripts/chaos.py" "${ARGS[@]}" 2>&1 | tee "$LOCAL_DIR/chaos.log" || RC=$?
exit "$RC"
