#!/bin/sh
# The scale-out topology on one machine: nginx on $PORT (default 8090) in
# front of two Kore nodes sharing the run instance's PostgreSQL and Redis.
# Nodes keep no state of their own: sessions, carts, rate limits and cache
# invalidations go through Redis, everything else through PostgreSQL.
# Usage: scripts/cluster.sh start|stop
set -eu
export INSTANCE=run
. "$(dirname "$0")/instance.sh"
CVAR="$ROOT/var/cluster"
LB_PORT=${LB_PORT:-8090}
NODES="18181 18182"

start() {
	command -v nginx >/dev/null || {
		[ "$(id -u)" -eq 0 ] || { echo "cluster: needs nginx" >&2; exit 1; }
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
	}
	mkdir -p "$CVAR"
	"$ROOT/scripts/setup-db.sh" >/dev/null
	ups=""
	for p in $NODES; do
		ups="$ups server 127.0.0.1:$p;"
		# Each node is an instance of its own name, sharing the databases.
		mkdir -p "$ROOT/var/node$p"
		cp "$VAR/secrets.env" "$ROOT/var/node$p/secrets.env"
		INSTANCE=node$p PORT=$p PG_PORT=$PG_PORT REDIS_PORT=$REDIS_PORT \
		    "$ROOT/scripts/server.sh" start
	done
	sed -e "s|@VAR@|$CVAR|g" -e "s|@PORT@|$LB_PORT|" -e "s|@UPSTREAMS@|$ups|" \
	    "$ROOT/conf/cluster/nginx.conf.in" > "$CVAR/nginx.conf"
	nginx -c "$CVAR/nginx.conf" -p "$CVAR"
	echo "cluster: nginx on 127.0.0.1:$LB_PORT over Kore nodes $NODES"
}

stop() {
	[ -f "$CVAR/nginx.pid" ] && kill "$(cat "$CVAR/nginx.pid")" 2>/dev/null || true
	for p in $NODES; do
		INSTANCE=node$p PORT=$p PG_PORT=$PG_PORT REDIS_PORT=$REDIS_PORT \
		    "$ROOT/scripts/server.sh" stop
	done
}

case "${1:-}" in
start)	start ;;
stop)	stop ;;
*)	echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
