#!/bin/sh
# Creates an operator (平台运营) account, or resets an operator's password:
#   make admin EMAIL=ops@example.com NAME='平台运营 王敏'
#   scripts/admin.sh ops@example.com '平台运营 王敏' < password-file
# The password is read from the terminal (asked twice, not echoed) or, when
# standard input is not a terminal, from its first line; with GENERATE=1 a
# random one is made and printed once.  Never from the command line.  It is
# hashed by build/pwhash (Argon2id, as the server does) and stored by one
# SQL statement.  An address that belongs to an account that is not an
# operator is refused.  INSTANCE (default run) picks the database.
set -eu
. "$(dirname "$0")/instance.sh"

email=${1:-${EMAIL:-}}
name=${2:-${NAME:-}}
if [ -z "$email" ]; then
	echo "usage: make admin EMAIL=... [NAME=...]  (or scripts/admin.sh EMAIL [NAME])" >&2
	exit 2
fi
case "$email" in
*@*.*) ;;
*)	echo "admin: '$email' is not an e-mail address" >&2; exit 2 ;;
esac
[ -n "$name" ] || name="平台运营"
[ -x "$ROOT/build/pwhash" ] || make -s -C "$ROOT" build/pwhash

if [ "${GENERATE:-0}" = 1 ]; then
	pw=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
	gen=1
elif [ -t 0 ]; then
	stty -echo
	trap 'stty echo' EXIT INT TERM
	printf 'password for %s: ' "$email" >&2
	IFS= read -r pw
	printf '\nagain: ' >&2
	IFS= read -r pw2
	printf '\n' >&2
	stty echo
	trap - EXIT INT TERM
	if [ "$pw" != "$pw2" ]; then
		echo "admin: the two passwords differ" >&2
		exit 1
	fi
	gen=0
else
	IFS= read -r pw || [ -n "$pw" ]
	gen=0
fi
if [ "${#pw}" -lt 10 ]; then
	echo "admin: the password needs at least 10 characters" >&2
	exit 1
fi
hash=$(printf '%s\n' "$pw" | "$ROOT/build/pwhash")

# One statement: a new operator, or a new password (and name) for an
# operator; another account's address changes nothing and returns no row.
res=$(psql_local -tA -v email="$email" -v name="$name" -v hash="$hash" <<'SQL'
INSERT INTO users (email, password_hash, name, role)
VALUES (:'email', :'hash', :'name', 'admin')
ON CONFLICT (lower(email)) DO UPDATE
    SET password_hash = EXCLUDED.password_hash, name = EXCLUDED.name
    WHERE users.role = 'admin'
RETURNING id, (xmax = 0);
SQL
)
if [ -z "$res" ]; then
	echo "admin: $email belongs to an account that is not an operator; nothing changed" >&2
	exit 1
fi
id=${res%%|*}
case "$res" in
*'|t')	echo "admin: operator $email created (id $id)" ;;
*)	echo "admin: password of operator $email reset (id $id)" ;;
esac
if [ "$gen" = 1 ]; then
	echo "admin: password (shown once): $pw"
fi
