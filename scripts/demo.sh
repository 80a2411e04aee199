#!/usr/bin/env bash
# Walks the running local system (scripts/run.sh) from a paid order to a finished allocation and
# a refund after the split, every merchant call through the `alloc` CLI (target/debug/alloc,
# which signs each request and verifies each answer); the pay-order and refund feeds and the
# channel simulators' control API stay curl. Every command of the CLI runs at least once, and
# every outcome is checked: the demo stops with a message at the first one that is not as
# expected (a refusal it asks for must exit 1).
# Usage: scripts/demo.sh [alipay|wechat|beta4] [--app N | --isv]   (default alipay). Needs curl
# and python3.
#   --app N   walk as app N of the local run (shop-N under /app/shop-N, its own sign secret and
#             its own accounts at the simulators) instead of the stack's default app
#   --isv     walk in provider mode (SPEC §6.5) as the run's app under its service provider
#             (ISV_APP_URL): the trade is paid to the WeChat Pay sub-merchant / the Alipay merchant
#             that authorised the provider's app; at the end, what the simulator saw: every call
#             of the walk carried sub_mchid / the merchant's app_auth_token (scripts/demo-isv.sh)
#   beta4     a shorter walk on Alipay in DaxPay 3.0.0-beta4's dialect (/unipay/alloc/...: appId
#             in the body, reqTime as Beijing text, amounts in yuan), bodies signed by
#             `alloc sign --beta4` as that SDK signs them
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
LOCAL_DIR="${LOCAL_DIR:-$ROOT/.local}"
[ -f "$LOCAL_DIR/run.env" ] || { echo "start the system first: scripts/run.sh" >&2; exit 1; }
source "$LOCAL_DIR/run.env"
ALLOC_BIN="$ROOT/target/debug/alloc"
[ -x "$ALLOC_BIN" ] || { echo "no $ALLOC_BIN: scripts/run.sh builds it (cargo build -p alloc-cli)" >&2; exit 1; }
MODE="${1:-alipay}"
APP_N=""
ISV=""
if [ "${2:-}" = --app ]; then
  APP_N="${3:?--app needs a number}"
elif [ "${2:-}" = --isv ]; then
  ISV=1
fi
# Which app: the stack's default one (routes without a prefix), app N of the local run, or the
# local run's app under its service provider.
BASE="$URL"; SECRET="$SIGN_SECRET"; APP_ID="${DEFAULT_APP_ID:-default}"; SEED_OWNER_ALI=""; SEED_OWNER_WX=""
if [ -n "$APP_N" ]; then
  id_var="APP${APP_N}_ID"; url_var="APP${APP_N}_URL"; secret_var="APP${APP_N}_SECRET"
  ali_var="APP${APP_N}_ALIPAY_APP_ID"; wx_var="APP${APP_N}_WECHAT_MCHID"
  [ -n "${!url_var:-}" ] || { echo "no app $APP_N in $LOCAL_DIR/run.env" >&2; exit 2; }
  APP_ID="${!id_var}"; BASE="${!url_var}"; SECRET="${!secret_var}"
  SEED_OWNER_ALI=",\"app_id\":\"${!ali_var}\""; SEED_OWNER_WX=",\"mchid\":\"${!wx_var}\""
elif [ -n "$ISV" ]; then
  [ -n "${ISV_APP_URL:-}" ] || { echo "no app under a provider in $LOCAL_DIR/run.env (restart scripts/run.sh)" >&2; exit 2; }
  APP_ID="$ISV_APP_ID"; BASE="$ISV_APP_URL"; SECRET="$ISV_APP_SECRET"
  # paid to the authorised merchant through the provider's Alipay app / to the sub-merchant
  SEED_OWNER_ALI=",\"isv_app_id\":\"$ISV_ALIPAY_APP_ID\",\"user_id\":\"$ISV_ALIPAY_USER_ID\""
  SEED_OWNER_WX=",\"sp_mchid\":\"$ISV_SP_MCHID\",\"sub_mchid\":\"$ISV_SUB_MCHID\""
