#!/bin/sh
# The scale-out topology on one machine: nginx on $LB_PORT (8090) in front
# of two Kore nodes ($NODES) sharing a PostgreSQL and a Redis of the
# cluster's own under var/cluster, both with real credentials:
# PostgreSQL with scram-sha-256 password authentication only, Redis with
# requirepass.  The passwords are generated once per cluster into
# var/cluster/credentials.env (mode 0600, never committed); the nodes get
# them in DATABASE_URL and REDIS_URL (redis://:password@host:port/db).
# Nodes keep no state of their own: sessions, carts, rate limits and cache
# invalidations go through Redis, everything else through PostgreSQL.
# Usage: scripts/cluster.sh start|stop
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CVAR="$ROOT/var/cluster"
LB_PORT=${LB_PORT:-8090}
NODES=${NODES:-"18181 18182"}
export INSTANCE=cluster
export PG_PORT=${CLUSTER_PG_PORT:-25452}
export REDIS_PORT=${CLUSTER_REDIS_PORT:-26399}
export PORT=$LB_PORT
export KORE_PORT=${NODES%% *}
NGINX_PID="$CVAR/nginx.pid"

# Credentials first: instance.sh's DATABASE_URL and REDIS_URL defaults
# have none.
mkdir -p "$CVAR"
chmod 0755 "$CVAR"
if [ ! -f "$CVAR/credentials.env" ]; then
	(
		umask 077
		{
			echo "PG_PASSWORD=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
			echo "REDIS_PASSWORD=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
		} > "$CVAR/credentials.env"
	)
fi
. "$CVAR/credentials.env"
export DATABASE_URL="host=127.0.0.1 port=$PG_PORT dbname=bangfu user=bangfu password=$PG_PASSWORD connect_timeout=2 gssencmode=disable"
export REDIS_URL="redis://:$REDIS_PASSWORD@127.0.0.1:$REDIS_PORT/0"
# psql (setup-db.sh, migrate.sh) reads the password from a pgpass file.
(umask 077; echo "127.0.0.1:$PG_PORT:*:bangfu:$PG_PASSWORD" > "$CVAR/pgpass")
export PGPASSFILE="$CVAR/pgpass"
. "$ROOT/scripts/instance.sh"

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# The same layout as scripts/services.sh (which then finds both running),
# made with credentials.
pg_start() {
	if [ ! -f "$CVAR/pg/PG_VERSION" ]; then
		mkdir -p "$CVAR/pg" "$CVAR/sock"
		pwfile="$CVAR/pg.pw"
		(umask 077; echo "$PG_PASSWORD" > "$pwfile")
		if [ "$(id -u)" -eq 0 ]; then
			chown postgres "$CVAR/pg" "$CVAR/sock" "$pwfile"
		fi
		as_pg "$PGBIN/initdb" -D "$CVAR/pg" -U bangfu \
		    --auth=scram-sha-256 --pwfile="$pwfile" \
		    -E UTF8 --locale=C.UTF-8 >/dev/null
		rm -f "$pwfile"
		cat >> "$CVAR/pg/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$CVAR/sock'
password_encryption = 'scram-sha-256'
max_connections = 100
shared_buffers = 256MB
timezone = 'UTC'
CONF
	fi
	if ! as_pg "$PGBIN/pg_ctl" -D "$CVAR/pg" status >/dev/null 2>&1; then
		as_pg "$PGBIN/pg_ctl" -D "$CVAR/pg" -l "$CVAR/pg/server.log" -w \
		    -t 60 -o "-p $PG_PORT" start >/dev/null
	fi
	if ! psql -X -tAq "host=127.0.0.1 port=$PG_PORT user=bangfu dbname=postgres" \
	    -c "SELECT 1 FROM pg_database WHERE datname='bangfu'" | grep -q 1; then
		psql -X -q "host=127.0.0.1 port=$PG_PORT user=bangfu dbname=postgres" \
		    -c "CREATE DATABASE bangfu"
	fi
}

redis_start() {
	mkdir -p "$CVAR/redis"
	if [ -f "$CVAR/redis/redis.pid" ] &&
	    kill -0 "$(cat "$CVAR/redis/redis.pid")" 2>/dev/null; then
		return 0
	fi
	# The password in a file of mode 0600, not on a command line.
	(
		umask 077
		cat > "$CVAR/redis/redis.conf" <<CONF
bind 127.0.0.1
port $REDIS_PORT
protected-mode yes
requirepass $REDIS_PASSWORD
dir $CVAR/redis
appendonly yes
appendfsync everysec
save ""
daemonize yes
pidfile $CVAR/redis/redis.pid
logfile $CVAR/redis/redis.log
CONF
	)
	redis-server "$CVAR/redis/redis.conf"
	i=0
	until [ "$(REDISCLI_AUTH=$REDIS_PASSWORD redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; do
		i=$((i + 1)); [ $i -gt 100 ] && { echo "cluster: redis did not start" >&2; exit 1; }
		sleep 0.1
	done
}

start() {
	"$ROOT/scripts/deps.sh"
	pg_start
	redis_start
	"$ROOT/scripts/setup-db.sh" >/dev/null
	ups=""
	for p in $NODES; do
		ups="$ups server 127.0.0.1:$p;"
		# Each node is an instance of its own name (Kore alone: the
		# cluster's nginx is its front), sharing the cluster's databases.
		mkdir -p "$ROOT/var/node$p"
		cp "$VAR/secrets.env" "$ROOT/var/node$p/secrets.env"
		INSTANCE=node$p PORT=$p KORE_PORT=$p FRONT=no \
		    "$ROOT/scripts/server.sh" start
	done
	if [ -f "$NGINX_PID" ] && kill -0 "$(cat "$NGINX_PID")" 2>/dev/null; then
		echo "cluster: nginx already running (pid $(cat "$NGINX_PID"))"
		return 0
	fi
	mkdir -p "$CVAR/nginx"
	user=""
	if [ "$(id -u)" -eq 0 ]; then
		user="user ${NGINX_USER:-www-data};"
		chown "${NGINX_USER:-www-data}" "$CVAR/nginx"
	fi
	sed -e "s|@VAR@|$CVAR|g" -e "s|@CONF@|$ROOT/conf|g" -e "s|@PORT@|$LB_PORT|" \
	    -e "s|@UPSTREAMS@|$ups|" -e "s|@USER@|$user|" \
	    "$ROOT/conf/cluster/nginx.conf.in" > "$CVAR/nginx.conf"
	setsid nginx -e "$CVAR/nginx-error.log" -p "$CVAR/nginx" -c "$CVAR/nginx.conf" \
	    >> "$CVAR/nginx-error.log" 2>&1 &
	echo $! > "$NGINX_PID"
	i=0
	until curl -sf -o /dev/null "http://127.0.0.1:$LB_PORT/readyz"; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$(cat "$NGINX_PID")" 2>/dev/null; then
			echo "cluster: nginx did not start; see $CVAR/nginx-error.log" >&2
			tail -n 20 "$CVAR/nginx-error.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "cluster: nginx on 127.0.0.1:$LB_PORT over Kore nodes $NODES"
}

stop() {
	if [ -f "$NGINX_PID" ]; then
		pid=$(cat "$NGINX_PID")
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid"
			while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
		fi
		rm -f "$NGINX_PID"
	fi
	for p in $NODES; do
		INSTANCE=node$p PORT=$p KORE_PORT=$p "$ROOT/scripts/server.sh" stop
	done
	"$ROOT/scripts/services.sh" stop
}

case "${1:-}" in
start)	start ;;
stop)	stop ;;
*)	echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
