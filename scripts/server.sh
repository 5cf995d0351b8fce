#!/bin/sh
# Starts an instance's server in the background (start) or stops it (stop):
# Kore on 127.0.0.1:$KORE_PORT and nginx in front of it on 127.0.0.1:$PORT,
# each by the PID recorded under var/$INSTANCE.  SO= picks another
# bangfu.so; FRONT=no starts Kore alone (the cluster's nodes, behind the
# cluster's nginx).  make run uses front-start, foreground (Kore in the
# foreground) and front-stop.
set -eu
. "$(dirname "$0")/instance.sh"

SO=${SO:-"$ROOT/bangfu.so"}
PIDFILE="$VAR/kore.pid"
NGINX_PID="$VAR/nginx.pid"
# Workers drop to KORE_USER (conf/bangfu.conf's runas) when started as root.
KORE_USER=${KORE_USER:-bangfu}
NGINX_USER=${NGINX_USER:-www-data}

conf() {
	sed -e "s|bind 127.0.0.1 28080|bind 127.0.0.1 $KORE_PORT|" \
	    -e "s|load ./bangfu.so|load $SO|" \
	    -e "s|pidfile kore.pid|pidfile $VAR/kore-parent.pid|" \
	    -e "s|^runas.*|runas $KORE_USER|" \
	    "$ROOT/conf/bangfu.conf" > "$VAR/bangfu.conf"
	if [ "${SECCOMP_TRACING:-no}" = yes ]; then
		sed -i "s|^seccomp_tracing.*|seccomp_tracing yes|" "$VAR/bangfu.conf"
	fi
}

# Kore's flags: never chroot (see conf/bangfu.conf); as root, workers drop
# to KORE_USER, who may write the sanitizer logs under var/ (a sticky group
# directory) and nothing else of the instance.
kore_flags() {
	if [ "$(id -u)" -eq 0 ]; then
		id -u "$KORE_USER" >/dev/null 2>&1 || {
			echo "server: no user $KORE_USER (run scripts/deps.sh)" >&2
			exit 1
		}
		chgrp "$KORE_USER" "$VAR"
		chmod 1775 "$VAR"
		flags="-n"
	else
		flags="-n -r"
	fi
}

# Waits until $1 answers 2xx while process $2 lives; else shows log $3.
wait_http() {
	url=$1; pid=$2; log=$3
	i=0
	until curl -sf -o /dev/null "$url" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 150 ] || ! kill -0 "$pid" 2>/dev/null; then
			echo "server: $url did not become ready; see $log" >&2
			tail -n 30 "$log" >&2
			exit 1
		fi
		sleep 0.1
	done
}

kore_start() {
	if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
		echo "server: kore already running (pid $(cat "$PIDFILE"))"
		return 0
	fi
	conf
	kore_flags
	cd "$ROOT"
	# shellcheck disable=SC2086
	setsid ${SERVER_ENV:-} stdbuf -oL kore -c "$VAR/bangfu.conf" -f $flags \
	    >> "$VAR/kore.log" 2>&1 &
	echo $! > "$PIDFILE"
	wait_http "http://127.0.0.1:$KORE_PORT/readyz" "$(cat "$PIDFILE")" "$VAR/kore.log"
	echo "server: kore ready on 127.0.0.1:$KORE_PORT (pid $(cat "$PIDFILE"))"
}

kore_stop() {
	[ -f "$PIDFILE" ] || return 0
	pid=$(cat "$PIDFILE")
	if kill -0 "$pid" 2>/dev/null; then
		# The workers too: one that outlives its parent is a fault.
		workers=$(pgrep -P "$pid" || true)
		kill -TERM "$pid"
		i=0
		while kill -0 "$pid" 2>/dev/null; do
			i=$((i + 1))
			[ $i -gt 100 ] && kill -KILL "$pid" 2>/dev/null
			sleep 0.1
		done
		for w in $workers; do
			i=0
			while kill -0 "$w" 2>/dev/null && [ $i -lt 50 ]; do
				i=$((i + 1))
				sleep 0.1
			done
			if kill -0 "$w" 2>/dev/null &&
			    [ "$(ps -o stat= -p "$w" | cut -c1)" != Z ]; then
				echo "server: worker $w outlived the server; killed" >&2
				kill -KILL "$w" 2>/dev/null
				status=1
			fi
		done
	fi
	rm -f "$PIDFILE"
}

# nginx on $PORT in front of Kore: its config is generated under var/, it
# runs in the foreground of its own session (daemon off), by PID.
front_start() {
	if [ -f "$NGINX_PID" ] && kill -0 "$(cat "$NGINX_PID")" 2>/dev/null; then
		echo "server: nginx already running (pid $(cat "$NGINX_PID"))"
		return 0
	fi
	mkdir -p "$VAR/nginx"
	user=""
	if [ "$(id -u)" -eq 0 ]; then
		user="user $NGINX_USER;"
		chown "$NGINX_USER" "$VAR/nginx"
	fi
	sed -e "s|@VAR@|$VAR|g" -e "s|@CONF@|$ROOT/conf|g" -e "s|@PORT@|$PORT|g" \
	    -e "s|@KORE_PORT@|$KORE_PORT|g" -e "s|@USER@|$user|" \
	    "$ROOT/conf/nginx/nginx.conf.in" > "$VAR/nginx.conf"
	setsid nginx -e "$VAR/nginx-error.log" -p "$VAR/nginx" -c "$VAR/nginx.conf" \
	    >> "$VAR/nginx-error.log" 2>&1 &
	echo $! > "$NGINX_PID"
	# Listening: any answer will do (Kore may not be up yet: 502).
	i=0
	until curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$(cat "$NGINX_PID")" 2>/dev/null; then
			echo "server: nginx did not start; see $VAR/nginx-error.log" >&2
			tail -n 20 "$VAR/nginx-error.log" >&2
			exit 1
		fi
		sleep 0.1
	done
}

front_stop() {
	[ -f "$NGINX_PID" ] || return 0
	pid=$(cat "$NGINX_PID")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		i=0
		while kill -0 "$pid" 2>/dev/null; do
			i=$((i + 1))
			[ $i -gt 100 ] && kill -KILL "$pid" 2>/dev/null
			sleep 0.1
		done
	fi
	rm -f "$NGINX_PID"
}

status=0
case "${1:-}" in
start)
	mkdir -p "$VAR"
	kore_start
	if [ "${FRONT:-yes}" != no ]; then
		front_start
		wait_http "http://127.0.0.1:$PORT/readyz" "$(cat "$NGINX_PID")" \
		    "$VAR/nginx-error.log"
		echo "server: ready on 127.0.0.1:$PORT (nginx pid $(cat "$NGINX_PID")) in front of kore"
	fi
	;;
stop)
	front_stop
	kore_stop
	exit $status
	;;
foreground)
	# make run: Kore in the foreground, as start would run it.
	mkdir -p "$VAR"
	conf
	kore_flags
	cd "$ROOT"
	# shellcheck disable=SC2086
	exec kore -c "$VAR/bangfu.conf" -f $flags
	;;
front-start)	mkdir -p "$VAR"; front_start ;;
front-stop)	front_stop ;;
*)	echo "usage: $0 start|stop|foreground|front-start|front-stop" >&2; exit 2 ;;
esac
