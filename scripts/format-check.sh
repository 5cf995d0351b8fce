#!/bin/sh
# Fails when a C file differs from what clang-format (.clang-format) makes.
set -eu
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format-check: no clang-format" >&2; exit 1; }
bad=0
for f in app/*.c app/*.h modules/*.c modules/*.h tests/unit/*.c tests/fuzz/*.c tests/fuzz/*.h tests/twins/*.c tools/*.c; do
	[ -f "$f" ] || continue
	if ! clang-format "$f" | cmp -s - "$f"; then
		echo "format-check: $f is not formatted (make format)" >&2
		bad=1
	fi
done
exit $bad
