#!/bin/sh
# make stop: stops, by PID, what make run (or make bench) started.
set -eu
export INSTANCE=${INSTANCE:-run}
. "$(dirname "$0")/instance.sh"
"$ROOT/scripts/server.sh" stop
"$ROOT/scripts/services.sh" stop
