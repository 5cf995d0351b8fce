#!/bin/sh
# make run: services, migrations, demo data, then Kore in the foreground on
# 127.0.0.1:$PORT (8080).  Ctrl-C stops Kore; `make stop` stops the rest.
set -eu
export INSTANCE=run
. "$(dirname "$0")/instance.sh"

"$ROOT/scripts/web.sh" build
"$ROOT/scripts/setup-db.sh"
sed -e "s|bind 127.0.0.1 8080|bind 127.0.0.1 $PORT|" \
    -e "s|pidfile kore.pid|pidfile $VAR/kore-parent.pid|" \
    "$ROOT/conf/bangfu.conf" > "$VAR/bangfu.conf"
echo "bangfu: serving on http://127.0.0.1:$PORT (Ctrl-C to stop; make stop for the databases)"
cd "$ROOT"
exec kore -c "$VAR/bangfu.conf" -f -n -r
