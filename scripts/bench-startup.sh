#!/usr/bin/env bash
# Prints the figures of the Lambda binaries: stripped release sizes, and the api's time from
# process start to its first Lambda Runtime API poll (30 cold starts under dev/local's emulator).
# The secret is given inline here; in AWS the Secrets Manager read at init adds one round trip.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
cargo build --locked --release -p api -p worker -p scheduler
cargo build --locked -p local
for bin in api worker scheduler; do
  size=$(wc -c <"target/release/$bin")
  echo "$bin release binary (stripped, $(uname -m)): $size bytes ($((size / 1024)) KiB)"
done
AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
  target/debug/local cold-start --bin target/release/api --runs 30 \
  --env TABLE_NAME=allocation --env SIGN_SECRET=bench
