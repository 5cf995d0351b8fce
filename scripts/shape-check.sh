#!/bin/sh
# The shape of app/ (issue 16): no file over 600 lines, and no two files
# that reference each other's symbols (read from the build's objects with
# nm).  scripts/shape-allow.txt names what is still in the way; an entry
# no longer needed fails too, so that list only shrinks.
set -eu
cd "$(dirname "$0")/.."
OBJ=${SHAPE_OBJ:-build/rel/app}
MAX=600
allow=scripts/shape-allow.txt
found=$(mktemp)
trap 'rm -f "$found"' EXIT

for f in app/*.c app/*.h; do
	n=$(wc -l <"$f")
	[ "$n" -le $MAX ] || echo "long $f $n" >>"$found"
done
for o in "$OBJ"/*.o; do
	f=$(basename "$o" .o)
	nm -g --defined-only "$o" | awk -v f="$f" 'NF == 3 { print "D", f, $3 }'
	nm -g --undefined-only "$o" | awk -v f="$f" '{ print "U", f, $2 }'
done | awk '
$1 == "D" { owner[$3] = $2; next }
{ n++; uf[n] = $2; us[n] = $3 }
END {
	for (i = 1; i <= n; i++) {
		o = owner[us[i]]
		if (o != "" && o != uf[i])
			ref[uf[i] " " o] = ref[uf[i] " " o] " " us[i]
	}
	for (k in ref) {
		split(k, p, " ")
		if (p[1] < p[2] && ((p[2] " " p[1]) in ref))
			print "cycle app/" p[1] ".c app/" p[2] ".c:" ref[k] \
			    " /" ref[p[2] " " p[1]]
	}
}' >>"$found"

bad=0
while read -r kind a b rest; do
	key="$kind $a ${b%:}"
	[ "$kind" = long ] && key="long $a"
	if ! grep -qxF "$key" "$allow" 2>/dev/null; then
		case $kind in
		long) echo "shape-check: $a has $b lines (at most $MAX)" >&2 ;;
		cycle) echo "shape-check: $a and ${b%:} call each other:$rest" >&2 ;;
		esac
		bad=1
	fi
done <"$found"
if [ -f "$allow" ]; then
	grep -v '^#' "$allow" | grep . | while read -r line; do
		set -- $line
		if [ "$1" = long ]; then
			grep -q "^long $2 " "$found" && continue
		else
			grep -q "^cycle $2 $3:" "$found" && continue
		fi
		echo "shape-check: '$line' is fixed: remove it from $allow" >&2
		echo stale
	done | grep -c stale >/dev/null && bad=1
fi
exit $bad
