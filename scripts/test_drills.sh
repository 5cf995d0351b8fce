#!/bin/sh
# make test's short fault drills (issue 15's drills 2 and 3), also runnable
# alone with the instance's ports (TEST_INSTANCE, PG_PORT, REDIS_PORT, PORT,
# KORE_PORT, as scripts/test.sh): a replicated cluster (scripts/cluster.sh)
# started from nothing in a directory of its own, var/cluster-$INSTANCE (a
# previous run's removed first), then SIGKILL the PostgreSQL primary and the
# Redis master, each under checkout load through the cluster's nginx, then
# the cluster stopped, always.
#
# Ports derived from the instance's, never the defaults: the PostgreSQL
# monitor at PG_PORT + 40 (its nodes + 41 to 43, a restore + 49), the Redis
# master at REDIS_PORT + 40 (replica + 41, Sentinels + 50 to 52), nginx at
# PORT + 40 over Kore nodes at KORE_PORT + 41 and + 42.
#
# The drill's own verdict counts: every order answered 201 still there,
# stock conserved, the cluster recovered (for Redis, the shoppers still
# signed in with their carts).  Its times are printed, never asserted: they
# follow the machine's load.  DRILL_WARMUP (2) and DRILL_AFTER (3) seconds
# of load before the kill and after the recovery.
set -eu
export INSTANCE=${TEST_INSTANCE:-test}
. "$(dirname "$0")/instance.sh"

# Nothing of the test instance's environment reaches the cluster.
cluster() {
	env -u DATABASE_URL -u REDIS_URL -u JWT_SECRET -u CERT_SECRET \
	    -u PAYMENT_SANDBOX_SECRET -u IMG_ROOT -u PGPASSFILE \
	    CLUSTER_NAME="cluster-$INSTANCE" LB_PORT=$((PORT + 40)) \
	    NODES="$((KORE_PORT + 41)) $((KORE_PORT + 42))" \
	    CLUSTER_PG_PORT=$((PG_PORT + 40)) \
	    CLUSTER_REDIS_PORT=$((REDIS_PORT + 40)) \
	    "$ROOT/scripts/cluster.sh" "$@"
}

t0=$(date +%s)
trap 'cluster stop >/dev/null 2>&1 || true' EXIT
trap 'exit 1' INT TERM

cluster stop >/dev/null 2>&1 || true
rm -rf "$ROOT/var/cluster-$INSTANCE" "$ROOT/var/node$((KORE_PORT + 41))" \
    "$ROOT/var/node$((KORE_PORT + 42))"
echo "drills: starting a cluster in var/cluster-$INSTANCE (nginx on $((PORT + 40)))"
if ! cluster start > "$VAR/cluster-start.log" 2>&1; then
	echo "drills: the cluster did not start; the end of $VAR/cluster-start.log:" >&2
	tail -n 30 "$VAR/cluster-start.log" >&2
	exit 1
fi
echo "drills: cluster started in $(($(date +%s) - t0)) s"
status=0
DRILL_WARMUP=${DRILL_WARMUP:-2} DRILL_AFTER=${DRILL_AFTER:-3} \
    cluster drill pg redis || status=1
cluster stop >/dev/null 2>&1 || status=1
echo "drills: $(($(date +%s) - t0)) s in all (start, drills, stop)"
exit $status
