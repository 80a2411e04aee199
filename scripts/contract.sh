#!/usr/bin/env bash
# Checks the running local system (scripts/run.sh) against its OpenAPI contract with
# schemathesis: every answer must match the document (schema, status code, content type), none
# may be a 5xx or an envelope 10001 (系统错误; beta4's 10500), a correctly signed request must
# never be refused for its signature (20052; an admin call signed with SigV4 never 403), every
# signed `data` (every signed beta4 envelope) must verify, and an answer must use the field names
# of its request's generation. Generated requests are signed (scripts/contract_hooks.py),
# positive and negative (mutated) ones alike: 2.0.x ones by our rule, DaxPay 3.0.0-beta4's
# (`/unipay/alloc/...`) by beta4's for an app of the run (mostly `default`), admin calls
# (`/admin/...`) with SigV4. Admin calls that change something never name the run's own apps,
# merchants and service provider (run.env's apps, the app under its provider, their merchants, the
# default app, the provider): only a merchant, an app and a provider the fixtures make for the
# check, or ids nobody has. A provider's callbacks (`/provider/{providerId}/callback/...`) are
# sent unsigned by the channel, some naming a real provider, and must be refused as documented.
#
# Usage: scripts/contract.sh [--max-examples N] [--max-time SECS|none] [--seed N] [run options...]
#   LOCAL_DIR          the running system's folder (default .local): run.env gives URL, SIGN_SECRET,
#                      the apps (APP<n>_ID, APP<n>_SECRET, ISV_APP_ID, ISV_APP_SECRET) beta4
#                      requests may speak for, the service provider (ISV_PROVIDER_ID)
#   CONTRACT_ADMIN_ACCESS_KEY_ID, CONTRACT_ADMIN_SECRET_ACCESS_KEY, CONTRACT_ADMIN_REGION
#                      the admin routes' SigV4 credentials (default: run.env's
#                      LOCAL_ADMIN_ACCESS_KEY_ID / LOCAL_ADMIN_SECRET_ACCESS_KEY / AWS_REGION, else
#                      the front door's test / test, us-east-1)
#   CONTRACT_SPEC      served (default: the document the system serves at $URL/openapi.json, else
#                      the file) or file (shared/openapi.json, sent to --url $URL)
#   CONTRACT_MAX_TIME  seconds for schemathesis (default 150; `none`: every coverage case and one
#                      fuzzing cycle); CONTRACT_WORKERS (default 2)
#   CONTRACT_DIAG=1    also list schema-valid requests the system refused (document looser than code)
# Writes $LOCAL_DIR/contract/ (junit.xml, answers.json, fixtures.json, schemathesis's cache for
# `st replay`). Exits non-zero on any failure. About 2.5 minutes in all on a 2-core machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

MAX_EXAMPLES=25
# the whole schemathesis run in seconds (examples, the coverage phase, then fuzzing cycles until
# it is spent); `none`: every coverage case and one fuzzing cycle, however long that takes
MAX_TIME="${CONTRACT_MAX_TIME:-150}"
SEED=()
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --max-examples) MAX_EXAMPLES="$2"; shift 2 ;;
    --max-time) MAX_TIME="$2"; shift 2 ;;
    --seed) SEED=(--seed "$2"); shift 2 ;;
    *) EXTRA+=("$1"); shift ;;
  esac
done

RUN_ENV="$LOCAL_DIR/run.env"
[ -f "$RUN_ENV" ] || { echo "no running system: start it first (scripts/run.sh; LOCAL_DIR=$LOCAL_DIR)" >&2; exit 1; }
# shellcheck disable=SC1090
source "$RUN_ENV"
: "${URL:?run.env has no URL}" "${SIGN_SECRET:?run.env has no SIGN_SECRET}"

CONTRACT_VENV="$ROOT/.venv-contract"
pinned_venv "$CONTRACT_VENV" "$ROOT/scripts/requirements-contract.txt" \
  "schemathesis into .venv-contract, about a minute" schemathesis
PY="$CONTRACT_VENV/bin/python"

log "the signing rules of the hooks (SPEC §3, beta4's, SigV4) against the test vectors"
VECTORS=()
[ -f "$ROOT/../shared/vectors/sign.json" ] && VECTORS=("$ROOT/../shared/vectors/sign.json")
"$PY" scripts/contract_hooks.py self-test "$ROOT/shared/tests/fixtures/sign.json" \
  "$ROOT/shared/tests/fixtures/hutool-escape/vectors.json" "${VECTORS[@]}"

