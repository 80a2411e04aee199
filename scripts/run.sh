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
cargo build --locked -p api -p worker -p scheduler -p local -p alipay-sim -p wechat-sim -p alloc-cli
start_emulator
API_PID=""
SIM_PID=""
WX_PID=""
WORKER_PID=""
SCHED_PID=""
SINK_PID=""
cleanup() {
  for pid in "$API_PID" "$WORKER_PID" "$SCHED_PID" "$SINK_PID" "$SIM_PID" "$WX_PID"; do
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  done
  stop_emulator
  # the demo reads this to find the running system: gone with it
  rm -f "$LOCAL_DIR/run.env"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The job queue and its dead-letter queue on the emulator.
QUEUE_URL=$("$VENV/bin/python" - <<PY
import boto3, json, os
sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
dlq = sqs.create_queue(QueueName="allocation-local-dlq")["QueueUrl"]
arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
q = sqs.create_queue(QueueName="allocation-local-jobs", Attributes={"VisibilityTimeout": "60",
    "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "5"})})
print(q["QueueUrl"])
PY
)
log "job queue $QUEUE_URL"

# A stand-in merchant endpoint that receives the notices; NOTICE_SINK_FAIL_RATE (0 to 1) makes it
# refuse that share of them (seeded by NOTICE_SINK_SEED), as scripts/chaos.sh asks.
SINK_PORT=$(free_port)
SINK_ARGS=()
[ -z "${NOTICE_SINK_FAIL_RATE:-}" ] || SINK_ARGS+=(--fail-rate "$NOTICE_SINK_FAIL_RATE")
[ -z "${NOTICE_SINK_SEED:-}" ] || SINK_ARGS+=(--seed "$NOTICE_SINK_SEED")
target/debug/local notice-sink --listen "127.0.0.1:$SINK_PORT" "${SINK_ARGS[@]}" > "$LOCAL_DIR/notices.log" 2>&1 &
SINK_PID=$!
SINK_URL="http://127.0.0.1:$SINK_PORT"

# The Alipay simulator, with fresh test keys for the app and for "Alipay"; it posts its settle
# notifications to our callback route.
APP_KEYS=$(target/debug/alipay-sim keygen)
ALI_KEYS=$(target/debug/alipay-sim keygen)
APP_ID=2021000000000001
SIM_PORT=$(free_port)
target/debug/alipay-sim --listen "127.0.0.1:$SIM_PORT" --app-id "$APP_ID" \
  --app-public-key "$(sed -n 's/^public=//p' <<<"$APP_KEYS")" \
  --alipay-private-key "$(sed -n 's/^private=//p' <<<"$ALI_KEYS")" \
  --notify-url "http://127.0.0.1:$PORT/callback/alipay" > "$LOCAL_DIR/alipay-sim.log" 2>&1 &
SIM_PID=$!
wait_http "$SIM_PORT" /__sim/calls 30 || { echo "the Alipay simulator did not start; see .local/alipay-sim.log" >&2; exit 1; }
SIM_URL="http://127.0.0.1:$SIM_PORT"
log "Alipay simulator on $SIM_URL/gateway.do (log: .local/alipay-sim.log)"

# The WeChat Pay simulator: merchant key, WeChat Pay key, APIv3 key.
MCH_KEYS=$(target/debug/wechat-sim keygen)
WX_KEYS=$(target/debug/wechat-sim keygen)
MCHID=1900000109; WX_APPID=wx8888888888888888; MCH_SERIAL=5157F09EFDC096DE15EBE81A47057A7232F1B8E1
WX_KEY_ID=PUB_KEY_ID_0114232134912410000000000000
APIV3_KEY=$(python3 -c 'import secrets,string; print("".join(secrets.choice(string.ascii_letters+string.digits) for _ in range(32)))')
WX_PORT=$(free_port)
target/debug/wechat-sim --listen "127.0.0.1:$WX_PORT" --mchid "$MCHID" --appid "$WX_APPID" \
  --merchant-public-key "$(sed -n 's/^public=//p' <<<"$MCH_KEYS")" --merchant-serial "$MCH_SERIAL" \
  --wechat-private-key "$(sed -n 's/^private=//p' <<<"$WX_KEYS")" --wechat-public-key-id "$WX_KEY_ID" \
  --apiv3-key "$APIV3_KEY" > "$LOCAL_DIR/wechat-sim.log" 2>&1 &
WX_PID=$!
wait_http "$WX_PORT" /__sim/calls 30 || { echo "the WeChat Pay simulator did not start; see .local/wechat-sim.log" >&2; exit 1; }
WX_URL="http://127.0.0.1:$WX_PORT"
log "WeChat Pay simulator on $WX_URL (log: .local/wechat-sim.log)"

# The stack's KMS key on the emulator: every app but the default keeps its secrets under it.
KMS_KEY_ID=$("$VENV/bin/python" - <<PY
import boto3, os
kms = boto3.client("kms", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
print(kms.create_key(Description="allocation-local app secrets")["KeyMetadata"]["Arn"])
PY
)
log "KMS key $KMS_KEY_ID"

# The stack's bill bucket on the emulator: reconciliation keeps the channels' raw bills in it.
BILL_BUCKET=allocation-local-bills
"$VENV/bin/python" - <<PY
import boto3, os
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
s3.create_bucket(Bucket="$BILL_BUCKET")
PY
log "bill bucket $BILL_BUCKET"

: > "$LOCAL_DIR/api.log"
target/debug/local setup-table --table "$TABLE"
ENV_ARGS=(
  --env KMS_KEY_ID="$KMS_KEY_ID" --env APP_CACHE_SECS="${APP_CACHE_SECS:-10}" --env BILL_BUCKET="$BILL_BUCKET"
  --env TABLE_NAME="$TABLE" --env SIGN_SECRET="$SIGN_SECRET" --env LOG_FORMAT=text
  --env QUEUE_URL="$QUEUE_URL" --env ALLOCATION_NO_PREFIX=DEV
  --env DEFAULT_NOTIFY_URL="$SINK_URL/notify" --env ALLOW_PRIVATE_NOTIFY_URLS=true
  --env AUTO_FINISH="${AUTO_FINISH:-true}" --env AUTO_FINISH_DELAY_SECS=5 --env AUTO_ALLOCATION_DELAY_SECS=5
  --env SYNC_FIRST_DELAY_SECS=10 --env ORDER_LISTS=true
  --env ALIPAY_APP_ID="$APP_ID" --env ALIPAY_GATEWAY_URL="$SIM_URL/gateway.do"
  --env ALIPAY_PRIVATE_KEY="$(sed -n 's/^private=//p' <<<"$APP_KEYS")"
  --env ALIPAY_PUBLIC_KEY="$(sed -n 's/^public=//p' <<<"$ALI_KEYS")"
  --env WECHAT_MCHID="$MCHID" --env WECHAT_APPID="$WX_APPID" --env WECHAT_MERCHANT_SERIAL="$MCH_SERIAL"
  --env WECHAT_PUBLIC_KEY_ID="$WX_KEY_ID" --env WECHAT_BASE_URL="$WX_URL"
  --env WECHAT_PRIVATE_KEY="$(sed -n 's/^private=//p' <<<"$MCH_KEYS")"
  --env WECHAT_PUBLIC_KEY="$(sed -n 's/^public=//p' <<<"$WX_KEYS")" --env WECHAT_APIV3_KEY="$APIV3_KEY"
)
# A notice retry schedule of its own (15 delays), as scripts/chaos.sh asks; DaxPay's otherwise.
[ -z "${NOTIFY_DELAYS_SECS:-}" ] || ENV_ARGS+=(--env NOTIFY_DELAYS_SECS="$NOTIFY_DELAYS_SECS")
# The api, worker and scheduler share their chaos settings and counters (crashes, duplicate and
# reordered deliveries; off unless asked for at /__local/chaos) through this directory.
export LOCAL_CHAOS_DIR="$LOCAL_DIR/chaos"
rm -rf "$LOCAL_CHAOS_DIR"
mkdir -p "$LOCAL_CHAOS_DIR"
target/debug/local serve-http --listen "127.0.0.1:$PORT" --name api --bin target/debug/api "${ENV_ARGS[@]}" \
  > >(tee "$LOCAL_DIR/api.log") 2>&1 &
API_PID=$!
for _ in $(seq 1 150); do
  grep -q "listening on" "$LOCAL_DIR/api.log" 2>/dev/null && break
  if ! kill -0 "$API_PID" 2>/dev/null; then echo "the api did not start; see .local/api.log" >&2; exit 1; fi
  sleep 0.2
done
grep -q "listening on" "$LOCAL_DIR/api.log" || { echo "the api did not start in time" >&2; exit 1; }
target/debug/local sqs-worker --queue-url "$QUEUE_URL" --bin target/debug/worker "${ENV_ARGS[@]}" \
  > "$LOCAL_DIR/worker.log" 2>&1 &
WORKER_PID=$!
target/debug/local schedule --every 10 --bin target/debug/scheduler "${ENV_ARGS[@]}" \
  > "$LOCAL_DIR/scheduler.log" 2>&1 &
SCHED_PID=$!

URL="http://127.0.0.1:$PORT"

# Two merchants with one app each, made through the IAM-guarded admin routes (the front door
# checks SigV4 against the emulator's credentials), each app with its own Alipay app and WeChat
# Pay merchant at the simulators, their keys fresh.
ADMIN=(env AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 ALLOC_URL="$URL" target/debug/alloc admin)
KEYS_DIR="$LOCAL_DIR/keys"
mkdir -p "$KEYS_DIR"
chmod 700 "$KEYS_DIR"
APPS_ENV=""
for i in 1 2; do
  app="shop-$i"
  "${ADMIN[@]}" merchant create --mch-no "M$i" --name "Merchant $i" > /dev/null
  secret=$("${ADMIN[@]}" --json app create --mch-no "M$i" --app-id "$app" --name "Shop $i" \
    | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["signSecret"])')
  # Alipay: the app's own Alipay app id and key pair; Alipay's key is the simulator's.
  ali_app="20210000000001$((10 + i))"
  keys=$(target/debug/alipay-sim keygen)
  sed -n 's/^private=//p' <<<"$keys" > "$KEYS_DIR/$app-alipay-app.key"
  sed -n 's/^public=//p' <<<"$ALI_KEYS" > "$KEYS_DIR/alipay-public.key"
  post_json "$SIM_URL/__sim/apps" "{\"app_id\":\"$ali_app\",\"app_public_key\":\"$(sed -n 's/^public=//p' <<<"$keys")\",\"notify_url\":\"$URL/app/$app/callback/alipay\"}" > /dev/null
  "${ADMIN[@]}" channel set "$app" ali_pay --account-app-id "$ali_app" \
    --private-key-file "$KEYS_DIR/$app-alipay-app.key" --public-key-file "$KEYS_DIR/alipay-public.key" \
    --gateway-url "$SIM_URL/gateway.do" --notify-url "$URL/app/$app/callback/alipay" > /dev/null
  # WeChat Pay: the app's own merchant number, API key and serial.
  mchid="19000001$((10 + i))"; wx_appid="wx88888888888888$((10 + i))"; serial="7B8F00000000000000000000000000000000000$i"
  keys=$(target/debug/wechat-sim keygen)
  sed -n 's/^private=//p' <<<"$keys" > "$KEYS_DIR/$app-wechat-merchant.key"
  sed -n 's/^public=//p' <<<"$WX_KEYS" > "$KEYS_DIR/wechat-public.key"
  printf '%s' "$APIV3_KEY" > "$KEYS_DIR/wechat-apiv3.key"
  post_json "$WX_URL/__sim/merchants" "{\"mchid\":\"$mchid\",\"appid\":\"$wx_appid\",\"merchant_public_key\":\"$(sed -n 's/^public=//p' <<<"$keys")\",\"merchant_serial\":\"$serial\"}" > /dev/null
  "${ADMIN[@]}" channel set "$app" wechat_pay --mchid "$mchid" --appid "$wx_appid" \
    --merchant-serial "$serial" --public-key-id "$WX_KEY_ID" \
    --private-key-file "$KEYS_DIR/$app-wechat-merchant.key" --public-key-file "$KEYS_DIR/wechat-public.key" \
    --apiv3-key-file "$KEYS_DIR/wechat-apiv3.key" --base-url "$WX_URL" > /dev/null
  APPS_ENV+=$(printf 'APP%s_ID=%s\nAPP%s_SECRET=%s\nAPP%s_URL=%s\nAPP%s_ALIPAY_APP_ID=%s\nAPP%s_WECHAT_MCHID=%s\n' \
    "$i" "$app" "$i" "$secret" "$i" "$URL/app/$app" "$i" "$ali_app" "$i" "$mchid")$'\n'
done
log "apps shop-1 and shop-2 (merchants M1, M2) under $URL/app/<appId>"

# Provider mode (SPEC §6.5): at the simulators, a WeChat Pay service provider (its sp_mchid, key
# and serial) with one sub-merchant (and its sub_appid; it authorised splitting 80%), and an
# Alipay third-party app with one merchant that authorised it (its user id, app id and tokens,
# valid for a year); through the admin routes, the provider with its own keys, and an app of a
# merchant of its own whose two accounts are under that provider. Their tokens and keys stay in
# .local/keys; the ids go to run.env (ISV_...).
ISV_PROVIDER=sp-local; ISV_MCH=M-ISV; ISV_APP=isv-shop
SP_MCHID=1900000300; SP_APPID=wx8888888888880300; SP_SERIAL=7B8F000000000000000000000000000000000300
SUB_MCHID=1900000301; SUB_APPID=wx8888888888880301
ISV_ALI_APP=2021000000000300; ISV_USER=2088000000000301; ISV_AUTH_APP=2021000000000301
keys=$(target/debug/wechat-sim keygen)
sed -n 's/^private=//p' <<<"$keys" > "$KEYS_DIR/$ISV_PROVIDER-wechat-sp.key"
post_json "$WX_URL/__sim/providers" "{\"sp_mchid\":\"$SP_MCHID\",\"sp_appid\":\"$SP_APPID\",\"sp_public_key\":\"$(sed -n 's/^public=//p' <<<"$keys")\",\"sp_serial\":\"$SP_SERIAL\"}" > /dev/null
post_json "$WX_URL/__sim/sub-merchants" "{\"sp_mchid\":\"$SP_MCHID\",\"sub_mchid\":\"$SUB_MCHID\",\"sub_appid\":\"$SUB_APPID\",\"max_ratio\":8000}" > /dev/null
keys=$(target/debug/alipay-sim keygen)
sed -n 's/^private=//p' <<<"$keys" > "$KEYS_DIR/$ISV_PROVIDER-alipay-isv.key"
post_json "$SIM_URL/__sim/apps" "{\"app_id\":\"$ISV_ALI_APP\",\"app_public_key\":\"$(sed -n 's/^public=//p' <<<"$keys")\",\"notify_url\":\"$URL/provider/$ISV_PROVIDER/callback/alipay\"}" > /dev/null
for t in app-auth-token app-refresh-token; do
  python3 -c 'import secrets; print("202612BB" + secrets.token_hex(12))' > "$KEYS_DIR/$ISV_APP-$t"
done
post_json "$SIM_URL/__sim/authorizations" "{\"isv_app_id\":\"$ISV_ALI_APP\",\"user_id\":\"$ISV_USER\",\"auth_app_id\":\"$ISV_AUTH_APP\",\"app_auth_token\":\"$(cat "$KEYS_DIR/$ISV_APP-app-auth-token")\",\"app_refresh_token\":\"$(cat "$KEYS_DIR/$ISV_APP-app-refresh-token")\",\"expires_in\":31536000,\"re_expires_in\":32140800}" > /dev/null
NOW=$(date +%s)
"${ADMIN[@]}" provider create --provider-id "$ISV_PROVIDER" --name "Local service provider" > /dev/null
"${ADMIN[@]}" provider channel set "$ISV_PROVIDER" wechat_pay --mchid "$SP_MCHID" --appid "$SP_APPID" \
  --merchant-serial "$SP_SERIAL" --public-key-id "$WX_KEY_ID" --private-key-file "$KEYS_DIR/$ISV_PROVIDER-wechat-sp.key" \
  --public-key-file "$KEYS_DIR/wechat-public.key" --apiv3-key-file "$KEYS_DIR/wechat-apiv3.key" --base-url "$WX_URL" > /dev/null
"${ADMIN[@]}" provider channel set "$ISV_PROVIDER" ali_pay --account-app-id "$ISV_ALI_APP" \
  --private-key-file "$KEYS_DIR/$ISV_PROVIDER-alipay-isv.key" --public-key-file "$KEYS_DIR/alipay-public.key" \
  --gateway-url "$SIM_URL/gateway.do" --notify-url "$URL/provider/$ISV_PROVIDER/callback/alipay" > /dev/null
"${ADMIN[@]}" merchant create --mch-no "$ISV_MCH" --name "Merchant under a provider" > /dev/null
ISV_SECRET=$("${ADMIN[@]}" --json app create --mch-no "$ISV_MCH" --app-id "$ISV_APP" --name "Shop under a provider" \
  | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["signSecret"])')
"${ADMIN[@]}" channel set "$ISV_APP" wechat_pay --mode provider --provider "$ISV_PROVIDER" \
  --sub-mchid "$SUB_MCHID" --sub-appid "$SUB_APPID" > /dev/null
"${ADMIN[@]}" channel set "$ISV_APP" ali_pay --mode provider --provider "$ISV_PROVIDER" --user-id "$ISV_USER" \
  --auth-app-id "$ISV_AUTH_APP" --app-auth-token-file "$KEYS_DIR/$ISV_APP-app-auth-token" \
  --app-refresh-token-file "$KEYS_DIR/$ISV_APP-app-refresh-token" \
  --expires-at "$((NOW + 31536000))" --refresh-expires-at "$((NOW + 32140800))" > /dev/null
ISV_ENV=$(printf 'ISV_APP_ID=%s\nISV_APP_SECRET=%s\nISV_APP_URL=%s\nISV_MCH_NO=%s\nISV_PROVIDER_ID=%s\nISV_SP_MCHID=%s\nISV_SUB_MCHID=%s\nISV_SUB_APPID=%s\nISV_ALIPAY_APP_ID=%s\nISV_ALIPAY_USER_ID=%s\nISV_ALIPAY_AUTH_APP_ID=%s\n' \
  "$ISV_APP" "$ISV_SECRET" "$URL/app/$ISV_APP" "$ISV_MCH" "$ISV_PROVIDER" "$SP_MCHID" "$SUB_MCHID" "$SUB_APPID" \
  "$ISV_ALI_APP" "$ISV_USER" "$ISV_AUTH_APP")$'\n'
log "provider $ISV_PROVIDER (WeChat Pay sp_mchid $SP_MCHID, Alipay app $ISV_ALI_APP) and its app $ISV_APP under $URL/app/$ISV_APP"

# EMULATOR_URL, TABLE_NAME, QUEUE_URL: for scripts/chaos.sh, which reads the store and the queues
printf 'URL=%s\nSIM_URL=%s\nWX_URL=%s\nSINK_URL=%s\nSIGN_SECRET=%s\nEMULATOR_PID=%s\nDEFAULT_APP_ID=default\nEMULATOR_URL=%s\nTABLE_NAME=%s\nQUEUE_URL=%s\n%s' "$URL" "$SIM_URL" "$WX_URL" "$SINK_URL" "$SIGN_SECRET" "$MOTO_PID" "$AWS_ENDPOINT_URL" "$TABLE" "$QUEUE_URL" "$APPS_ENV" > "$LOCAL_DIR/run.env"
# provider mode: the app under the provider (ISV_APP_SECRET its sign secret), the sub-merchant and the authorised merchant
printf '%s' "$ISV_ENV" >> "$LOCAL_DIR/run.env"
cat <<MSG

The allocation service runs on $URL
  sign secret: $SIGN_SECRET     table: $TABLE     AWS emulator: $AWS_ENDPOINT_URL
  Alipay simulator: $SIM_URL/gateway.do (control API under $SIM_URL/__sim/)
  WeChat Pay simulator: $WX_URL (control API under $WX_URL/__sim/)
  worker on queue $QUEUE_URL; scheduler every 10 s; merchant notices to $SINK_URL/notify
  logs: .local/{api,worker,scheduler,notices,alipay-sim,wechat-sim}.log
  apps: the default app (routes without a prefix, appId "default") and shop-1, shop-2 under
  $URL/app/<appId>, their sign secrets in .local/run.env (APP1_SECRET, APP2_SECRET)
  provider mode: app $ISV_APP under provider $ISV_PROVIDER (ISV_APP_URL, ISV_APP_SECRET, ISV_SUB_MCHID, ISV_ALIPAY_USER_ID... in .local/run.env): scripts/demo.sh alipay --isv, scripts/demo.sh wechat --isv
  admin: AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test ALLOC_URL=$URL target/debug/alloc admin ...

From another terminal in $ROOT:
  scripts/demo.sh          # paid order -> receivers -> start -> Alipay settles -> sync -> finish
  scripts/demo.sh wechat   # the same on WeChat Pay

or by hand with the alloc CLI (it signs each request and verifies each answer), e.g.:
  ALLOC_URL=$URL ALLOC_SIGN_SECRET=$SIGN_SECRET target/debug/alloc pay-order P-DEMO-1
or sign a body for curl (alloc sign adds reqTime and nonceStr):
  curl -s $URL/unipay/query/payOrder -H 'content-type: application/json' \\
    -d "\$(SIGN_SECRET=$SIGN_SECRET target/debug/alloc sign '{"orderNo":"P-DEMO-1"}')"; echo

Ctrl-C stops everything.
MSG
wait "$API_PID"
