#!/bin/sh
# The scale-out topology on one machine, every server a process of its own
# on a port of its own under var/cluster, as it would be on separate hosts:
#
#   nginx $LB_PORT  ->  Kore nodes $NODES (stateless)
#   PostgreSQL: pg_auto_failover (monitor $PG_MON_PORT, nodes on the next
#     three ports): one primary, two streaming standbys, synchronous commit
#     to ANY 1 of them; the nodes reach the primary through libpq's
#     multi-host DATABASE_URL with target_session_attrs=read-write.
#   pgBackRest: WAL archived continuously, base backups, all into
#     var/cluster/backup (make backup, make restore TARGET=<time>).
#   Redis: a master and a replica ($REDIS_PORT, +1) and three Sentinels
#     (+10, +11, +12); the nodes find the master through the Sentinels.
#
# Credentials are generated once into var/cluster/credentials.env (0600):
# every PostgreSQL login over TCP is scram-sha-256 (the application's user
# bangfu, no superuser; pg_auto_failover's autoctl_node and
# pgautofailover_replicator, from var/cluster/pg/pgpass; the superuser
# postgres), local sockets are peer; Redis and the Sentinels have
# requirepass (in config files of mode 0600).  Promotion is the managers'
# (pg_auto_failover's monitor, Redis Sentinel), never this script's.
#
# CLUSTER_NAME (cluster) names the directory under var/: scripts/test.sh
# runs one of its own, on its own ports, beside a developer's.
#
# Usage: scripts/cluster.sh start|stop|status|heal|drill [name...]|backup|
#                           restore <time>|restore-stop|up|bench
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLUSTER_NAME=${CLUSTER_NAME:-cluster}
CVAR="$ROOT/var/$CLUSTER_NAME"
LB_PORT=${LB_PORT:-8090}
NODES=${NODES:-"18181 18182"}
PG_MON_PORT=${CLUSTER_PG_PORT:-25452}
PG_PORTS="$((PG_MON_PORT + 1)) $((PG_MON_PORT + 2)) $((PG_MON_PORT + 3))"
PG_RESTORE_PORT=$((PG_MON_PORT + 9))
REDIS_M_PORT=${CLUSTER_REDIS_PORT:-26399}
REDIS_R_PORT=$((REDIS_M_PORT + 1))
SENTINEL_PORTS="$((REDIS_M_PORT + 10)) $((REDIS_M_PORT + 11)) $((REDIS_M_PORT + 12))"
MASTER_NAME=bangfu
export INSTANCE=$CLUSTER_NAME
export PG_PORT=${PG_PORTS%% *}
export REDIS_PORT=$REDIS_M_PORT
export PORT=$LB_PORT
export KORE_PORT=${NODES%% *}
NGINX_PID="$CVAR/nginx.pid"
# pg_auto_failover's nodes listen on PostgreSQL's default socket directory
# (and on 127.0.0.1): the socket's name carries the port.
PGSOCK=/var/run/postgresql
PGBR_CONF="$CVAR/pgbackrest.conf"

mkdir -p "$CVAR"
chmod 0755 "$CVAR"
# PG_PASSWORD: the application's user bangfu; PG_ADMIN_PASSWORD: the
# superuser postgres (over TCP; the scripts use the socket, peer);
# PGAF_NODE_PASSWORD: the keepers' autoctl_node on the monitor;
# PGAF_REPL_PASSWORD: pgautofailover_replicator (streaming, pg_basebackup,
# pg_rewind); REDIS_PASSWORD: the master and replica (requirepass,
# masterauth); SENTINEL_PASSWORD: the Sentinels' requirepass and their
# sentinel-pass to each other.  A key missing from an older file is added.
for k in PG_PASSWORD PG_ADMIN_PASSWORD PGAF_NODE_PASSWORD PGAF_REPL_PASSWORD \
    REDIS_PASSWORD SENTINEL_PASSWORD; do
	if ! grep -q "^$k=" "$CVAR/credentials.env" 2>/dev/null; then
		(umask 077
		 echo "$k=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
		     >> "$CVAR/credentials.env")
	fi