OUT="$LOCAL_DIR/contract"
rm -rf "$OUT"
mkdir -p "$OUT"

# The document: the one the system serves, unless it serves none (or CONTRACT_SPEC=file).
FILE="$ROOT/shared/openapi.json"
LOCATION=("$FILE" --url "$URL")
if [ "${CONTRACT_SPEC:-served}" = served ]; then
  if "$PY" - "$URL/openapi.json" "$OUT/served.json" <<'PY'
import json, sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
        body = r.read()
    doc = json.loads(body)
    ok = str(doc.get("openapi", "")).startswith("3.1") and bool(doc.get("paths"))
except Exception:
    ok = False
if ok:
    open(sys.argv[2], "wb").write(body)
sys.exit(0 if ok else 1)
PY
  then
    LOCATION=("$URL/openapi.json" --url "$URL")
    if ! "$PY" -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' "$OUT/served.json" "$FILE"; then
      echo "note: the running system serves another version of the document than shared/openapi.json (rebuild and restart it to check the file)" >&2
    fi
  else
    echo "note: $URL/openapi.json serves no document; checking shared/openapi.json" >&2
  fi
fi
log "contract: ${LOCATION[0]} against $URL"
DOC="$FILE"
[ "${LOCATION[0]}" = "$FILE" ] || DOC="$OUT/served.json"
"$PY" scripts/contract_hooks.py check-document "$DOC"

log "fixtures: real pay orders, receivers, groups, allocations (2.0.x and beta4) and returns on both channels; yesterday reconciled; the check's own merchant, app and service provider"
"$PY" scripts/contract_hooks.py fixtures "$RUN_ENV" "$OUT/fixtures.json"

LIMIT=(--max-time "$MAX_TIME")
[ "$MAX_TIME" = none ] && LIMIT=()
# schemathesis keeps failing cases for `replay` in a cache folder: ours, not the work tree's
printf '[cache]\ndirectory = "%s"\n' "$OUT/cache" > "$OUT/schemathesis.toml"
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
CHECKS+=,no_system_error,signed_request_not_refused_for_signature,answer_signature_valid,answer_in_request_spelling
log "schemathesis run (positive and negative cases; $MAX_EXAMPLES fuzzed per operation and cycle; time limit: $MAX_TIME)"
status=0
SCHEMATHESIS_HOOKS="$ROOT/scripts/contract_hooks.py" CONTRACT_SECRET="$SIGN_SECRET" CONTRACT_RUN_ENV="$RUN_ENV" \
CONTRACT_SIGN_TYPE="${SIGN_TYPE:-HMAC_SHA256}" CONTRACT_FIXTURES="$OUT/fixtures.json" \
CONTRACT_STATS="$OUT/answers.json" \
  "$CONTRACT_VENV/bin/schemathesis" --config-file "$OUT/schemathesis.toml" run "${LOCATION[@]}" \
    --checks "$CHECKS" \
    --mode all \
    --phases examples,coverage,fuzzing \
    --max-examples "$MAX_EXAMPLES" \
    --workers "${CONTRACT_WORKERS:-2}" \
    --request-timeout 30 \
    --max-failures 50 \
    --generation-database none \
    --report junit --report-junit-path "$OUT/junit.xml" \
    --no-color \
    "${LIMIT[@]}" "${SEED[@]}" "${EXTRA[@]}" || status=$?

"$PY" - "$OUT/answers.json" <<'PY'
import json, sys
try:
    stats = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    sys.exit("no answers were recorded")
ops = {op: c for op, c in stats.items() if not op.startswith("positive refused")}
total = sum(sum(c.values()) for c in ops.values())
print(f"\n{total} requests to {len(ops)} operations; answers per operation:")
for op, c in ops.items():
    print(f"  {op:45} {sum(c.values()):5}  " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
# CONTRACT_DIAG=1: schema-valid requests the system refused (where the document is looser than the code)
for op, c in stats.items():
    if op.startswith("positive refused"):
        print(f"{op}: {sum(c.values())}")
        for k, v in sorted(c.items(), key=lambda kv: -kv[1])[:5]:
            print(f"    {v} x {k[:200]}")
PY
if [ "$status" -ne 0 ]; then
  echo "contract check FAILED (schemathesis exit $status); JUnit report: $OUT/junit.xml; replay a case:" >&2
  echo "  $CONTRACT_VENV/bin/schemathesis --config-file $OUT/schemathesis.toml replay <Test Case ID>" >&2
  exit "$status"
fi
log "contract check passed"
