# The walk of `scripts/demo.sh beta4 [--app N | --isv]`, sourced by it (its helpers, settings
# and the paid order's variables are set): DaxPay 3.0.0-beta4's allocation endpoints
# (/unipay/alloc/...) on Alipay. Each body is signed as that SDK signs it (`alloc sign --beta4
# APP_ID`: appId, reqTime as Beijing text, a nonceStr; a list member signed as {}), and each
# answer's signature is checked as its SDK's own tests check it: over the whole envelope, data as
# Hutool's JSON.

# `b4 PATH JSON`: the beta4 request, posted; the answer in $OUT; fails unless accepted and signed.
b4() {
  local path="$1" body
  body=$("$ALLOC_BIN" sign --beta4 "$APP_ID" "$2" 2>"$ERR") || fail "alloc sign --beta4: $(cat "$ERR")"
  printf '  POST %s %s\n' "$path" "$body"
  OUT=$(curl -sS "$BASE$path" -H 'content-type: application/json' -d "$body") || fail "POST $path"
  show "$OUT"
  python3 - "$OUT" "$SECRET" <<'PY' || fail "the answer is not accepted, or its signature does not verify: $OUT"
import hashlib, hmac, json, sys
d = json.loads(sys.argv[1])
pairs = {k: str(d[k]) for k in ("code", "msg", "resTime", "traceId") if d.get(k) is not None}
if d.get("data") is not None:
    pairs["data"] = json.dumps(d["data"], ensure_ascii=False, separators=(",", ":"))
text = "&".join(f"{k}={pairs[k]}" for k in sorted(pairs)).replace('"', "").replace("\\", "")
text += "&key=" + sys.argv[2]
sign = hmac.new(sys.argv[2].encode(), text.encode(), hashlib.sha256).hexdigest()
sys.exit(0 if d.get("code") == 0 and d.get("sign") == sign else 1)
PY
}

step "1. $CHANNEL holds a paid trade $TRADE of 100.00 yuan, frozen for sharing (simulator control API)"
post "$SEED" "$SEED_BODY"

step "2. the DaxPay gateway feeds the paid order $ORDER to $BASE/feed/pay-order"
alloc sign --notice "{\"orderNo\":\"$ORDER\",\"bizOrderNo\":\"SDK_$RUN\",\"outOrderNo\":\"$TRADE\",\"title\":\"演示订单\",\"channel\":\"$CHANNEL\",\"method\":\"qrcode\",\"amount\":10000,\"status\":\"success\",\"allocation\":true,\"autoAllocation\":false,\"payTime\":$RUN,\"code\":0,\"resTime\":$RUN}"
post "$BASE/feed/pay-order" "$OUT" SUCCESS

step "3. a receiver in beta4's codes (user_id, store), listed back (account masked)"
b4 /unipay/alloc/receiver/add "{\"receiverNo\":\"S$RUN\",\"channel\":\"ali_pay\",\"receiverType\":\"user_id\",\"receiverAccount\":\"2088000000000011\",\"receiverName\":\"门店\",\"relationType\":\"store\"}"
b4 /unipay/alloc/receiver/list '{"channel":"ali_pay"}'
check "any(r['receiverNo'] == 'S$RUN' and r['relationType'] == 'store' and '*' in r['receiverAccount'] for r in d['data']['receivers'])"

step "4. start: 60.50 yuan to the store (beta4's amounts are yuan), under the allocation title"
b4 /unipay/alloc/start "{\"bizAllocNo\":\"A$RUN\",\"orderNo\":\"$ORDER\",\"title\":\"beta4 演示\",\"receivers\":[{\"receiverNo\":\"S$RUN\",\"amount\":60.5}]}"
check 'd["data"]["status"] == "processing" and d["data"]["result"] == "all_pending"'
ALLOC=$(json 'd["data"]["allocNo"]' <<<"$OUT")

step "5. Alipay settles (simulator control API); the merchant syncs: the order has ended"
post "$COMPLETE_URL" "$(complete_body "$ALLOC")"
b4 /unipay/alloc/sync "{\"allocNo\":\"$ALLOC\"}"
check 'd["data"]["status"] in ("alloc_end", "finish") and d["data"]["result"] == "all_success"'

step "6. the order as beta4's AllocOrderModel: yuan, percent, Beijing times"
b4 /unipay/alloc/query "{\"allocNo\":\"$ALLOC\"}"
check 'd["data"]["amount"] == 60.5 and d["data"]["details"][0]["rate"] == 60.5 and d["data"]["title"] == "beta4 演示"'

step "7. finished: by the merchant, or already by the auto finish; either way the order is finish"
STATUS=$(json 'd["data"]["status"]' <<<"$OUT")
if [ "$STATUS" = alloc_end ]; then
  b4 /unipay/alloc/finish "{\"bizAllocNo\":\"A$RUN\",\"allocNo\":\"$ALLOC\"}"
  check 'd["data"]["status"] in ("finish", "alloc_end")'
fi
for _ in $(seq 1 30); do
  b4 /unipay/alloc/query "{\"bizAllocNo\":\"A$RUN\",\"allocNo\":\"$ALLOC\"}"
  [ "$(json 'd["data"]["status"]' <<<"$OUT")" = finish ] && break
  sleep 2
done
check 'd["data"]["status"] == "finish"'

step "8. the receiver is removed (its answer's data is null, as beta4's server answers it)"
b4 /unipay/alloc/receiver/remove "{\"receiverNo\":\"S$RUN\"}"
check 'd["data"] is None'

# provider mode (--isv): what the simulator saw of the walk
[ -z "$ISV" ] || isv_calls_seen
printf '\n\033[1;32mdemo passed in DaxPay 3.0.0-beta4'"'"'s dialect as app %s: every answer accepted and its signature verified\033[0m\n' "$APP_ID"
