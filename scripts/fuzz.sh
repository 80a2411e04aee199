#!/usr/bin/env bash
# Runs the coverage-guided fuzz targets of dev/fuzz (cargo fuzz, libFuzzer, nightly toolchain)
# for a bounded time each, from a seed corpus made of the test fixtures, and prints how many
# inputs each ran. A crash fails the run and leaves its input in dev/fuzz/artifacts/<target>/.
#
#   scripts/fuzz.sh [--seconds N] [TARGET...]     (default: 60 s for each of the six targets)
#
# Installs cargo-fuzz (pinned) into .local/cargo-fuzz; the corpora grow in .local/fuzz/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

CARGO_FUZZ_VERSION=0.13.2
ALL=(json_tree request sign_roundtrip daxpay_notices alipay wechat)
seconds=60
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "cargo fuzz needs a nightly toolchain (rustup toolchain install nightly)" >&2
  exit 2
fi
tools="$LOCAL_DIR/cargo-fuzz"
if ! "$tools/bin/cargo-fuzz" --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION into .local/cargo-fuzz"
  cargo install --quiet --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION" --root "$tools"
fi
export PATH="$tools/bin:$PATH"

# Seeds from the fixtures: the signing vectors' objects (requests, answers, notices) and one
# message of each channel shape, each with the selector byte its target reads first.
seeds="$LOCAL_DIR/fuzz/seeds"
rm -rf "$seeds"
python3 - "$seeds" <<'PY'
import json, os, sys
out = sys.argv[1]
NOW = 1764000000
def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
vectors = json.load(open("shared/tests/fixtures/sign.json"))["vectors"]
for v in vectors:
    text = json.dumps(v["object"], ensure_ascii=False, separators=(",", ":")).encode()
    put("json_tree", v["name"], text)
    put("sign_roundtrip", v["name"], text)
    fresh = dict(v["object"], reqTime=NOW)
    fresh.pop("sign", None)
    body = json.dumps(fresh, ensure_ascii=False).encode()
    for which in range(17):
        put("request", f"{v['name']}-{which}", bytes([which]) + body)
# the operations lists' own members (no vector carries them)
for which, extra in ((14, {"pageSize": 2, "cursor": "1719475200.DEVA1"}),
                     (16, {"status": "finish", "day": "2026-12-01", "pageSize": 3})):
    put("request", f"ops-{which}", bytes([which]) + json.dumps(dict(extra, reqTime=NOW)).encode())
    for which in (0, 1, 0x80, 0x81):
        put("daxpay_notices", f"{v['name']}-{which}", bytes([which]) + body)
node = b'{"code":"10000","msg":"Success","settle_no":"20241201000001","out_request_no":"A1",' \
       b'"royalty_detail_list":[{"operation_type":"transfer","trans_in":"2088000000000001",' \
       b'"trans_in_type":"userId","state":"SUCCESS","amount":"1.00"}]}'
for which in range(48):
    put("alipay", f"answer-{which}", bytes([which]) + node)
notice = b'{"out_order_no":"P1","transaction_id":"4200000001","order_id":"3008450740201411110007820472",' \
         b'"receiver":{"type":"MERCHANT_ID","account":"1900000110","amount":100,"description":"d"}}'
order = b'{"order_id":"3008","out_order_no":"P1","state":"FINISHED","receivers":[{"type":"MERCHANT_ID",' \
        b'"account":"1900000110","amount":100,"result":"SUCCESS","detail_id":"36011111111111111111111"}]}'
put("wechat", "headers", b"\x00" + str(NOW).encode() + b"\xffn0nce\xffc2lnbg==\xff" + notice)
put("wechat", "notice", b"\x01" + notice)
put("wechat", "order", b"\x02" + order)
PY

total=0
failed=()
for t in "${targets[@]}"; do
  corpus="$LOCAL_DIR/fuzz/corpus/$t"
  mkdir -p "$corpus"
  log "fuzzing $t for ${seconds}s"
  out="$LOCAL_DIR/fuzz/$t.log"
  if cargo +nightly fuzz run --fuzz-dir dev/fuzz "$t" "$corpus" "$seeds/$t" -- \
      -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 > "$out" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out" | grep -o '[0-9]*$' | tail -1)
    runs=${runs:-0}
    total=$((total + runs))
    printf '%-16s %12d inputs run, corpus %d files\n' "$t" "$runs" "$(ls "$corpus" | wc -l)"
  else
    failed+=("$t")
    echo "$t FAILED; log: .local/fuzz/$t.log, input: dev/fuzz/artifacts/$t/" >&2
    grep -E 'panicked|ERROR|SUMMARY' "$out" | head -5 >&2 || true
  fi
done
printf 'all targets: %d inputs run\n' "$total"
[ ${#failed[@]} -eq 0 ]
