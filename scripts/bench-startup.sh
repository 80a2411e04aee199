#!/usr/bin/env bash
# The figures of issue #11, in one run on this machine:
#   1. stripped release sizes of the three functions and of a hello-world lambda_http function
#      built with the same crate versions and profile (dev/hello), and their zip sizes (deflate -9,
#      as a Lambda deployment package holds `bootstrap`);
#   2. init (spawn → first Runtime API poll) of each, interleaved round by round, as ratios of
#      hello's: with both channels configured, and with only the table and the secret;
#   3. criterion: the CPU of a start request (2 and 50 receivers) and of a query before any I/O;
#   4. DynamoDB capacity units of a start at 2 and 50 receivers on both channels, counted from
#      the requests sent (shared/tests/suite/cost.rs), as dollars per million starts.
#   5. with --arm64: the stripped sizes of `cargo lambda build --release --arm64` (cargo-lambda
#      and zig from PyPI into .venv-lambda, pinned; the aarch64 standard library by rustup).
# Usage: scripts/bench-startup.sh [--runs N] [--skip-cpu] [--skip-cost] [--arm64]
# Set BENCH_BINS=DIR to time binaries built elsewhere (api, worker, scheduler, hello in DIR)
# beside this tree's, e.g. a build of an earlier commit: both appear in the one interleaved run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

RUNS=100
CPU=1
COST=1
ARM=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --skip-cpu) CPU=0; shift ;;
    --skip-cost) COST=0; shift ;;
    --arm64) ARM=1; shift ;;
    *) echo "usage: $0 [--runs N] [--skip-cpu] [--skip-cost] [--arm64]" >&2; exit 2 ;;
  esac
done

cargo build --locked --release -p api -p worker -p scheduler -p hello
cargo build --locked -p local -p alipay-sim -p wechat-sim
ensure_venv

echo "== sizes (stripped release, $(uname -m)) =="
zipsize() {
  "$VENV/bin/python" - "$1" <<'EOF'
import io, sys, zipfile
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    z.write(sys.argv[1], "bootstrap")
print(len(buf.getvalue()))
EOF
}
mb() { awk -v b="$1" 'BEGIN { printf "%.2f MB", b / 1e6 }'; }
hello_size=$(wc -c <target/release/hello)
for bin in hello api worker scheduler; do
  size=$(wc -c <"target/release/$bin")
  zip=$(zipsize "target/release/$bin")
  printf '  %-10s binary %s (%s bytes, %.1f× hello)  zip %s\n' "$bin" "$(mb "$size")" "$size" \
    "$(awk -v a="$size" -v b="$hello_size" 'BEGIN { print a / b }')" "$(mb "$zip")"
done

BINS="hello=target/release/hello,api=target/release/api,worker=target/release/worker,scheduler=target/release/scheduler"
if [[ -n "${BENCH_BINS:-}" ]]; then
  for bin in api worker scheduler; do
    [[ -x "$BENCH_BINS/$bin" ]] && BINS="$BINS,$bin@before=$BENCH_BINS/$bin"
  done
fi

APP_KEYS=$(target/debug/alipay-sim keygen)
ALI_KEYS=$(target/debug/alipay-sim keygen)
MCH_KEYS=$(target/debug/wechat-sim keygen)
WX_KEYS=$(target/debug/wechat-sim keygen)
key() { sed -n "s/^$1=//p" <<<"$2"; }
COMMON=(--env TABLE_NAME=allocation --env SIGN_SECRET=bench --env QUEUE_URL=http://127.0.0.1:1/queue
  --env AWS_ACCESS_KEY_ID=test --env AWS_SECRET_ACCESS_KEY=test --env AWS_REGION=us-east-1
  --env AWS_ENDPOINT_URL=http://127.0.0.1:1)
CHANNELS=(--env ALIPAY_APP_ID=2021000000000001 --env ALIPAY_GATEWAY_URL=http://127.0.0.1:1/gateway.do
  --env ALIPAY_PRIVATE_KEY="$(key private "$APP_KEYS")" --env ALIPAY_PUBLIC_KEY="$(key public "$ALI_KEYS")"
  --env WECHAT_MCHID=1900000109 --env WECHAT_APPID=wx8888888888888888
  --env WECHAT_MERCHANT_SERIAL=5157F09EFDC096DE15EBE81A47057A7232F1B8E1
  --env WECHAT_PUBLIC_KEY_ID=PUB_KEY_ID_0114232134912410000000000000 --env WECHAT_BASE_URL=http://127.0.0.1:1
  --env WECHAT_PRIVATE_KEY="$(key private "$MCH_KEYS")" --env WECHAT_PUBLIC_KEY="$(key public "$WX_KEYS")"
  --env WECHAT_APIV3_KEY=a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6)

echo "== init, both channels configured =="
target/debug/local startup --bins "$BINS" --runs "$RUNS" "${COMMON[@]}" "${CHANNELS[@]}"
echo "== init, only the table and the secret =="
target/debug/local startup --bins "$BINS" --runs "$RUNS" "${COMMON[@]}"

if [[ $CPU == 1 ]]; then
  echo "== request CPU before I/O (criterion) =="
  cargo bench --locked -p bench --bench request -- --noplot 2>&1 \
    | awk '/time:/ { $1 = $1; if ($1 == "time:") print "  " name " " $0; else print "  " $0; next }
           /^[a-z]/ { name = $1 }'
fi

if [[ $COST == 1 ]]; then
  echo "== DynamoDB units and cost per million starts =="
  start_emulator
  trap stop_emulator EXIT
  cargo test --locked -q -p shared --test suite cost -- --nocapture --test-threads 1 2>&1 \
    | grep -E 'start, |test result' | sed 's/^\.*//; s/^/  /'
fi

if [[ $ARM == 1 ]]; then
  echo "== arm64 (cargo lambda build --release --arm64) =="
  LVENV="$ROOT/.venv-lambda"
  if [[ ! -x "$LVENV/bin/cargo-lambda" ]]; then
    python3 -m venv "$LVENV"
    "$LVENV/bin/pip" install -q cargo-lambda==1.9.2 ziglang==0.17.1
  fi
  rustup target add aarch64-unknown-linux-gnu >/dev/null
  # -j 1: the cold build of the three functions peaks near 2.8 GB of memory with one job
  PATH="$LVENV/bin:$PATH" cargo lambda build --release --arm64 -j 1 \
    -p api -p worker -p scheduler >/dev/null
  for bin in api worker scheduler; do
    f="target/lambda/$bin/bootstrap"
    size=$(wc -c <"$f")
    printf '  %-10s binary %s (%s bytes)  zip %s\n' "$bin" "$(mb "$size")" "$size" "$(mb "$(zipsize "$f")")"
  done
fi
