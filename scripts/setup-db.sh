#!/bin/sh
# Starts the instance's PostgreSQL and Redis, applies the migrations and,
# on an empty database, loads the demo data with the demo passwords.
set -eu
. "$(dirname "$0")/instance.sh"

"$ROOT/scripts/services.sh" start
"$ROOT/scripts/migrate.sh"

has=$(psql_local -tA -c "SELECT count(*) FROM users")
if [ "$has" = 0 ]; then
	echo "demo: loading demo data"
	/usr/bin/python3 "$ROOT/scripts/demo_data.py" > "$VAR/demo.sql"
	psql_local -f "$VAR/demo.sql" >/dev/null
	psql_local -f "$ROOT/scripts/demo_extra.sql" >/dev/null
	# Demo accounts of API.md, for local use only.
	for pair in admin:bangfu-demo-admin citizen:bangfu-demo-citizen \
	    vendor:bangfu-demo-vendor buyer:bangfu-demo-buyer \
	    approver:bangfu-demo-approver; do
		user=${pair%%:*}
		pw=${pair#*:}
		hash=$(printf '%s\n' "$pw" | "$ROOT/build/pwhash")
		echo "UPDATE users SET password_hash = :'hash' WHERE email = :'email';" |
		    psql_local -v email="$user@demo.bangfu.cn" -v hash="$hash" -f -
	done
fi

# The demo products' pictures (/img/p/N.jpg), drawn once per instance into
# $IMG_ROOT and read by the server at start (app/http_static.c).
psql_local -tA -F "$(printf '\t')" -c "
    SELECT DISTINCT i.path, c.code, c.name, p.title
      FROM products p JOIN categories c ON c.id = p.category_id,
           jsonb_array_elements_text(p.images) AS i(path)
     WHERE i.path LIKE '/img/p/%'" |
    /usr/bin/python3 "$ROOT/scripts/demo_images.py" "$IMG_ROOT"