fi
# The CLI's settings, from the environment only: a developer's own config file is not read.
export ALLOC_URL="$BASE" ALLOC_SIGN_SECRET="$SECRET" ALLOC_SIGN_TYPE=HMAC_SHA256 \
  ALLOC_SPELLING=2.0.7 ALLOC_TIMEOUT_SECS=30 ALLOC_RETRIES=2
export XDG_CONFIG_HOME="$LOCAL_DIR/no-alloc-config"
unset ALLOC_CLIENT_IP
RUN=$(date +%s)
ORDER="P$RUN"; TRADE="2026$RUN"; GROUP="G$RUN"
case "$MODE" in
  alipay|beta4)
    CHANNEL=ali_pay
    SEED="$SIM_URL/__sim/trades"; SEED_BODY="{\"trade_no\":\"$TRADE\",\"amount_fen\":10000$SEED_OWNER_ALI}"
    TYPE1=ali_user_id; ACCOUNT1=2088000000000011; TYPE2=ali_login_name; ACCOUNT2=staff@example.com
    TYPE3=ali_user_id; ACCOUNT3=2088000000000033
    COMPLETE_URL="$SIM_URL/__sim/complete"
    complete_body() { echo "{\"trade_no\":\"$TRADE\",\"out_request_no\":\"$1\",\"outcomes\":{}}"; }
    # the gateway's alipay.trade.refund, carrying the return's refund_royalty_parameters row
    REFUND_URL="$SIM_URL/__sim/refund"
    REFUND_BODY="{\"trade_no\":\"$TRADE\",\"out_request_no\":\"RF$RUN\",\"refund_amount_fen\":3000,\"royalty\":[{\"trans_out_type\":\"userId\",\"trans_out\":\"$ACCOUNT1\",\"amount_fen\":2500}]}" ;;
  wechat)
    CHANNEL=wechat_pay
    SEED="$WX_URL/__sim/transactions"; SEED_BODY="{\"transaction_id\":\"$TRADE\",\"amount_fen\":10000$SEED_OWNER_WX}"
    TYPE1=wx_merchant; ACCOUNT1=1900000110; TYPE2=wx_personal; ACCOUNT2=oUpF8uMuAJO_M2pxb1Q9zNjWeS6o
    TYPE3=wx_personal; ACCOUNT3=oUpF8uMuAJO_M2pxb1Q9zNjWeS7p
    COMPLETE_URL="$WX_URL/__sim/complete"
    complete_body() { echo "{\"transaction_id\":\"$TRADE\",\"out_order_no\":\"$1\",\"outcomes\":{}}"; }
    REFUND_URL="$WX_URL/__sim/refund"
    REFUND_BODY="{\"transaction_id\":\"$TRADE\",\"out_refund_no\":\"RF$RUN\",\"amount_fen\":3000}" ;;
  *) echo "usage: scripts/demo.sh [alipay|wechat|beta4] [--app N | --isv]" >&2; exit 2 ;;
esac

ERR=$(mktemp); trap 'rm -f "$ERR" "$ERR.calls"' EXIT
step() { printf '\n\033[1m%s\033[0m\n' "$*"; }
fail() { printf '\n\033[1;31mdemo failed: %s\033[0m\n' "$*" >&2; exit 1; }
show() { printf '%s\n' "$1" | sed 's/^/    /'; }
# Reads a Python expression over the JSON document on stdin (`d`).
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }
# Fails unless the Python condition over the JSON in $OUT holds.
check() { python3 -c 'import json,sys; d=json.loads(sys.argv[2]); sys.exit(0 if eval(sys.argv[1], {"d": d}) else 1)' "$1" "$OUT" \
  || fail "expected $1 in: $OUT"; }
