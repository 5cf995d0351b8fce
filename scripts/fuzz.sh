#!/bin/sh
# make fuzz: the libFuzzer harnesses of tests/fuzz/, under ASan and UBSan,
# FUZZ_SECONDS each (default 60), one after the other.  Each starts from
# its corpus in tests/fuzz/corpus/<name>/ and keeps what it finds in
# build/fuzz/corpus/<name>/; a crash leaves its input in build/fuzz/ and
# fails the run.  Every run adds a line to build/fuzz/fuzz.log.
#
#   scripts/fuzz.sh [name...]     the harnesses named, or all of them
#   FUZZ_RUNS=N scripts/fuzz.sh   N executions each instead of a time
#   scripts/fuzz.sh -merge        into tests/fuzz/corpus, the inputs of
#                                 build/fuzz/corpus that add coverage
#                                 (libFuzzer -merge=1)
set -eu
cd "$(dirname "$0")/.."

CLANG=${CLANG:-clang}
CFLAGS="-std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g \
-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
-fno-omit-frame-pointer -Imodules -Itests/fuzz"
ALL="query csv router creditcode clientip validate timefmt jsonbody"
OUT=${FUZZ_OUT:-build/fuzz}
# Smaller quarantine than the default: the machine is shared.
export ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=32:malloc_context_size=10}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# The module sources (and libraries) a harness runs.
sources() {
	case $1 in
	jsonbody) echo "modules/jsonbody.c modules/validate.c -ljansson" ;;
	*) echo "modules/$1.c" ;;
	esac
}

build() {
	mkdir -p "$OUT"
	# shellcheck disable=SC2046
	$CLANG $CFLAGS -o "$OUT/fuzz_$1" "tests/fuzz/fuzz_$1.c" $(sources "$1")
}

merge=0
if [ "${1:-}" = "-merge" ]; then
	merge=1
	shift
fi
names=${*:-$ALL}
status=0
for h in $names; do
	[ -f "tests/fuzz/fuzz_$h.c" ] || { echo "fuzz: no harness $h" >&2; exit 2; }
	build "$h"
	mkdir -p "tests/fuzz/corpus/$h" "$OUT/corpus/$h"
	if [ $merge -eq 1 ]; then
		# What the corpus holds stays; only what adds coverage joins.
		rm -rf "$OUT/merged/$h"
		mkdir -p "$OUT/merged"
		cp -R "tests/fuzz/corpus/$h" "$OUT/merged/$h"
		"$OUT/fuzz_$h" -merge=1 "$OUT/merged/$h" "$OUT/corpus/$h" \
		    2>"$OUT/merge-$h.log"
		rm -rf "tests/fuzz/corpus/$h"
		mv "$OUT/merged/$h" "tests/fuzz/corpus/$h"
		echo "fuzz: $h: $(ls "tests/fuzz/corpus/$h" | wc -l) inputs"
		continue
	fi
	if [ -n "${FUZZ_RUNS:-}" ]; then
		limit="-runs=$FUZZ_RUNS"
	else
		limit="-max_total_time=${FUZZ_SECONDS:-60}"
	fi
	rc=0
	"$OUT/fuzz_$h" $limit -print_final_stats=1 -artifact_prefix="$OUT/$h-" \
	    ${FUZZ_FLAGS:-} "$OUT/corpus/$h" "tests/fuzz/corpus/$h" \
	    >"$OUT/$h.log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/$h.log")
	secs=$(sed -n 's/^stat::.*//; s/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$OUT/$h.log")
	if [ $rc -eq 0 ]; then
		result=ok
	else
		result="CRASH (exit $rc, $OUT/$h.log)"
		status=1
		tail -40 "$OUT/$h.log" >&2
	fi
	line="$(date -u +%FT%TZ) $h execs=${execs:-?} seconds=${secs:-?} $result"
	echo "$line" >>"$OUT/fuzz.log"
	echo "fuzz: $line"
done
exit $status
