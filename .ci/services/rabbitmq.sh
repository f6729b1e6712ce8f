# Sourced by .ci/run (bash, set -euo pipefail, as root, no stdin): starts a private
# RabbitMQ on loopback for the compatibility tests (test/compat/) and exports RABBITMQ_URL,
# and, with its management, prometheus, shovel and federation plugins on, RABBITMQ_MGMT_URL
# and RABBITMQ_PROMETHEUS_URL for the management-plane and migration tests.
# Needs the Debian package rabbitmq-server (listed in .ci/apt-packages). Fails the build,
# with the log tail, if RabbitMQ does not come up: CI must never skip the comparison.

rmq_port_free() {
  # true when nothing listens on 127.0.0.1:$1
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

rmq_pick_port() {
  local p
  for p in "$@" $(shuf -i 20000-59999 -n 20); do
    if rmq_port_free "$p"; then echo "$p"; return 0; fi
  done
  return 1
}

rmq_amqp_ready() {
  # A real handshake: send the AMQP 0-9-1 header, expect connection.start (frame type 1 on channel 0).
  node -e '
    const s = require("net").connect(+process.argv[1], "127.0.0.1");
    const fail = () => process.exit(1);
    s.setTimeout(2000, fail); s.on("error", fail);
    s.on("connect", () => s.write(Buffer.from("AMQP\x00\x00\x09\x01", "latin1")));
    s.once("data", (b) => process.exit(b[0] === 1 && b.readUInt16BE(1) === 0 && b.readUInt32BE(7) === 0x000a000a ? 0 : 1));
  ' "$1"
}

rmq_start() {
  command -v rabbitmq-server >/dev/null || { echo "ci: rabbitmq-server is not installed" >&2; return 1; }
  id rabbitmq >/dev/null 2>&1 || { echo "ci: no user 'rabbitmq' (is the Debian package installed?)" >&2; return 1; }

  RMQ_DIR=$(mktemp -d /tmp/ci-rabbitmq.XXXXXX)
  RMQ_PORT=$(rmq_pick_port 25672) || { echo "ci: no free port for RabbitMQ" >&2; return 1; }
  local dist
  dist=$(rmq_pick_port $((RMQ_PORT + 1))) || { echo "ci: no free port for Erlang distribution" >&2; return 1; }
  RMQ_MGMT_PORT=$(rmq_pick_port $((RMQ_PORT + 2))) || { echo "ci: no free port for the management plugin" >&2; return 1; }
  RMQ_PROM_PORT=$(rmq_pick_port $((RMQ_PORT + 3))) || { echo "ci: no free port for the prometheus plugin" >&2; return 1; }
  RMQ_NODE="ci$$@localhost"

  mkdir -p "$RMQ_DIR/mnesia" "$RMQ_DIR/log"
  echo '[rabbitmq_management,rabbitmq_prometheus,rabbitmq_shovel,rabbitmq_shovel_management,rabbitmq_federation,rabbitmq_federation_management].' \
    > "$RMQ_DIR/enabled_plugins"
  cat > "$RMQ_DIR/rabbitmq.conf" <<CONF
management.tcp.ip = 127.0.0.1
management.tcp.port = $RMQ_MGMT_PORT
prometheus.tcp.ip = 127.0.0.1
prometheus.tcp.port = $RMQ_PROM_PORT
CONF
  chown -R rabbitmq:rabbitmq "$RMQ_DIR"
  chmod 755 "$RMQ_DIR"

  RMQ_ENV=(
    RABBITMQ_NODE_PORT="$RMQ_PORT"
    RABBITMQ_NODENAME="$RMQ_NODE"
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    RABBITMQ_DIST_PORT="$dist"
    RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
    RABBITMQ_LOG_BASE="$RMQ_DIR/log"
    RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
    RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq"
    RABBITMQ_FEATURE_FLAGS_FILE="$RMQ_DIR/feature_flags"
    ERL_EPMD_ADDRESS=127.0.0.1
  )
  echo "ci: starting RabbitMQ $RMQ_NODE on 127.0.0.1:$RMQ_PORT (data in $RMQ_DIR)"
  # Its own process group (setsid), so that stopping it also stops beam and epmd children.
  setsid env "${RMQ_ENV[@]}" rabbitmq-server </dev/null >"$RMQ_DIR/stdout.log" 2>&1 &
  RMQ_PID=$!
  ci_on_exit rmq_stop

  local deadline=$((SECONDS + ${RABBITMQ_START_TIMEOUT:-90}))
  until rmq_amqp_ready "$RMQ_PORT"; do
    if ! kill -0 "$RMQ_PID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      echo "ci: RabbitMQ did not start (port $RMQ_PORT); last lines of its logs:" >&2
      tail -n 40 "$RMQ_DIR/stdout.log" "$RMQ_DIR"/log/*.log 2>/dev/null >&2 || true
      return 1
    fi
    sleep 1
  done
  export RABBITMQ_URL="amqp://guest:guest@127.0.0.1:$RMQ_PORT"
  # The plugins' listeners come up after AMQP's; wait for the API to answer too.
  until curl -fsS -u guest:guest "http://127.0.0.1:$RMQ_MGMT_PORT/api/overview" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "ci: RabbitMQ's management API did not come up on $RMQ_MGMT_PORT" >&2
      return 1
    fi
    sleep 1
  done
  export RABBITMQ_MGMT_URL="http://guest:guest@127.0.0.1:$RMQ_MGMT_PORT"
  export RABBITMQ_PROMETHEUS_URL="http://127.0.0.1:$RMQ_PROM_PORT"
  # rabbitmqctl for tests that set users and permissions on the reference broker.
  export RABBITMQ_NODENAME_CI="$RMQ_NODE"
  echo "ci: RabbitMQ ready at $RABBITMQ_URL, management at http://127.0.0.1:$RMQ_MGMT_PORT"
}

rmq_stop() {
  [ -n "${RMQ_PID:-}" ] || return 0
  # rabbitmqctl needs the server's cookie, which lives in the rabbitmq user's HOME.
  timeout 30 runuser -u rabbitmq -- env "${RMQ_ENV[@]}" rabbitmqctl -q -n "$RMQ_NODE" stop >/dev/null 2>&1 || true
  if kill -0 "$RMQ_PID" 2>/dev/null; then
    kill -TERM -- "-$RMQ_PID" 2>/dev/null || true
    sleep 2
    kill -KILL -- "-$RMQ_PID" 2>/dev/null || true
  fi
  rm -rf "$RMQ_DIR"
  RMQ_PID=
}

if ! rmq_start; then
  rmq_stop
  echo "ci: the compatibility tests need RabbitMQ; failing" >&2
  exit 1
fi
