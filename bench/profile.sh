#!/usr/bin/env bash
# CPU-profile Warren under one bench scenario:
#   bench/profile.sh S1 [extra bench flags...]
# Builds, starts Warren under `node --cpu-prof` on a private port, runs the scenario,
# stops Warren (SIGTERM, so the profile is written) and prints the top self-time
# functions. The .cpuprofile stays in $OUT (default /tmp/warren-prof-<scenario>)
# for Chrome DevTools or speedscope.
set -euo pipefail
cd "$(dirname "$0")/.."
SCENARIO=${1:?usage: bench/profile.sh SCENARIO [bench flags...]}
shift
PORT=${PORT:-5691}
OUT=${OUT:-/tmp/warren-prof-$SCENARIO}
rm -rf "$OUT" && mkdir -p "$OUT/data"
ulimit -n 20000 2>/dev/null || true
npx tsc -p tsconfig.build.json
node --cpu-prof --cpu-prof-dir="$OUT" dist/server/cli.js start --port "$PORT" --host 127.0.0.1 --log-level warn --data-dir "$OUT/data" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
node dist/bench/main.js --scenario "$SCENARIO" --url "amqp://guest:guest@127.0.0.1:$PORT" --pid "$PID" "$@"
kill -TERM $PID
wait $PID || true
trap - EXIT
node dist/bench/profile.js "$(ls -t "$OUT"/*.cpuprofile | head -1)" --top "${TOP:-25}"
