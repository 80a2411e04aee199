#!/usr/bin/env bash
# Walks the running local system (scripts/run.sh) from a paid order to a finished allocation:
# feed a paid order, add two receivers, start, let the channel simulator settle, sync, finish;
# then a refund after the split: take money back from a receiver (a return; on Alipay a refund
# plan), the gateway refunds, DaxPay's refund notice arrives, and what is left is shown.
# Usage: scripts/demo.sh [alipay|wechat]   (default alipay). Needs curl and python3.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
LOCAL_DIR="${LOCAL_DIR:-$ROOT/.local}"
[ -f "$LOCAL_DIR/run.env" ] || { echo "start the system first: scripts/run.sh" >&2; exit 1; }
source "$LOCAL_DIR/run.env"
export SIGN_SECRET
RUN=$(date +%s)
ORDER="P$RUN"; TRADE="2026$RUN"
case "${1:-alipay}" in
  alipay)
    CHANNEL=ali_pay
    SEED="$SIM_URL/__sim/trades"; SEED_BODY="{\"trade_no\":\"$TRADE\",\"amount_fen\":10000}"
    TYPE1=ali_user_id; ACCOUNT1=2088000000000011; TYPE2=ali_login_name; ACCOUNT2=staff@example.com
    complete() { curl -sS "$SIM_URL/__sim/complete" -d "{\"trade_no\":\"$TRADE\",\"out_request_no\":\"$1\",\"outcomes\":{}}"; echo; }
    # the gateway's alipay.trade.refund, carrying the return's refund_royalty_parameters row
    gateway_refund() { curl -sS "$SIM_URL/__sim/refund" -d "{\"trade_no\":\"$TRADE\",\"out_request_no\":\"RF$RUN\",\"refund_amount_fen\":3000,\"royalty\":[{\"trans_out_type\":\"userId\",\"trans_out\":\"$ACCOUNT1\",\"amount_fen\":2500}]}"; echo; } ;;
  wechat)
    CHANNEL=wechat_pay
    SEED="$WX_URL/__sim/transactions"; SEED_BODY="{\"transaction_id\":\"$TRADE\",\"amount_fen\":10000}"
    TYPE1=wx_merchant; ACCOUNT1=1900000110; TYPE2=wx_personal; ACCOUNT2=oUpF8uMuAJO_M2pxb1Q9zNjWeS6o
    complete() { curl -sS "$WX_URL/__sim/complete" -d "{\"transaction_id\":\"$TRADE\",\"out_order_no\":\"$1\",\"outcomes\":{}}"; echo; }
    gateway_refund() { curl -sS "$WX_URL/__sim/refund" -d "{\"transaction_id\":\"$TRADE\",\"out_refund_no\":\"RF$RUN\",\"amount_fen\":3000}"; echo; } ;;
  *) echo "usage: scripts/demo.sh [alipay|wechat]" >&2; exit 2 ;;
esac

json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {"d": d}))' "$1"; }
step() { printf '\n\033[1m%s\033[0m\n' "$*"; }
merchant() { # path json -> envelope
  curl -sS "$URL$1" -H 'content-type: application/json' -d "$(target/debug/local sign "$2")"
}
expect_ok() { # envelope -> data, or fail loudly
  python3 -c 'import json,sys; e=json.load(sys.stdin)
if e.get("code")!=0 or (e.get("data") or {}).get("code")!=0: sys.exit("refused: "+json.dumps(e, ensure_ascii=False))
print(json.dumps(e["data"], ensure_ascii=False))'
}

step "1. $CHANNEL holds a paid trade $TRADE of 100.00 yuan, frozen for sharing"
curl -sS "$SEED" -d "$SEED_BODY"; echo

step "2. the DaxPay gateway feeds the paid order $ORDER"
NOTICE=$(target/debug/local sign --notice "{\"orderNo\":\"$ORDER\",\"bizOrderNo\":\"SDK_$RUN\",\"outOrderNo\":\"$TRADE\",\"title\":\"演示订单\",\"channel\":\"$CHANNEL\",\"method\":\"qrcode\",\"amount\":10000,\"status\":\"success\",\"allocation\":true,\"autoAllocation\":false,\"payTime\":$RUN,\"code\":0,\"resTime\":$RUN}")
curl -sS "$URL/feed/pay-order" -H 'content-type: application/json' -d "$NOTICE"; echo

