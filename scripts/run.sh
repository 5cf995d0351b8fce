#!/bin/sh
# make run: services, migrations, demo data, then nginx on 127.0.0.1:$PORT
# (8080) in front of Kore on 127.0.0.1:$KORE_PORT (28080), Kore in the
# foreground.  Ctrl-C stops Kore and nginx; `make stop` stops the rest.
set -eu
export INSTANCE=run
. "$(dirname "$0")/instance.sh"

"$ROOT/scripts/web.sh" build
"$ROOT/scripts/setup-db.sh"
"$ROOT/scripts/server.sh" front-start
trap '"$ROOT/scripts/server.sh" front-stop' EXIT
trap 'exit 130' INT TERM
echo "bangfu: serving on http://127.0.0.1:$PORT (nginx, in front of Kore on 127.0.0.1:$KORE_PORT)"
echo "bangfu: Ctrl-C to stop; make stop for the databases"
"$ROOT/scripts/server.sh" foreground || true