done
. "$CVAR/credentials.env"
hosts=""; ports=""
for p in $PG_PORTS; do
	hosts="$hosts${hosts:+,}127.0.0.1"; ports="$ports${ports:+,}$p"
done
# Multi-host: libpq tries each in turn and keeps the one that takes writes.
export DATABASE_URL="host=$hosts port=$ports dbname=bangfu user=bangfu password=$PG_PASSWORD target_session_attrs=read-write connect_timeout=2 gssencmode=disable"
export REDIS_URL="redis://:$REDIS_PASSWORD@127.0.0.1:$REDIS_M_PORT/0"
sentinels=""
for p in $SENTINEL_PORTS; do sentinels="$sentinels${sentinels:+,}127.0.0.1:$p"; done
export REDIS_SENTINELS="$sentinels"
export REDIS_MASTER_NAME=$MASTER_NAME
export REDIS_SENTINEL_PASSWORD=$SENTINEL_PASSWORD
# psql (setup-db.sh, migrate.sh, the drills) reads the password from a
# pgpass file; PGTARGETSESSIONATTRS makes their one-host URLs refuse a
# standby, so they are pointed at the primary (pg_primary_port).
(umask 077; for p in $PG_PORTS $PG_RESTORE_PORT; do
	echo "127.0.0.1:$p:*:bangfu:$PG_PASSWORD"; done > "$CVAR/pgpass")
export PGPASSFILE="$CVAR/pgpass"
# pg_auto_failover's own logins, read by the keepers and what they run
# (pg_basebackup, the standbys' walreceiver, pg_rewind) as postgres: the
# monitor for autoctl_node, every node for the replicator and postgres.
mkdir -p "$CVAR/pg"
(umask 077; {
	echo "*:$PG_MON_PORT:pg_auto_failover:autoctl_node:$PGAF_NODE_PASSWORD"
	for p in $PG_PORTS; do
		echo "127.0.0.1:$p:*:pgautofailover_replicator:$PGAF_REPL_PASSWORD"
		echo "127.0.0.1:$p:*:postgres:$PG_ADMIN_PASSWORD"
	done
} > "$CVAR/pg/pgpass")
[ "$(id -u)" -eq 0 ] && chown postgres "$CVAR/pg" "$CVAR/pg/pgpass"
# setup-db.sh and server.sh start no PostgreSQL or Redis of their own.
export EXTERNAL_SERVICES=1
. "$ROOT/scripts/instance.sh"

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# pg_auto_failover keeps its state under var/cluster/pg/xdg.
pgaf() {
	as_pg env XDG_CONFIG_HOME="$CVAR/pg/xdg/config" \
	    XDG_DATA_HOME="$CVAR/pg/xdg/data" XDG_RUNTIME_DIR="$CVAR/pg/xdg/run" \
	    PGHOST="$PGSOCK" PGPASSFILE="$CVAR/pg/pgpass" PATH="$PGBIN:$PATH" \
	    pg_autoctl "$@"
}

