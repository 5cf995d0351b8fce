#!/bin/sh
# Starts Kore for an instance in the background (start) or stops it (stop),
# by the PID recorded under var/$INSTANCE.  SO= picks another bangfu.so.
set -eu
. "$(dirname "$0")/instance.sh"

SO=${SO:-"$ROOT/bangfu.so"}
PIDFILE="$VAR/kore.pid"

conf() {
	sed -e "s|bind 127.0.0.1 8080|bind 127.0.0.1 $PORT|" \
	    -e "s|load ./bangfu.so|load $SO|" \
	    -e "s|pidfile kore.pid|pidfile $VAR/kore-parent.pid|" \
	    "$ROOT/conf/bangfu.conf" > "$VAR/bangfu.conf"
	if [ "${SECCOMP_TRACING:-no}" = yes ]; then
		sed -i "s|^seccomp_tracing.*|seccomp_tracing yes|" "$VAR/bangfu.conf"
	fi
}

case "${1:-}" in
start)
	mkdir -p "$VAR"
	if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
		echo "server: already running (pid $(cat "$PIDFILE"))"
		exit 0
	fi
	conf
	cd "$ROOT"
	setsid ${SERVER_ENV:-} stdbuf -oL kore -c "$VAR/bangfu.conf" -f -n -r \
	    >> "$VAR/kore.log" 2>&1 &
	echo $! > "$PIDFILE"
	i=0
	until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 150 ] || ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
			echo "server: did not become ready; see $VAR/kore.log" >&2
			tail -n 30 "$VAR/kore.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "server: ready on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"
	;;
stop)
	[ -f "$PIDFILE" ] || exit 0
	pid=$(cat "$PIDFILE")
	status=0
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
	exit $status
	;;
*)	echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
