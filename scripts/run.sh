#!/usr/bin/env bash
# Runs the whole system locally: the AWS emulator, the table, and the real `api` Lambda binary
# behind a local Lambda Runtime API + API Gateway (HTTP API v2) front door. Ctrl-C stops it all.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

export SIGN_SECRET="${SIGN_SECRET:-local-dev-secret}"
TABLE="${TABLE_NAME:-allocation-local}"
PORT="${PORT:-9000}"
if ! python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1])))" "$PORT" 2>/dev/null; then
  PORT=$(free_port)
fi

ensure_venv
log "building"
cargo build --locked -p api -p local
start_emulator
API_PID=""
cleanup() {
  if [ -n "$API_PID" ]; then kill "$API_PID" 2>/dev/null || true; wait "$API_PID" 2>/dev/null || true; fi
  stop_emulator
}
trap cleanup EXIT
trap 'exit 130' INT TERM

: > "$LOCAL_DIR/api.log"
target/debug/local setup-table --table "$TABLE"
target/debug/local serve-http --listen "127.0.0.1:$PORT" --name api --bin target/debug/api \
  --env TABLE_NAME="$TABLE" --env SIGN_SECRET="$SIGN_SECRET" --env LOG_FORMAT=text \
  > >(tee "$LOCAL_DIR/api.log") 2>&1 &
API_PID=$!
for _ in $(seq 1 150); do
  grep -q "listening on" "$LOCAL_DIR/api.log" 2>/dev/null && break
  if ! kill -0 "$API_PID" 2>/dev/null; then echo "the api did not start; see .local/api.log" >&2; exit 1; fi
  sleep 0.2
done
grep -q "listening on" "$LOCAL_DIR/api.log" || { echo "the api did not start in time" >&2; exit 1; }

URL="http://127.0.0.1:$PORT"
NOTICE=$(target/debug/local sign --notice "{\"orderNo\":\"P-DEMO-1\",\"bizOrderNo\":\"SDK_DEMO_1\",\"outOrderNo\":\"2026112222001400000000000001\",\"title\":\"演示订单\",\"channel\":\"ali_pay\",\"method\":\"qrcode\",\"amount\":10000,\"status\":\"success\",\"allocation\":true,\"autoAllocation\":false,\"payTime\":$(date +%s),\"code\":0,\"resTime\":$(date +%s)}")
cat <<MSG

The allocation service runs on $URL (sign secret: $SIGN_SECRET, table: $TABLE,
AWS emulator: $AWS_ENDPOINT_URL). Logs: .local/api.log. Try, from another terminal in $ROOT:

  # 1. feed a paid order, as a DaxPay gateway would (answers SUCCESS)
  curl -s $URL/feed/pay-order -H 'content-type: application/json' -d '$NOTICE'; echo

  # 2. query it with a signed merchant request (local sign adds reqTime and nonceStr)
  curl -s $URL/unipay/query/payOrder -H 'content-type: application/json' \\
    -d "\$(SIGN_SECRET=$SIGN_SECRET target/debug/local sign '{"orderNo":"P-DEMO-1"}')"; echo

Ctrl-C stops the api and the emulator.
MSG
wait "$API_PID"
