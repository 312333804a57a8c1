#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for tests, on a free loopback port, in its own directory.
#   scripts/pg-test-server.sh start DIR   -> prints (and writes DIR/url) the storage URL
#   scripts/pg-test-server.sh stop DIR    -> stops it by the PID in its data directory
#   scripts/pg-test-server.sh restart DIR -> stops and starts it again (same data)
# As root, initdb refuses to run, so the cluster belongs to the "postgres" user.
set -euo pipefail
action="${1:?start|stop|restart}"
dir="${2:?directory}"
bin=/usr/lib/postgresql/15/bin
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  local port
  port=$(cat "$dir/port")
  # Already running (e.g. left over from an interrupted run): keep it.
  as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 && return 0
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" \
    start >/dev/null
}

dir=$(realpath -m "$dir")
mkdir -p "$dir"
[ "$(id -u)" -eq 0 ] && chown postgres "$dir"
# Run from the cluster's own directory: the postgres user may not be able to read the caller's.
cd "$dir"

case "$action" in
  start)
    if [ ! -d "$dir/data" ]; then
      as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        >/dev/null
      python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' \
        > "$dir/port"
    fi
    start
    port=$(cat "$dir/port")
    as_pg "$bin/psql" -h "$dir" -p "$port" -U postgres -q -v ON_ERROR_STOP=1 -d postgres \
      -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='authgate') THEN CREATE ROLE authgate LOGIN PASSWORD 'authgate-test'; END IF; END\$\$;" >/dev/null
    as_pg "$bin/psql" -h "$dir" -p "$port" -U postgres -q -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname='authgate'" | grep -q 1 ||
      as_pg "$bin/createdb" -h "$dir" -p "$port" -U postgres -O authgate authgate
    # store_faults_test.py makes the database read-only for a while: a run killed before it
    # undid that must not leave the next one a read-only database.
    as_pg "$bin/psql" -h "$dir" -p "$port" -U postgres -q -v ON_ERROR_STOP=1 -d postgres \
      -c "ALTER DATABASE authgate RESET default_transaction_read_only" >/dev/null
    echo "postgresql://authgate:authgate-test@127.0.0.1:$port/authgate" | tee "$dir/url"
    ;;
  stop)
    [ -f "$dir/data/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  restart)
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    start
    ;;
  *) echo "usage: $0 start|stop|restart DIR" >&2; exit 2 ;;
esac