# A long-running pg_autoctl, its own process group (what the drill kills),
# its PID in var/cluster/pg/<name>.pid.
pgaf_spawn() {
	name=$1; shift
	if [ "$(id -u)" -eq 0 ]; then
		set -- setpriv --reuid=postgres --regid=postgres --init-groups "$@"
	fi
	XDG_CONFIG_HOME="$CVAR/pg/xdg/config" XDG_DATA_HOME="$CVAR/pg/xdg/data" \
	    XDG_RUNTIME_DIR="$CVAR/pg/xdg/run" PGHOST="$PGSOCK" \
	    PGPASSFILE="$CVAR/pg/pgpass" PATH="$PGBIN:$PATH" HOME="$CVAR/pg" \
	    setsid "$@" >> "$CVAR/pg/$name.log" 2>&1 < /dev/null &
	echo $! > "$CVAR/pg/$name.pid"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# initdb's pg_hba.conf trusts every local connection: only peer on the
# socket is kept (the scripts run as postgres there), so that every login
# over TCP takes the lines pg_autoctl adds (--auth scram-sha-256) or ours.
hba_harden() {
	as_pg sed -i -E \
	    -e '/^host[[:space:]]+(all|replication)[[:space:]]+all[[:space:]]+(127[.]0[.]0[.]1\/32|::1\/128)[[:space:]]+trust/d' \
	    -e 's/^(local[[:space:]]+(all|replication)[[:space:]]+all[[:space:]]+)trust/\1peer/' \
	    "$1/pg_hba.conf"
}

mon_sql() {
	as_pg psql -X -tAq -h "$PGSOCK" -p "$PG_MON_PORT" -d pg_auto_failover -c "$1"
}

# Waits until cond (a shell command) holds, at most $2 tenths of a second.
wait_for() {
	i=0
	until eval "$1"; do
		i=$((i + 1))
		if [ $i -gt "$2" ]; then
			echo "cluster: timed out waiting for: $1" >&2
			return 1
		fi
		sleep 0.1
	done
}

node_state() {
	mon_sql "SELECT reportedstate FROM pgautofailover.node WHERE nodename = '$1'" 2>/dev/null
}

# The port of the node that is primary now (the monitor's word).
pg_primary_port() {
	mon_sql "SELECT nodeport FROM pgautofailover.node
	    WHERE reportedstate IN ('single', 'primary', 'wait_primary')
	      AND goalstate IN ('single', 'primary', 'wait_primary')
	    ORDER BY nodeid LIMIT 1" 2>/dev/null
}

pgbr_conf() {
	i=0
	{
		echo "[global]"
		echo "repo1-path=$CVAR/backup"
		echo "repo1-retention-full=2"
		echo "log-path=$CVAR/pg/pgbackrest-log"
		echo "lock-path=$CVAR/pg/pgbackrest-lock"
		echo "log-level-console=warn"
		echo "log-level-file=info"
		echo "start-fast=y"
		echo "compress-type=lz4"
		echo "archive-timeout=30"
		echo
		echo "[bangfu]"
		for p in $PG_PORTS; do
			i=$((i + 1))
			echo "pg$i-path=$CVAR/pg/node$i"
			echo "pg$i-port=$p"
			echo "pg$i-socket-path=$PGSOCK"
		done
	} > "$PGBR_CONF"
	mkdir -p "$CVAR/backup" "$CVAR/pg/pgbackrest-log" "$CVAR/pg/pgbackrest-lock"
	[ "$(id -u)" -eq 0 ] && chown -R postgres "$CVAR/backup" \
	    "$CVAR/pg/pgbackrest-log" "$CVAR/pg/pgbackrest-lock"
	return 0
}

pgbr() {
	as_pg pgbackrest --config="$PGBR_CONF" --stanza=bangfu "$@"
}

monitor_start() {
	if [ ! -f "$CVAR/pg/monitor/PG_VERSION" ]; then
		pgaf create monitor --pgdata "$CVAR/pg/monitor" \
		    --pgport "$PG_MON_PORT" --hostname 127.0.0.1 \
		    --auth scram-sha-256 --no-ssl --pgctl "$PGBIN/pg_ctl" \
		    >> "$CVAR/pg/monitor.log" 2>&1
		echo "listen_addresses = '127.0.0.1'" >> "$CVAR/pg/monitor/postgresql.conf"
		hba_harden "$CVAR/pg/monitor"
		# The monitor's own pg_autoctl listens as autoctl_node on the
		# socket: its password, before peer.
		as_pg sed -i -E '0,/^local/s//local pg_auto_failover autoctl_node scram-sha-256\n&/' \
		    "$CVAR/pg/monitor/pg_hba.conf"
	fi
	alive "$CVAR/pg/monitor.pid" ||
	    pgaf_spawn monitor pg_autoctl run --pgdata "$CVAR/pg/monitor"
	wait_for "mon_sql 'SELECT 1' >/dev/null 2>&1" 600
	# The keepers' user, its password at every start (on stdin, never in
	# a command line), and the pg_hba.conf edited above.
	as_pg psql -X -q -h "$PGSOCK" -p "$PG_MON_PORT" -d pg_auto_failover <<SQL
ALTER ROLE autoctl_node PASSWORD '$PGAF_NODE_PASSWORD';
SELECT pg_reload_conf() \\g /dev/null
SQL
	monitor_tune
}

# The monitor's failure detection, set on every start (ALTER SYSTEM, then a
# reload: an older cluster gets the current values).  Why each value, and
# what it risks, is in the README (Deploying and scaling, PostgreSQL).
monitor_tune() {
	for kv in health_check_period=1000 health_check_timeout=1000 \
	    health_check_max_retries=1 health_check_retry_delay=500 \
	    node_considered_unhealthy_timeout=3000 startup_grace_period=3000 \
	    primary_demote_timeout=2000; do
		mon_sql "ALTER SYSTEM SET pgautofailover.${kv%%=*} = ${kv#*=}" >/dev/null
	done
	mon_sql "SELECT pg_reload_conf()" >/dev/null
}

# Node n on its port: created (the first as primary, the others as its
# standbys, copied with pg_basebackup), then run by its keeper.
node_start() {
	n=$1; port=$2
	if alive "$CVAR/pg/node$n.pid"; then
		return 0
	fi
	if [ -f "$CVAR/pg/node$n/PG_VERSION" ] &&
	    [ -f "$CVAR/pg/xdg/config/pg_autoctl$CVAR/pg/node$n/pg_autoctl.cfg" ]; then
		pgaf_spawn "node$n" pg_autoctl run --pgdata "$CVAR/pg/node$n"
		return 0
	fi
	pgaf_spawn "node$n" pg_autoctl create postgres --pgdata "$CVAR/pg/node$n" \
	    --pgport "$port" --listen 127.0.0.1 --hostname 127.0.0.1 \
	    --name "node$n" --dbname bangfu --auth scram-sha-256 --no-ssl \
	    --pgctl "$PGBIN/pg_ctl" --run \
	    --monitor "postgres://autoctl_node@127.0.0.1:$PG_MON_PORT/pg_auto_failover?sslmode=disable"
}

# What the first node adds to PostgreSQL's settings before it starts
# (pg_basebackup copies them to the standbys): WAL archived by pgBackRest,
# the socket directory, the application user's password authentication.
primary_setup() {
	d="$CVAR/pg/node1"
	cat >> "$d/postgresql.conf" <<CONF
archive_mode = on
archive_command = 'pgbackrest --config=$PGBR_CONF --stanza=bangfu archive-push %p'
password_encryption = 'scram-sha-256'
max_connections = 100
shared_buffers = 128MB
timezone = 'UTC'
wal_log_hints = on
CONF
	# The application's user: its password, first match, everywhere.
	# pg_rewind (a failed primary rejoining) connects as the replicator to
	# dbname=postgres, for which pg_autoctl 2.0 adds no line.
	{
		echo "host all bangfu 127.0.0.1/32 scram-sha-256"
		echo "host all bangfu ::1/128 scram-sha-256"
		echo "host postgres pgautofailover_replicator 127.0.0.1/32 scram-sha-256"
		cat "$d/pg_hba.conf"
	} > "$d/pg_hba.conf.new"
	mv "$d/pg_hba.conf.new" "$d/pg_hba.conf"
	[ "$(id -u)" -eq 0 ] && chown postgres "$d/pg_hba.conf"
	hba_harden "$d"
}

pg_start() {
	mkdir -p "$CVAR/pg/xdg/config" "$CVAR/pg/xdg/data" "$CVAR/pg/xdg/run"
	chmod 0700 "$CVAR/pg/xdg/run"
	[ "$(id -u)" -eq 0 ] && chown -R postgres "$CVAR/pg"
	pgbr_conf
	monitor_start
	mon_sql "SELECT 1 FROM pgautofailover.formation" >/dev/null
	fresh=0
	[ -f "$CVAR/pg/node1/PG_VERSION" ] || fresh=1
	set -- $PG_PORTS
	if [ $fresh = 1 ]; then
		# The first node alone, set up, then its standbys one by one.
		node_start 1 "$1"
		wait_for "[ \"\$(node_state node1)\" = single ]" 1200
		primary_setup
		as_pg "$PGBIN/pg_ctl" -D "$CVAR/pg/node1" reload >/dev/null
		# archive_mode needs a restart: the keeper starts it again.
		as_pg "$PGBIN/pg_ctl" -D "$CVAR/pg/node1" -m fast -w restart \
		    -o "-p $1" >/dev/null 2>&1 || true
		wait_for "as_pg psql -X -tAq -h '$PGSOCK' -p $1 -d postgres -c 'SELECT 1' >/dev/null 2>&1" 600
		as_pg psql -X -q -h "$PGSOCK" -p "$1" -d postgres <<SQL
CREATE ROLE bangfu LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$PG_PASSWORD';
ALTER DATABASE bangfu OWNER TO bangfu;
ALTER ROLE pgautofailover_replicator PASSWORD '$PGAF_REPL_PASSWORD';
ALTER ROLE postgres PASSWORD '$PG_ADMIN_PASSWORD';
SQL
		pgbr stanza-create >/dev/null
		pgaf set formation number-sync-standbys 1 \
		    --pgdata "$CVAR/pg/monitor" >/dev/null 2>&1 || true
		node_start 2 "$2"
		wait_for "[ \"\$(node_state node2)\" = secondary ]" 1800
		node_start 3 "$3"
		wait_for "[ \"\$(node_state node3)\" = secondary ]" 1800
		pgaf set formation number-sync-standbys 1 \
		    --pgdata "$CVAR/pg/node1" >/dev/null 2>&1 || true
	else
		node_start 1 "$1"; node_start 2 "$2"; node_start 3 "$3"
	fi
	wait_for "[ -n \"\$(pg_primary_port)\" ]" 1200
	for n in 1 2 3; do
		pgaf_tune "$n"
	done
	export PG_PORT=$(pg_primary_port)
}

# Each node's failover settings, at every start and heal (idempotent).
# The keepers' timeouts (pg_autoctl config set, then reload) and
# PostgreSQL's checkpoint_timeout; why each value, and what it risks, is in
# the README (Deploying and scaling, PostgreSQL).  The monitor's part is
# monitor_tune.
pgaf_tune() {
	# pgBackRest checks that it runs in the node's own data directory:
	# each node archives with its own pg1-path (pg_basebackup copied the
	# first node's line; the last line wins).
	d="$CVAR/pg/node$1"
	if [ -f "$d/postgresql.conf" ] &&
	    ! grep -q "pg1-path=$d " "$d/postgresql.conf"; then
		echo "archive_command = 'pgbackrest --config=$PGBR_CONF --stanza=bangfu --pg1-path=$d archive-push %p'" >> "$d/postgresql.conf"
		as_pg "$PGBIN/pg_ctl" -D "$d" reload >/dev/null 2>&1 || true
	fi
	# A restartpoint at least every 30 s on a standby, a checkpoint on the
	# primary: little to write when a standby restarts to report its LSN
	# and when the promoted one checkpoints.
	if [ -f "$d/postgresql.conf" ] &&
	    ! grep -q "^checkpoint_timeout = 30s" "$d/postgresql.conf"; then
		echo "checkpoint_timeout = 30s" >> "$d/postgresql.conf"
		as_pg "$PGBIN/pg_ctl" -D "$d" reload >/dev/null 2>&1 || true
	fi
	cfg="$CVAR/pg/xdg/config/pg_autoctl$CVAR/pg/node$1/pg_autoctl.cfg"
	[ -f "$cfg" ] || return 0
	grep -q "^network_partition_timeout = 5$" "$cfg" &&
	    grep -q "^prepare_promotion_walreceiver = 1$" "$cfg" && return 0
	for kv in network_partition_timeout=5 prepare_promotion_walreceiver=1; do
		pgaf config set --pgdata "$d" "timeout.${kv%%=*}" "${kv#*=}" >/dev/null
	done
	pgaf reload --pgdata "$d" >/dev/null 2>&1 || true
}

redis_conf() { # name port [replicaof-port]
	(
		umask 077
		cat > "$CVAR/redis/$1.conf" <<CONF
bind 127.0.0.1
port $2
protected-mode yes
requirepass $REDIS_PASSWORD
masterauth $REDIS_PASSWORD
dir $CVAR/redis/$1
appendonly yes
appendfsync everysec
save ""
latency-tracking no
daemonize yes
pidfile $CVAR/redis/$1.pid
logfile $CVAR/redis/$1.log
replica-announce-ip 127.0.0.1
CONF
		[ -n "${3:-}" ] && echo "replicaof 127.0.0.1 $3" >> "$CVAR/redis/$1.conf"
		mkdir -p "$CVAR/redis/$1"
	)
}

sentinel_conf() { # name port
	# Sentinel rewrites its own file (the master it follows now); one of
	# an older cluster gets the passwords once (it is not running then).
	if [ -f "$CVAR/redis/$1.conf" ]; then
		grep -q "^requirepass" "$CVAR/redis/$1.conf" || {
			echo "requirepass \"$SENTINEL_PASSWORD\""
			echo "sentinel sentinel-pass \"$SENTINEL_PASSWORD\""
		} >> "$CVAR/redis/$1.conf"
		return 0
	fi
	(
		umask 077
		cat > "$CVAR/redis/$1.conf" <<CONF
bind 127.0.0.1
port $2
daemonize yes
requirepass $SENTINEL_PASSWORD
sentinel sentinel-pass $SENTINEL_PASSWORD
pidfile $CVAR/redis/$1.pid
logfile $CVAR/redis/$1.log
dir $CVAR/redis
sentinel announce-ip 127.0.0.1
sentinel monitor $MASTER_NAME 127.0.0.1 $REDIS_M_PORT 2
sentinel auth-pass $MASTER_NAME $REDIS_PASSWORD
sentinel down-after-milliseconds $MASTER_NAME 2000
sentinel failover-timeout $MASTER_NAME 10000
sentinel parallel-syncs $MASTER_NAME 1
CONF
	)
}

rcli() { REDISCLI_AUTH=$REDIS_PASSWORD redis-cli -p "$@"; }
scli() { REDISCLI_AUTH=$SENTINEL_PASSWORD redis-cli -p "$@"; }

redis_start() {
	mkdir -p "$CVAR/redis"
	if [ ! -f "$CVAR/redis/r1.conf" ]; then
		redis_conf r1 "$REDIS_M_PORT"
		redis_conf r2 "$REDIS_R_PORT" "$REDIS_M_PORT"
	fi
	for r in r1 r2; do
		alive "$CVAR/redis/$r.pid" || redis-server "$CVAR/redis/$r.conf"
	done
	set -- $SENTINEL_PORTS
	i=0
	for p in "$@"; do
		i=$((i + 1))
		alive "$CVAR/redis/s$i.pid" || {
			sentinel_conf "s$i" "$p"
			redis-server "$CVAR/redis/s$i.conf" --sentinel
		}
	done
	wait_for "[ \"\$(rcli $REDIS_M_PORT ping 2>/dev/null)\" = PONG ]" 100
	wait_for "[ \"\$(rcli $REDIS_R_PORT ping 2>/dev/null)\" = PONG ]" 100
	wait_for "scli $1 sentinel get-master-addr-by-name $MASTER_NAME 2>/dev/null | grep -q ." 100
}

# The port of the Redis master, as the Sentinels say.
redis_master_port() {
	for p in $SENTINEL_PORTS; do
		if r=$(scli "$p" sentinel get-master-addr-by-name \
		    "$MASTER_NAME" 2>/dev/null) && [ -n "$r" ]; then
			echo "$r" | sed -n 2p
			return 0
		fi
	done
	return 1
}

nginx_start() {
	ups=""
	for p in $NODES; do
		# Out of rotation after one failure, tried again 5 s later; a
		# request that failed on it goes to the next node.
		ups="$ups server 127.0.0.1:$p max_fails=1 fail_timeout=5s;"
	done
	if alive "$NGINX_PID"; then
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
		if [ $i -gt 300 ] || ! kill -0 "$(cat "$NGINX_PID")" 2>/dev/null; then
			echo "cluster: nginx did not start; see $CVAR/nginx-error.log" >&2
			tail -n 20 "$CVAR/nginx-error.log" >&2
			exit 1
		fi
		sleep 0.1
	done
}

node_up() { # port
	mkdir -p "$ROOT/var/node$1"
	cp "$VAR/secrets.env" "$ROOT/var/node$1/secrets.env"
	INSTANCE=node$1 PORT=$1 KORE_PORT=$1 FRONT=no \
	    "$ROOT/scripts/server.sh" start
}

start() {
	"$ROOT/scripts/deps.sh"
	make -s -C "$ROOT" build
	"$ROOT/scripts/web.sh" build
	pg_start
	redis_start
	# The schema and demo data, on the primary.
	PG_PORT=$(pg_primary_port) "$ROOT/scripts/setup-db.sh" >/dev/null
	# The first base backup, once: from then on WAL and backups pile up.
	[ -d "$CVAR/backup/backup/bangfu" ] && ls "$CVAR/backup/backup/bangfu" |
	    grep -q F$ || pgbr --type=full backup
	for p in $NODES; do
		node_up "$p"
	done
	nginx_start
	echo "cluster: nginx on 127.0.0.1:$LB_PORT over Kore nodes $NODES"
	status
}

stop_pid() {
	[ -f "$1" ] || return 0
	pid=$(cat "$1")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		i=0
		while kill -0 "$pid" 2>/dev/null; do
			i=$((i + 1))
			[ $i -gt 600 ] && { kill -KILL "$pid" 2>/dev/null || true; }
			sleep 0.1
		done
	fi
	rm -f "$1"
}

stop() {
	stop_pid "$NGINX_PID"
	for p in $NODES; do
		INSTANCE=node$p PORT=$p KORE_PORT=$p "$ROOT/scripts/server.sh" stop
	done
	for s in s1 s2 s3 r2 r1; do
		stop_pid "$CVAR/redis/$s.pid"
	done
	# The standbys first, so that the primary is not failed over.
	for n in node3 node2 node1 monitor; do
		stop_pid "$CVAR/pg/$n.pid"
	done
	restore_stop
}

# The topology as JSON (scripts/cluster_status.py reads the servers).
status() {
	CVAR="$CVAR" LB_PORT=$LB_PORT NODES="$NODES" PG_MON_PORT=$PG_MON_PORT \
	    PG_PORTS="$PG_PORTS" REDIS_PORTS="$REDIS_M_PORT $REDIS_R_PORT" \
	    SENTINEL_PORTS="$SENTINEL_PORTS" MASTER_NAME=$MASTER_NAME \
	    REDIS_PASSWORD=$REDIS_PASSWORD SENTINEL_PASSWORD=$SENTINEL_PASSWORD \
	    PGSOCK="$PGSOCK" \
	    python3 "$ROOT/scripts/cluster_status.py"
}

backup() {
	pgbr --type="${BACKUP_TYPE:-incr}" backup
	pgbr info
}

restore_stop() {
	if [ -f "$CVAR/restore/postmaster.pid" ]; then
		as_pg "$PGBIN/pg_ctl" -D "$CVAR/restore" -m fast -w stop >/dev/null 2>&1 || true
	fi
}

# Restores the backups and WAL to a point in time into a new cluster,
# var/cluster/restore, started on $PG_RESTORE_PORT (the running cluster
# is left alone); prints the port.
restore() {
	target=$1
	restore_stop
	rm -rf "$CVAR/restore"
	mkdir -p "$CVAR/restore"
	chmod 0700 "$CVAR/restore"
	[ "$(id -u)" -eq 0 ] && chown postgres "$CVAR/restore"
	pgbr --pg1-path="$CVAR/restore" --type=time "--target=$target" \
	    --target-action=promote restore >&2
	# A cluster of its own: its own port, no archiving into the
	# repository the live cluster writes, no replication.
	cat >> "$CVAR/restore/postgresql.auto.conf" <<CONF
port = $PG_RESTORE_PORT
archive_mode = off
synchronous_standby_names = ''
hot_standby = on
CONF
	as_pg "$PGBIN/pg_ctl" -D "$CVAR/restore" -l "$CVAR/pg/restore.log" -w -t 300 \
	    -o "-p $PG_RESTORE_PORT" start >/dev/null
	# Until recovery has reached the target and promoted, or stopped:
	# PostgreSQL refuses a target past the last commit archived.
	wait_for "[ ! -f '$CVAR/restore/postmaster.pid' ] || [ \"\$(as_pg psql -X -tAq -h '$PGSOCK' -p $PG_RESTORE_PORT -d postgres -c 'SELECT pg_is_in_recovery()' 2>/dev/null)\" = f ]" 3000
	if [ ! -f "$CVAR/restore/postmaster.pid" ]; then
		echo "cluster: recovery stopped; a target must come before the last commit in the archived WAL:" >&2
		tail -n 3 "$CVAR/restore/log/$(ls "$CVAR/restore/log" | tail -n 1)" >&2
		exit 1
	fi
	echo "$PG_RESTORE_PORT"
}

# Starts again whatever is not running (after a drill): a PostgreSQL node
# rejoins as a standby (pg_auto_failover rewinds it), a Redis master that
# was failed over is made a replica by the Sentinels.
heal() {
	monitor_start
	set -- $PG_PORTS
	node_start 1 "$1"; node_start 2 "$2"; node_start 3 "$3"
	for n in 1 2 3; do
		pgaf_tune "$n"
	done
	redis_start
	for p in $NODES; do
		node_up "$p"
	done
	nginx_start
}

case "${1:-}" in
start)	start ;;
heal)	heal ;;
restore-stop) restore_stop ;;
stop)	stop ;;
status)	status ;;
backup)	backup ;;
restore) # make restore TARGET=<time>: restored, checked, counted.
	port=$(restore "${2:?usage: $0 restore <time>}")
	echo "cluster: restored to $2 into var/cluster/restore on 127.0.0.1:$port"
	PG_PORT=$port "$ROOT/scripts/ledger_check.sh" &&
	    echo "cluster: ledger-check passed on the restored cluster"
	echo "cluster: orders in the restored cluster: $(psql -X -tAq \
	    "host=127.0.0.1 port=$port dbname=bangfu user=bangfu" \
	    -c 'SELECT count(*) FROM orders')"
	echo "cluster: scripts/cluster.sh restore-stop stops it" ;;
restore-to) restore "$2" ;;
up)	curl -sf -o /dev/null "http://127.0.0.1:$LB_PORT/readyz" ;;
bench)	# BENCH_ONLY=cluster make bench: the cluster against one node.
	export CVAR LB_PORT NODES REDISCLI_AUTH=$REDIS_PASSWORD
	export PG_PORT=$(pg_primary_port) REDIS_PORT=$(redis_master_port)
	# The nodes' signing key (node_up copies this file), whatever the
	# environment says.
	export JWT_SECRET=$(sed -n 's/^JWT_SECRET=//p' "$VAR/secrets.env")
	exec sh "$ROOT/scripts/cluster_bench.sh" ;;
drill)	shift
	REDIS_PORTS="$REDIS_M_PORT $REDIS_R_PORT"
	export CVAR LB_PORT NODES PG_MON_PORT PG_PORTS PG_RESTORE_PORT \
	    REDIS_PORTS SENTINEL_PORTS MASTER_NAME REDIS_PASSWORD SENTINEL_PASSWORD
	exec python3 "$ROOT/tests/fault/drill.py" "$@" ;;
*)	echo "usage: $0 start|stop|status|drill [name...]|backup|restore <time>" >&2
	exit 2 ;;
esac
