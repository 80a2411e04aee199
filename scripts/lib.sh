# Shared helpers for scripts/test.sh and scripts/run.sh. Sourced, not run.
# Needs only python3 (for the venv) and the Rust toolchain.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
# LOCAL_DIR may be set to run a second local system beside the first (its logs and run.env).
LOCAL_DIR="${LOCAL_DIR:-$ROOT/.local}"
mkdir -p "$LOCAL_DIR"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Creates the venv $1 from the pins file $2 (installing "$3"), or refreshes it when the pins
# changed or one of the executables $4... is missing.
pinned_venv() {
  local dir="$1" pins="$2" what="$3" bin
  shift 3
  local ready=1
  for bin in "$@"; do
    [ -x "$dir/bin/$bin" ] || ready=0
  done
  if [ "$ready" = 1 ] && cmp -s "$pins" "$dir/.pins"; then
    return 0
  fi
  log "installing $what (pinned)"
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$pins"
  cp "$pins" "$dir/.pins"
}

# The local AWS emulator and cfn-lint.
ensure_venv() {
  pinned_venv "$VENV" "$ROOT/scripts/requirements-dev.txt" \
    "the local AWS emulator and cfn-lint into .venv, about a minute" moto_server cfn-lint
}

# The SAM CLI, in a venv of its own (it pins boto3 older than the emulator's).
SAM_VENV="$ROOT/.venv-sam"
ensure_sam() {
  pinned_venv "$SAM_VENV" "$ROOT/scripts/requirements-sam.txt" \
    "the AWS SAM CLI into .venv-sam, about two minutes" sam
}

# Prints a free TCP port on 127.0.0.1, below the kernel's ephemeral range: a port is chosen
# well before something listens on it (the simulators are told the api's port first), and one
# from the ephemeral range could meanwhile become the local port of an outgoing connection
# (seen once in a clean-clone run: "Address already in use").
free_port() {
  python3 - <<'PY'
import random, socket
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
top = max(low - 1, 2048)
for _ in range(500):
    port = random.randint(max(1024, top - 12000), top)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

# Waits until http://127.0.0.1:$1$2 answers, for at most $3 seconds.
wait_http() {
  python3 - "$1" "$2" "${3:-30}" <<'PY'
import sys, time, urllib.request
port, path, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
deadline = time.time() + limit
while time.time() < deadline:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1)
        sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit(1)
PY
}

# POSTs the JSON text $2 to $1 (a simulator's control API); fails on any status but 2xx.
post_json() {
  python3 - "$1" "$2" <<'PY'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), headers={"content-type": "application/json"})
urllib.request.urlopen(req, timeout=10).read()
PY
}

RUN_PID=""
# Starts scripts/run.sh: a fresh local system in $LOCAL_DIR (its log run.log), on a free port
# (a developer's scripts/run.sh may hold 9000), in a process group of its own; returns once it
# is up (its run.env written), or fails with the end of its log. stop_local_system stops it:
# set it as an EXIT trap first.
start_local_system() {
  rm -f "$LOCAL_DIR/run.env"
  PORT=$(free_port)
  export PORT
  setsid "$ROOT/scripts/run.sh" > "$LOCAL_DIR/run.log" 2>&1 &
  RUN_PID=$!
  local _
  for _ in $(seq 1 900); do
    [ -f "$LOCAL_DIR/run.env" ] && return 0
    if ! kill -0 "$RUN_PID" 2>/dev/null; then
      tail -40 "$LOCAL_DIR/run.log" >&2
      echo "the local system did not start" >&2
      return 1
    fi
    sleep 1
  done
  tail -40 "$LOCAL_DIR/run.log" >&2
  echo "the local system did not start in 15 minutes" >&2
  return 1
}

stop_local_system() {
  if [ -n "$RUN_PID" ]; then
    # run.sh stops what it started on TERM; its process group is signalled in case it is mid-build
    kill -TERM -- "-$RUN_PID" 2>/dev/null || true
    wait "$RUN_PID" 2>/dev/null || true
    RUN_PID=""
  fi
}

MOTO_PID=""
# Starts moto's server on a free port and exports what the AWS SDK needs to reach it. It runs
# through scripts/emulator.py, which gives DynamoDB requests the isolation DynamoDB has.
start_emulator() {
  local attempt port
  for attempt in 1 2 3; do
    port=$(free_port)
    "$VENV/bin/python" "$ROOT/scripts/emulator.py" 127.0.0.1 "$port" >"$LOCAL_DIR/moto.log" 2>&1 &
    MOTO_PID=$!
    if wait_http "$port" /moto-api/ 30; then
      export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
      export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
      export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
      # Never let a developer's real AWS profile be used by mistake.
      unset AWS_PROFILE AWS_SESSION_TOKEN
      log "AWS emulator (moto) on $AWS_ENDPOINT_URL (log: $LOCAL_DIR/moto.log)"
      return 0
    fi
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
  done
  echo "the AWS emulator did not start; see $LOCAL_DIR/moto.log" >&2
  return 1
}

stop_emulator() {
  if [ -n "$MOTO_PID" ]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
    MOTO_PID=""
  fi
}
