#!/usr/bin/env bash
# The system test: the whole local system (scripts/run.sh, in its own .local-system/ folder and
# on free ports) walked end to end by the `alloc` CLI on both channels (scripts/demo.sh), as the
# default app, as an app of its own under /app/{appId}, as an app under a service provider, and
# in DaxPay 3.0.0-beta4's dialect; then the OpenAPI contract checked against it by schemathesis
# (scripts/contract.sh). Everything it started is stopped when it ends, whatever the outcome. Run
# by scripts/test.sh.
set -euo pipefail
export LOCAL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.local-system"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

log "system test: starting the local system (log: .local-system/run.log)"
trap stop_local_system EXIT
start_local_system

log "system test: the CLI walk on Alipay"
scripts/demo.sh alipay > "$LOCAL_DIR/demo-alipay.log" 2>&1 || { tail -40 "$LOCAL_DIR/demo-alipay.log" >&2; exit 1; }
log "system test: the CLI walk on WeChat Pay"
scripts/demo.sh wechat > "$LOCAL_DIR/demo-wechat.log" 2>&1 || { tail -40 "$LOCAL_DIR/demo-wechat.log" >&2; exit 1; }
log "system test: the CLI walk on Alipay as app shop-1 (/app/shop-1, its own secret and accounts)"
scripts/demo.sh alipay --app 1 > "$LOCAL_DIR/demo-app1.log" 2>&1 || { tail -40 "$LOCAL_DIR/demo-app1.log" >&2; exit 1; }
log "system test: DaxPay 3.0.0-beta4's dialect as app shop-2"
scripts/demo.sh beta4 --app 2 > "$LOCAL_DIR/demo-beta4.log" 2>&1 || { tail -40 "$LOCAL_DIR/demo-beta4.log" >&2; exit 1; }
log "system test: provider mode, the app under the local service provider, on WeChat Pay and Alipay"
scripts/demo.sh wechat --isv > "$LOCAL_DIR/demo-isv-wechat.log" 2>&1 || { tail -40 "$LOCAL_DIR/demo-isv-wechat.log" >&2; exit 1; }
scripts/demo.sh alipay --isv > "$LOCAL_DIR/demo-isv-alipay.log" 2>&1 || { tail -40 "$LOCAL_DIR/demo-isv-alipay.log" >&2; exit 1; }
log "system test: the OpenAPI contract (schemathesis)"
scripts/contract.sh
log "system test passed (logs: .local-system/)"