step "3. add two receivers (bound at the channel first)"
merchant /unipay/allocation/receiver/add "{\"receiverNo\":\"S$RUN\",\"channel\":\"$CHANNEL\",\"receiverType\":\"$TYPE1\",\"receiverAccount\":\"$ACCOUNT1\",\"receiverName\":\"门店\",\"relationType\":\"STORE\"}" | expect_ok
merchant /unipay/allocation/receiver/add "{\"receiverNo\":\"F$RUN\",\"channel\":\"$CHANNEL\",\"receiverType\":\"$TYPE2\",\"receiverAccount\":\"$ACCOUNT2\",\"receiverName\":\"员工\",\"relationType\":\"STAFF\"}" | expect_ok

step "4. start: 60.00 to the store, 15.00 to the staff member"
DATA=$(merchant /unipay/allocation/start "{\"bizAllocationNo\":\"A$RUN\",\"orderNo\":\"$ORDER\",\"description\":\"演示分账\",\"receivers\":[{\"receiverNo\":\"S$RUN\",\"amount\":6000},{\"receiverNo\":\"F$RUN\",\"amount\":1500}]}" | expect_ok)
echo "$DATA"
ALLOC=$(json 'd["allocationNo"]' <<<"$DATA")

step "5. the channel settles both shares (simulator control API)"
complete "$ALLOC"

step "6. the result arrives (Alipay's settle notification through /callback/alipay; WeChat: the scheduled sync), the order ends and is finished automatically, releasing the remaining 25.00 yuan"
for _ in $(seq 1 90); do
  STATUS=$(merchant /unipay/query/allocationOrder "{\"allocationNo\":\"$ALLOC\"}" | expect_ok | json 'd["status"]')
  printf '  status: %s\n' "$STATUS"
  [ "$STATUS" = finish ] && break
  sleep 2
done
[ "$STATUS" = finish ] || { echo "the order did not finish; see .local/worker.log" >&2; exit 1; }

step "7. the order as the merchant sees it (notices and their attempts included)"
merchant /unipay/query/allocationOrder "{\"bizAllocationNo\":\"A$RUN\"}" | expect_ok | python3 -m json.tool --no-ensure-ascii

step "8. the notices the merchant endpoint received"
for _ in $(seq 1 30); do
  N=$(curl -sS "$SINK_URL/received" | python3 -c "import json,sys; print(sum(1 for b in json.load(sys.stdin) if isinstance(b, dict) and b.get('allocationNo') == '$ALLOC'))")
  [ "$N" -ge 2 ] && break
  sleep 1
done
curl -sS "$SINK_URL/received" | python3 -c "
import json,sys
for b in json.load(sys.stdin):
    if isinstance(b, dict) and b.get('allocationNo') == '$ALLOC':
        print('  notice:', b['status'], b.get('result'), 'signed' if b.get('sign') else 'UNSIGNED')"

step "9. the customer asks for 30.00 back after the split: 25.00 of it comes back from the store first (a return; on Alipay the answer is the refund plan the gateway's refund must carry)"
RET=$(merchant /unipay/allocation/return "{\"bizReturnNo\":\"R$RUN\",\"allocationNo\":\"$ALLOC\",\"receiverNo\":\"S$RUN\",\"amount\":2500,\"description\":\"客户退款\",\"bizRefundNo\":\"BRF$RUN\"}" | expect_ok)
echo "$RET" | python3 -m json.tool --no-ensure-ascii
RETURN_NO=$(json 'd["returnNo"]' <<<"$RET")

step "10. the payment gateway refunds 30.00 at the channel, and DaxPay's signed refund notice reaches /feed/refund"
gateway_refund
REFUND=$(target/debug/local sign --notice "{\"orderNo\":\"$ORDER\",\"bizOrderNo\":\"SDK_$RUN\",\"outOrderNo\":\"$TRADE\",\"title\":\"演示订单\",\"refundNo\":\"RF$RUN\",\"bizRefundNo\":\"BRF$RUN\",\"channel\":\"$CHANNEL\",\"orderAmount\":10000,\"amount\":3000,\"reason\":\"客户退款\",\"status\":\"success\",\"finishTime\":$RUN,\"createTime\":$RUN,\"code\":0,\"resTime\":$RUN}")
curl -sS "$URL/feed/refund" -H 'content-type: application/json' -d "$REFUND"; echo

step "11. the return has ended, and what the pay order can still split (ours beside the channel's)"
merchant /unipay/query/allocationReturn "{\"returnNo\":\"$RETURN_NO\"}" | expect_ok | json '(d["status"], d.get("refundNo"))'
merchant /unipay/query/allocatable "{\"orderNo\":\"$ORDER\"}" | expect_ok | python3 -m json.tool --no-ensure-ascii
