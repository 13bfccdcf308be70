#!/usr/bin/env bash
# Starts (or reuses) a private ClickHouse server for tests and the demo, and
# installs Debian's clickhouse-server first when it is missing.
#
#   scripts/clickhouse.sh start   install if needed, start, wait until it answers
#   scripts/clickhouse.sh stop    stop the private instance
#   scripts/clickhouse.sh addr    print the native-protocol address
#
# Set CLICKHOUSE_ADDR to use a server of your own instead: start then only
# checks that it answers. MEDIC_CLICKHOUSE_PORT (default 19000) picks the
# private instance's native port; its HTTP port is that plus 1.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir="${MEDIC_CACHE:-$root/.cache}/clickhouse"
port="${MEDIC_CLICKHOUSE_PORT:-19000}"
http_port=$((port + 1))

say() { echo "clickhouse: $*" >&2; }

answers() { # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

install_server() {
  command -v clickhouse-server >/dev/null && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    cat >&2 <<MSG
clickhouse: clickhouse-server is not installed, and this script can only
install it as root on Debian (apt-get). Either:
  - point Medic at a ClickHouse server you run:  export CLICKHOUSE_ADDR=host:9000
  - or run the whole stack in containers:        docker compose up
MSG
    exit 3
  fi
  say "installing Debian's clickhouse-server (about 30 s)..."
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clickhouse-server clickhouse-client >&2
}

write_config() {
  mkdir -p "$dir/data" "$dir/tmp" "$dir/log" "$dir/user_files" "$dir/format_schemas"
  cat >"$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$dir/log/server.log</log><errorlog>$dir/log/error.log</errorlog><size>100M</size><count>2</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>$port</tcp_port>
  <http_port>$http_port</http_port>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>200</max_concurrent_queries>
</yandex>
XML
  cat >"$dir/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
}

wait_ready() { # host port
  for _ in $(seq 1 150); do
    if answers "$1" "$2" && clickhouse-client --host "$1" --port "$2" -q 'SELECT 1' >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  return 1
}

start() {
  if [ -n "${CLICKHOUSE_ADDR:-}" ]; then
    host=${CLICKHOUSE_ADDR%:*} p=${CLICKHOUSE_ADDR##*:}
    answers "$host" "$p" || { say "nothing answers at CLICKHOUSE_ADDR=$CLICKHOUSE_ADDR; start that server or unset CLICKHOUSE_ADDR"; exit 4; }
    echo "$CLICKHOUSE_ADDR"
    return
  fi
  install_server
  if answers 127.0.0.1 "$port"; then
    # Reuse only the instance this checkout started: another one on the
    # port (a second clone's, or one whose data folder was deleted) would
    # mix or lose data.
    if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null && wait_ready 127.0.0.1 "$port"; then
      echo "127.0.0.1:$port"
      return
    fi
    say "port $port is taken by a server this checkout did not start; stop it, pick another port with MEDIC_CLICKHOUSE_PORT, or use it deliberately with CLICKHOUSE_ADDR=127.0.0.1:$port"
    exit 5
  fi
  write_config
  say "starting a private server on 127.0.0.1:$port (data in $dir)"
  # setsid keeps the server out of the caller's process group, so that a
  # test run's Ctrl-C does not kill it halfway through a write.
  setsid clickhouse-server --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  if ! wait_ready 127.0.0.1 "$port"; then
    say "server did not answer within 30 s; see $dir/log/"
    tail -n 20 "$dir/log/stdout.log" "$dir/log/error.log" >&2 2>/dev/null || true
    exit 6
  fi
  echo "127.0.0.1:$port"
}

stop() {
  [ -f "$dir/pid" ] || return 0
  pid=$(cat "$dir/pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$dir/pid"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  addr) echo "${CLICKHOUSE_ADDR:-127.0.0.1:$port}" ;;
  *) echo "usage: $0 start|stop|addr" >&2; exit 2 ;;
esac
