# Sourced by scripts/bench.sh: the operators' ledger (台账) grouped by
# county over one year of a million entries, as the admin.  The entries are
# generated once (scripts/ledger_bench.sh, which says how the read stays
# fast; they are marked synthetic, so ledger-check still holds).  Eight
# connections, not 64: a handful of operators read the ledger, and 64 at
# once would measure the queue for PostgreSQL (each answer is ~4 ms of a
# core), not the answer.
"$ROOT/scripts/ledger_bench.sh" generate >&2
LEDGER_TO=$(psql_local -tA -c "SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date")
LEDGER_FROM=$(psql_local -tA -c "SELECT '$LEDGER_TO'::date - 364")
LEDGER_TOKEN=$("$ROOT/scripts/ledger_bench.sh" token)
bench ledger_county "$BASE/api/v1/admin/ledger?group_by=county&from=$LEDGER_FROM&to=$LEDGER_TO" \
    -c 8 -H "Authorization: Bearer $LEDGER_TOKEN"