# Fails unless $OUT contains the text.
contains() { case "$OUT" in *"$1"*) ;; *) fail "expected \"$1\" in the output: $OUT" ;; esac; }

# `alloc ARGS...`: shown, run, its stdout kept in $OUT; any exit but 0 stops the demo.
alloc() {
  printf '  $ alloc %s\n' "$*"
  local rc=0
  OUT=$("$ALLOC_BIN" "$@" 2>"$ERR") || rc=$?
  [ "$rc" -eq 0 ] || fail "alloc $* exited $rc: $(cat "$ERR")"
  show "$OUT"
}
# `refused TEXT ARGS...`: the service must refuse (exit 1) with a message containing TEXT.
refused() {
  local text="$1"; shift
  printf '  $ alloc %s   # must be refused\n' "$*"
  local rc=0
  OUT=$("$ALLOC_BIN" "$@" 2>"$ERR") || rc=$?
  [ "$rc" -eq 1 ] || fail "alloc $* should have been refused (exit 1), exited $rc: $(cat "$ERR") $OUT"
  grep -qF -- "$text" "$ERR" || fail "alloc $* was refused, but not with \"$text\": $(cat "$ERR")"
  show "exit 1: $(cat "$ERR")"
}
# `post URL BODY [EXPECTED]`: curl, failing on an HTTP error or an answer other than EXPECTED.
post() {
  local answer
  answer=$(curl -sS --fail-with-body "$1" -H 'content-type: application/json' -d "$2") \
    || fail "POST $1: $answer"
  if [ -n "${3:-}" ] && [ "$answer" != "$3" ]; then fail "POST $1 answered \"$answer\", not $3"; fi
  show "$answer"
}

if [ -n "$ISV" ]; then
  # where the simulator's call log stands before the walk: what follows is the walk's
  source "$ROOT/scripts/demo-isv.sh"
  isv_calls_before
fi
if [ "$MODE" = beta4 ]; then
  source "$ROOT/scripts/demo-beta4.sh"
  exit 0
fi

step "1. $CHANNEL holds a paid trade $TRADE of 100.00 yuan, frozen for sharing (simulator control API)"
post "$SEED" "$SEED_BODY"

step "2. the DaxPay gateway feeds the paid order $ORDER (its signed payment notice: alloc sign --notice)"
alloc sign --notice "{\"orderNo\":\"$ORDER\",\"bizOrderNo\":\"SDK_$RUN\",\"outOrderNo\":\"$TRADE\",\"title\":\"演示订单\",\"channel\":\"$CHANNEL\",\"method\":\"qrcode\",\"amount\":10000,\"status\":\"success\",\"allocation\":true,\"autoAllocation\":false,\"payTime\":$RUN,\"code\":0,\"resTime\":$RUN}"
post "$BASE/feed/pay-order" "$OUT" SUCCESS
alloc pay-order "$ORDER"
contains "$TRADE"
alloc allocatable "$ORDER" --json
check 'd["allocatable"] == 10000 and d["allocated"] == 0'
# what `alloc sign` does for a hand-made request: reqTime and nonceStr added, then signed
alloc sign "{\"orderNo\":\"$ORDER\"}"
check 'd["orderNo"] and d["reqTime"] > 0 and len(d["nonceStr"]) > 0 and len(d["sign"]) == 64'

step "3. three receivers, bound at the channel first; the third is removed again"
alloc receivers add "S$RUN" --channel "$CHANNEL" --type "$TYPE1" --account "$ACCOUNT1" --name 门店 --relation STORE
alloc receivers add "F$RUN" --channel "$CHANNEL" --type "$TYPE2" --account "$ACCOUNT2" --name 员工 --relation STAFF
alloc receivers add "X$RUN" --channel "$CHANNEL" --type "$TYPE3" --account "$ACCOUNT3" --relation CUSTOM --relation-name 临时
alloc receivers remove "X$RUN"
alloc receivers list --channel "$CHANNEL"
contains "S$RUN"; contains "F$RUN"
case "$OUT" in *"X$RUN"*) fail "X$RUN was removed but is still listed" ;; esac
alloc receivers list --receiver-no "S$RUN" --json
check 'len(d["receivers"]) == 1 and "*" in d["receivers"][0]["receiverAccount"]'

