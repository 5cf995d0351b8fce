#!/bin/sh
# Sourced by the other scripts: names and ports of one local instance.
# INSTANCE=run (make run, make bench) or test (make test), each under var/.
INSTANCE=${INSTANCE:-run}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VAR="$ROOT/var/$INSTANCE"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

# Ports below Linux's ephemeral range (32768-60999), so that no client
# connection of the machine can hold one when a service starts.
case "$INSTANCE" in
run)	PG_PORT=${PG_PORT:-25432}; REDIS_PORT=${REDIS_PORT:-26379}
	PORT=${PORT:-8080}; KORE_PORT=${KORE_PORT:-28080} ;;
test)	PG_PORT=${PG_PORT:-25442}; REDIS_PORT=${REDIS_PORT:-26389}
	PORT=${PORT:-18080}; KORE_PORT=${KORE_PORT:-28090} ;;
*)	# Any other name: a private instance on ports given in the environment.
	: "${PG_PORT:?set PG_PORT for instance $INSTANCE}"
	: "${REDIS_PORT:?set REDIS_PORT for instance $INSTANCE}"
	: "${PORT:?set PORT for instance $INSTANCE}"
	: "${KORE_PORT:?set KORE_PORT for instance $INSTANCE}" ;;
esac
# PORT is nginx, what clients use; KORE_PORT is Kore behind it, loopback only.

# Local defaults only; a deployment sets these in its environment.
export DATABASE_URL=${DATABASE_URL:-"host=127.0.0.1 port=$PG_PORT dbname=bangfu user=bangfu connect_timeout=2 gssencmode=disable"}
export REDIS_URL=${REDIS_URL:-"redis://127.0.0.1:$REDIS_PORT/0"}
# The sandbox payment provider, for local use only (never in production).
export PAYMENT_SANDBOX=${PAYMENT_SANDBOX-1}
export PORT KORE_PORT PG_PORT REDIS_PORT
# The demo products' pictures, drawn by scripts/setup-db.sh, served at /img/.
export IMG_ROOT=${IMG_ROOT:-"$VAR/img"}

# Signing keys: generated once per instance, kept under var/ (git-ignored);
# one missing from an older instance's file is added to it.
mkdir -p "$VAR"
for k in JWT_SECRET CERT_SECRET PAYMENT_SANDBOX_SECRET; do
	if ! grep -q "^$k=" "$VAR/secrets.env" 2>/dev/null; then
		(umask 077
		 echo "$k=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
		     >> "$VAR/secrets.env")
	fi
done
if [ -f "$VAR/secrets.env" ]; then
	while IFS='=' read -r k v; do
		eval "[ -n \"\${$k:-}\" ] || export $k=\"\$v\""
	done < "$VAR/secrets.env"
fi

psql_local() {
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 "host=127.0.0.1 port=$PG_PORT user=bangfu dbname=${PGDB:-bangfu}" "$@"
}
