# Provider mode for `scripts/demo.sh alipay|wechat --isv`, sourced by it (its helpers, settings
# and the walk's numbers are set). The app's accounts are under the run's service provider, so
# the simulator must have seen every call of the walk made for the merchant: WeChat Pay's signed
# by the provider and naming the sub-merchant's sub_mchid (a transaction paid to a sub-merchant is
# split, unfrozen, queried and returned only so: else 交易模式不匹配), Alipay's made by the
# provider's app with the app_auth_token the merchant granted it (without it the merchant's trade
# is unknown to the app). Tokens are compared with the simulator's current grant, never printed.

# The simulator's call log, kept in a file (JSON).
isv_calls() {
  local sim="$SIM_URL"
  [ "$CHANNEL" = ali_pay ] || sim="$WX_URL"
  curl -sS --fail-with-body "$sim/__sim/calls" > "$ERR.calls" || fail "GET $sim/__sim/calls: $(cat "$ERR.calls")"
}

# How many calls the log held before the walk.
isv_calls_before() {
  isv_calls
  ISV_CALLS_FROM=$(json 'len(d)' < "$ERR.calls")
}

# WeChat Pay: a start above the share the sub-merchant authorised the provider to split (80% in
# the local run) is refused before anything is written or sent.
isv_over_ratio() {
  [ "$CHANNEL" = wechat_pay ] || return 0
  step "4b. sub-merchant $ISV_SUB_MCHID authorised its provider to split at most 80%: a start of 85% is refused, nothing written"
  refused "分账金额超过子商户授权的最大分账比例" start "O$RUN" --order-no "$ORDER" --receiver "S$RUN=6000" --receiver "F$RUN=2500"
  alloc allocatable "$ORDER" --json
  check 'd["allocated"] == 0 and d["allocatable"] == 10000'
}

# Shows and checks what the simulator saw of the walk.
isv_calls_seen() {
  isv_calls
  if [ "$CHANNEL" = ali_pay ]; then
    step "what Alipay saw: the provider's app $ISV_ALIPAY_APP_ID made each call of the walk for merchant $ISV_ALIPAY_USER_ID, with the app_auth_token it granted (simulator's call log)"
    local grants
    grants=$(curl -sS --fail-with-body "$SIM_URL/__sim/authorizations") || fail "GET $SIM_URL/__sim/authorizations: $grants"
    python3 - "$ERR.calls" "$ISV_CALLS_FROM" "$grants" "$ISV_ALIPAY_APP_ID" "$ISV_ALIPAY_USER_ID" <<'PY' \
      || fail "a call of the walk at the Alipay simulator did not carry the merchant's app_auth_token"
import json, sys
calls = json.load(open(sys.argv[1]))[int(sys.argv[2]):]
grants, isv, user = json.loads(sys.argv[3]), sys.argv[4], sys.argv[5]
token = next((g["app_auth_token"] for g in grants if g["isv_app_id"] == isv and g["user_id"] == user), None)
mine = [c for c in calls if c["app_id"] == isv]
print(f"    {'METHOD':36} {'APP_AUTH_TOKEN':18} {'ACTED FOR':17} CODE")
for c in mine:
    carried = "the merchant's" if c["app_auth_token"] == token else ("another" if c["app_auth_token"] else "none")
    print(f"    {c['method']:36} {carried:18} {c['merchant'] or '-':17} {c['code']}")
methods = {c["method"] for c in mine}
needed = {"alipay.trade.royalty.relation.bind", "alipay.trade.royalty.relation.unbind", "alipay.trade.order.settle"}
ok = token is not None and needed <= methods and all(c["app_auth_token"] == token and c["merchant"] == user and c["code"] == "10000" for c in mine)
sys.exit(0 if ok else 1)
PY
  else
    step "what WeChat Pay saw: the provider $ISV_SP_MCHID made each call of the walk for sub-merchant $ISV_SUB_MCHID (simulator's call log and its records)"
    python3 - "$ERR.calls" "$ISV_CALLS_FROM" "$ISV_SUB_MCHID" "$TRADE" "$ALLOC" <<'PY' \
      || fail "a call of the walk at the WeChat Pay simulator did not name the sub-merchant"
import json, sys
from urllib.parse import parse_qs, urlsplit
calls = json.load(open(sys.argv[1]))[int(sys.argv[2]):]
sub, trade, alloc = sys.argv[3], sys.argv[4], sys.argv[5]
print(f"    {'CALL':62} {'STATUS':6} SUB_MCHID")
ok = True
for c in calls:
    url = urlsplit(c["path"])
    if c["method"] == "GET":
        named = parse_qs(url.query).get("sub_mchid", [url.path.rpartition("/")[2] if c["op"] == "merchant_configs" else None])[0]
        ok &= named == sub
        shown = named or "none"
    else:
        shown = "in the body *"
    ok &= c["status"] == 200
    print(f"    {c['method'] + ' ' + url.path:62} {c['status']:<6} {shown}")
print("    * the simulator refuses a provider's call without sub_mchid (a split or an unfreeze of a")
print("      sub-merchant's transaction: 交易模式不匹配; the others: 400 PARAM_ERROR): each 200 carried it")
ops = {c["op"] for c in calls if c["out_order_no"] in (alloc, None) or c["out_order_no"].startswith(alloc)}
sys.exit(0 if ok and {"create_order", "query_order", "unfreeze", "create_return", "add_receiver"} <= ops else 1)
PY
    # the return is the sub-merchant's at the simulator, not the provider's
    OUT=$(curl -sS --fail-with-body "$WX_URL/__sim/returns/$RETURN_NO?mchid=$ISV_SUB_MCHID") \
      || fail "the simulator holds no return $RETURN_NO of sub-merchant $ISV_SUB_MCHID: $OUT"
    printf '  return %s at the simulator, as sub-merchant %s'"'"'s:\n' "$RETURN_NO" "$ISV_SUB_MCHID"
    show "$OUT"
    check "d['out_order_no'] == '$ALLOC' and d['result'] == 'SUCCESS'"
  fi
  rm -f "$ERR.calls"
}
