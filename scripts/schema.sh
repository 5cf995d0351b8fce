#!/bin/sh
# scripts/schema/functions.sql: the current definition of every SQL
# function of the schema, as the migrations leave it (a function redefined
# by a later migration reads here once, in its last form), sorted by name.
# The migrations stay the source of truth; this file is the one to read.
#   schema.sh dump	write it from this instance's database (make schema)
#   schema.sh check	fail when it differs from the database (make test)
set -eu
. "$(dirname "$0")/instance.sh"
OUT="$ROOT/scripts/schema/functions.sql"

functions() {
	echo "-- The SQL functions as scripts/migrations/ leave them: generated"
	echo "-- by scripts/schema.sh (make schema) and checked by make test."
	echo "-- Edit a migration, never this file."
	echo
	psql_local -tA -c "
	SELECT string_agg(pg_get_functiondef(p.oid) || ';', E'\n'
	                  ORDER BY p.proname, pg_get_function_identity_arguments(p.oid))
	FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p')
	  AND NOT EXISTS (SELECT 1 FROM pg_depend d
	                  WHERE d.classid = 'pg_proc'::regclass
	                    AND d.objid = p.oid AND d.deptype = 'e')"
}

case ${1:-} in
dump)
	mkdir -p "$(dirname "$OUT")"
	functions > "$OUT"
	echo "schema: $(grep -c '^CREATE OR REPLACE' "$OUT") functions in ${OUT#$ROOT/}"
	;;
check)
	if ! functions | diff -u "$OUT" - >&2; then
		echo "schema: ${OUT#$ROOT/} is not what the migrations make (make schema)" >&2
		exit 1
	fi
	;;
*)
	echo "usage: $0 dump|check" >&2
	exit 2
	;;
esac
