#!/bin/sh
# Applies scripts/migrations/NNN_name.sql in order, each once and in its own
# transaction, recording it in schema_migrations.
set -eu
. "$(dirname "$0")/instance.sh"

psql_local -c "CREATE TABLE IF NOT EXISTS schema_migrations (
    version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
for f in "$ROOT"/scripts/migrations/[0-9][0-9][0-9]_*.sql; do
	v=$(basename "$f" .sql)
	done_=$(psql_local -tA -c "SELECT 1 FROM schema_migrations WHERE version = '$v'")
	[ "$done_" = 1 ] && continue
	echo "migrate: $v"
	psql_local -1 -f "$f" -c "INSERT INTO schema_migrations (version) VALUES ('$v')"
done