step "4. a group: 60% to the store, 15% to the staff member; the channel's default for a while"
alloc groups create "$GROUP" --name 演示分组 --channel "$CHANNEL"
alloc groups update "$GROUP" --name 演示分组二 --channel "$CHANNEL" --remark 演示
alloc groups bind "$GROUP" "S$RUN=6000" "F$RUN=1500" --json
check 'd["totalRate"] == 7500'
alloc groups set-default "$GROUP"
alloc groups list --group-no "$GROUP"
contains "演示分组二"; contains "yes"

[ -z "$ISV" ] || isv_over_ratio
step "5. start by the group: 60.00 to the store, 15.00 to the staff member, 25.00 stays with the merchant"
alloc start "A$RUN" --order-no "$ORDER" --group "$GROUP" --description 演示分账 --json
check 'd["status"] == "allocation_processing"'
ALLOC=$(json 'd["allocationNo"]' <<<"$OUT")
# the same start again is the same order (it is also what a retry sends)...
alloc start "A$RUN" --order-no "$ORDER" --group "$GROUP" --description 演示分账 --json
check "d['allocationNo'] == '$ALLOC'"
# ...but the same number with other fields is refused
refused "bizAllocationNo is already used" start "A$RUN" --order-no "$ORDER" --group "$GROUP" --description 另一个
alloc query "$ALLOC"
contains "S$RUN"; contains "allocation_processing"

step "6. the group is no longer needed: default cleared, a member unbound, deleted (the order keeps its shares)"
alloc groups clear-default "$GROUP"
alloc groups unbind "$GROUP" "F$RUN" --json
check 'd["totalRate"] == 6000'
alloc groups delete "$GROUP"
alloc groups list --channel "$CHANNEL" --json
check "all(g['groupNo'] != '$GROUP' for g in d['groups'])"

step "7. the channel settles both shares (simulator control API); the merchant asks for a sync"
post "$COMPLETE_URL" "$(complete_body "$ALLOC")"
alloc sync "$ALLOC"
alloc orders sync "$ALLOC"
contains "$ALLOC"

step "8. the result arrives (Alipay's settle notification; WeChat: the sync), the order ends and is finished automatically, releasing the remaining 25.00 yuan"
STATUS=""
for _ in $(seq 1 90); do
  OUT=$("$ALLOC_BIN" query "$ALLOC" --json 2>"$ERR") || fail "alloc query $ALLOC: $(cat "$ERR")"
  STATUS=$(json 'd["status"]' <<<"$OUT")
  printf '    status: %s\n' "$STATUS"
  [ "$STATUS" = finish ] && break
  sleep 2
done
[ "$STATUS" = finish ] || fail "the order did not finish; see $LOCAL_DIR/worker.log"
check 'd["result"] == "all_success" and sorted(x["amount"] for x in d["details"]) == [1500, 6000]'
# finished already: a finish now is refused with DaxPay's message
refused "分账单状态错误" finish "$ALLOC"

step "9. the order as the merchant sees it, by its own number; and as a DaxPay 2.0.8 SDK reads it"
alloc query --biz-allocation-no "A$RUN"
contains "finish"; contains "all_success"
alloc --spelling 2.0.8 query "$ALLOC" --json
check "d['allocNo'] == '$ALLOC' and 'allocationNo' not in d"

