#!/bin/sh
# Starts or stops the private PostgreSQL and Redis of one instance under
# var/$INSTANCE, on loopback ports of their own.  Usage: services.sh start|stop
set -eu
. "$(dirname "$0")/instance.sh"

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pg_start() {
	if [ ! -f "$VAR/pg/PG_VERSION" ]; then
		mkdir -p "$VAR/pg" "$VAR/sock"
		[ "$(id -u)" -eq 0 ] && chown postgres "$VAR/pg" "$VAR/sock"
		as_pg "$PGBIN/initdb" -D "$VAR/pg" -U bangfu --auth=trust \
		    -E UTF8 --locale=C.UTF-8 >/dev/null
		cat >> "$VAR/pg/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$VAR/sock'
max_connections = 100
shared_buffers = 256MB
work_mem = 16MB
timezone = 'UTC'
log_min_duration_statement = 500
CONF
		if [ "$INSTANCE" = test ]; then
			# Throwaway data: durability costs time and buys nothing here.
			echo "fsync = off" >> "$VAR/pg/postgresql.conf"
			echo "full_page_writes = off" >> "$VAR/pg/postgresql.conf"
		fi
	fi
	if as_pg "$PGBIN/pg_ctl" -D "$VAR/pg" status >/dev/null 2>&1; then
		return 0
	fi
	# The port is given at start: a cluster follows its instance's port.
	as_pg "$PGBIN/pg_ctl" -D "$VAR/pg" -l "$VAR/pg/server.log" -w -t 60 \
	    -o "-p $PG_PORT" start >/dev/null
	if ! psql -X -tAq "host=127.0.0.1 port=$PG_PORT user=bangfu dbname=postgres" \
	    -c "SELECT 1 FROM pg_database WHERE datname='bangfu'" | grep -q 1; then
		psql -X -q "host=127.0.0.1 port=$PG_PORT user=bangfu dbname=postgres" \
		    -c "CREATE DATABASE bangfu"
	fi
}

pg_stop() {
	[ -f "$VAR/pg/postmaster.pid" ] || return 0
	as_pg "$PGBIN/pg_ctl" -D "$VAR/pg" -m fast -w stop >/dev/null 2>&1 || true
}

redis_running() {
	[ -f "$VAR/redis/redis.pid" ] && kill -0 "$(cat "$VAR/redis/redis.pid")" 2>/dev/null
}

redis_start() {
	mkdir -p "$VAR/redis"
	redis_running && return 0
	# Per-command latency histograms (INFO latencystats) are off: nothing
	# reads them, and they cost a clock read and a record for every call,
	# the cart script's own included.  SLOWLOG and LATENCY stay.
	redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$VAR/redis" \
	    --appendonly yes --appendfsync everysec --save "" \
	    --latency-tracking no \
	    --daemonize yes --pidfile "$VAR/redis/redis.pid" \
	    --logfile "$VAR/redis/redis.log"
	i=0
	# PONG, not LOADING: a command sent while the AOF loads is refused.
	until [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; do
		i=$((i + 1)); [ $i -gt 100 ] && { echo "redis did not start" >&2; exit 1; }
		sleep 0.1
	done
}

redis_stop() {
	redis_running || return 0
	pid=$(cat "$VAR/redis/redis.pid")
	kill "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

# scripts/cluster.sh runs its own (replicated) servers: nothing to do here.
[ "${EXTERNAL_SERVICES:-}" = 1 ] && exit 0

case "${1:-}" in
start)	mkdir -p "$VAR"; pg_start; redis_start ;;
stop)	redis_stop; pg_stop ;;
*)	echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
