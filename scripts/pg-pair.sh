#!/usr/bin/env bash
# Starts (or stops) a PostgreSQL primary and a streaming-replication standby
# on loopback, in a folder of their own, for drillctl's tests and for trying
# playbooks/examples/postgres-failover.yaml by hand.
#
#   scripts/pg-pair.sh start DIR PRIMARY_PORT STANDBY_PORT
#   scripts/pg-pair.sh stop DIR
#
# It prints the two DSNs on start. PostgreSQL refuses to run as root, so as
# root the servers run as the "postgres" user (Debian's package creates it).
set -euo pipefail

cmd=${1:?usage: pg-pair.sh start DIR PRIMARY_PORT STANDBY_PORT | stop DIR}
dir=${2:?DIR}
bin=${PG_BIN:-}
if [ -z "$bin" ]; then
  for b in /usr/lib/postgresql/*/bin; do bin=$b; done
fi
[ -x "$bin/initdb" ] || { echo "pg-pair: no PostgreSQL server binaries (apt-get install postgresql)" >&2; exit 2; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  pport=${3:?PRIMARY_PORT}; sport=${4:?STANDBY_PORT}
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  as_pg "$bin/initdb" -D "$dir/primary" -U postgres --auth=trust >"$dir/initdb.log" 2>&1
  cat >>"$dir/primary/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pport
unix_socket_directories = '$dir'
wal_level = replica
max_wal_senders = 5
hot_standby = on
fsync = off
synchronous_commit = off
CONF
  echo "host replication all 127.0.0.1/32 trust" >>"$dir/primary/pg_hba.conf"
  as_pg "$bin/pg_ctl" -D "$dir/primary" -l "$dir/primary.log" -w start >/dev/null
  as_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$pport" -U postgres -D "$dir/standby" -R -X stream >"$dir/basebackup.log" 2>&1
  echo "port = $sport" >>"$dir/standby/postgresql.conf"
  as_pg "$bin/pg_ctl" -D "$dir/standby" -l "$dir/standby.log" -w start >/dev/null
  echo "primary=postgres://postgres@127.0.0.1:$pport/postgres?sslmode=disable"
  echo "standby=postgres://postgres@127.0.0.1:$sport/postgres?sslmode=disable"
  ;;
stop)
  for node in standby primary; do
    [ -d "$dir/$node" ] && as_pg "$bin/pg_ctl" -D "$dir/$node" -m immediate stop >/dev/null 2>&1 || true
  done
  ;;
*)
  echo "usage: pg-pair.sh start DIR PRIMARY_PORT STANDBY_PORT | stop DIR" >&2; exit 2 ;;
esac