step "10. the notices: what the merchant endpoint received, their attempts, one sent again"
for _ in $(seq 1 30); do
  N=$(curl -sS "$SINK_URL/received" | python3 -c "import json,sys; print(sum(1 for b in json.load(sys.stdin) if isinstance(b, dict) and b.get('allocationNo') == '$ALLOC'))")
  [ "$N" -ge 2 ] && break
  sleep 1
done
curl -sS "$SINK_URL/received" | python3 -c "
import json,sys
got = [b for b in json.load(sys.stdin) if isinstance(b, dict) and b.get('allocationNo') == '$ALLOC']
for b in got:
    print('    notice:', b['status'], b.get('result'), 'signed' if b.get('sign') else 'UNSIGNED')
sys.exit(0 if len(got) >= 2 and all(b.get('sign') for b in got) else 1)" \
  || fail "the merchant endpoint did not receive two signed notices for $ALLOC"
alloc notices "$ALLOC"
contains "delivered"
alloc resend "$ALLOC" --json
check 'd["status"] == "finish"'

step "11. operators' lists: orders flagged for a human (none expected here), and today's finished orders"
alloc orders flagged --page-size 5
# the local system keeps order lists (ORDER_LISTS=true): the order just finished is among today's
DAY=$(TZ=Asia/Shanghai date +%F)
alloc orders list --status finish --day "$DAY" --page-size 100 --json
check "all(o['status'] == 'finish' for o in d['orders']) and any(o['allocationNo'] == '$ALLOC' for o in d['orders'])"
alloc orders list --status finish --day "$DAY" --page-size 3

step "12. the customer asks for 30.00 back after the split: 25.00 of it comes back from the store first (a return; on Alipay the answer is the refund plan the gateway's refund must carry)"
alloc return create "R$RUN" --allocation-no "$ALLOC" --receiver "S$RUN" --amount 2500 --description 客户退款 --biz-refund-no "BRF$RUN" --json
check 'd["amount"] == 2500 and d["status"] in ("return_planned", "return_processing", "return_success")'
RETURN_NO=$(json 'd["returnNo"]' <<<"$OUT")
alloc return query --return-no "$RETURN_NO"

step "13. the payment gateway refunds 30.00 at the channel, and DaxPay's signed refund notice reaches /feed/refund"
post "$REFUND_URL" "$REFUND_BODY"
alloc sign --notice "{\"orderNo\":\"$ORDER\",\"bizOrderNo\":\"SDK_$RUN\",\"outOrderNo\":\"$TRADE\",\"title\":\"演示订单\",\"refundNo\":\"RF$RUN\",\"bizRefundNo\":\"BRF$RUN\",\"channel\":\"$CHANNEL\",\"orderAmount\":10000,\"amount\":3000,\"reason\":\"客户退款\",\"status\":\"success\",\"finishTime\":$RUN,\"createTime\":$RUN,\"code\":0,\"resTime\":$RUN}"
post "$BASE/feed/refund" "$OUT" SUCCESS

step "14. the return has ended; the order's returns; what the pay order can still split (ours beside the channel's)"
STATUS=""
for _ in $(seq 1 30); do
  OUT=$("$ALLOC_BIN" return query --return-no "$RETURN_NO" --json 2>"$ERR") || fail "alloc return query: $(cat "$ERR")"
  STATUS=$(json 'd["status"]' <<<"$OUT")
  printf '    return status: %s\n' "$STATUS"
  [ "$STATUS" = return_success ] && break
  sleep 2
done
[ "$STATUS" = return_success ] || fail "the return did not succeed; see $LOCAL_DIR/worker.log"
alloc return query --allocation-no "$ALLOC"
contains "$RETURN_NO"; contains "return_success"
alloc allocatable "$ORDER"
alloc allocatable "$ORDER" --json
check 'd["refunded"] == 3000'

[ -z "$ISV" ] || isv_calls_seen
printf '\n\033[1;32mdemo passed on %s as app %s: every alloc command ran and every outcome was as expected\033[0m\n' "$CHANNEL" "$APP_ID"
