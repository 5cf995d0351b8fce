#!/bin/sh
# Fails when a build step depends on something only a previous run
# installed (issue 10, item 1).  Run by make test (scripts/test.sh).
#
# 1. Lint: no $(shell ...) or $(file ...) evaluated when make parses the
#    Makefile (`VAR := $(shell ...)`, `!=`, conditionals, prerequisites):
#    what deps.sh installs is not there yet at that point on a fresh machine.
# 2. In a private mount namespace (unshare -m; needs root), every file of
#    the packages in scripts/deps.sh is hidden (an overlay with whiteouts
#    over /usr) and dpkg's status forgets them, so the machine looks as if
#    it never had them.  deps.sh then finds them missing, and its install
#    step is a stand-in (DEPS_INSTALL_CMD) that un-hides them, as apt-get
#    would install them.  The compilers are wrapped to fail if they run
#    before that install.  In a scratch copy of the tree:
#    - a control Makefile that reads Kore's features at parse time must
#      fail (the namespace does reproduce a fresh machine);
#    - `make -n T` must run deps.sh first, for the targets people and
#      test.sh use;
#    - ONE `make -j3 build` must succeed, deps.sh having asked for every
#      hidden package.
# Nothing outside the namespace changes; it needs no network.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MAKEFILE="${FRESH_MAKEFILE:-$ROOT/Makefile}"
me="fresh-check"

# --- 1. the lint ---------------------------------------------------------
# Logical lines (continuations joined) that are not recipes; comments cut.
lint=$(awk '
	{ line = (cont ? cur " " : "") $0; if (!cont) n = NR }
	/\\$/ { cur = substr(line, 1, length(line) - 1); cont = 1; next }
	{ cont = 0 }
	/^[[:space:]]*define[[:space:]]/ { def = 1 }
	def { if (line ~ /^[[:space:]]*endef/) def = 0; next }
	line ~ /^\t/ { next }			# a recipe: run when it runs
	{ sub(/#.*/, "", line) }
	line ~ /^[[:space:]]*(override[[:space:]]+|export[[:space:]]+)?[A-Za-z0-9_.-]+[[:space:]]*!=/ ||
	(line ~ /\$[({](shell|file)[[:space:]]/ &&
	 line !~ /^[[:space:]]*(override[[:space:]]+|export[[:space:]]+)?[A-Za-z0-9_.-]+[[:space:]]*[?+]?=/) {
		printf "Makefile:%d: %s\n", n, line
	}' "$MAKEFILE")
if [ -n "$lint" ]; then
	echo "$me: the Makefile reads these when make parses it, before deps.sh" >&2
	echo "$me: may have installed what they read (use VAR = \$(shell ...)):" >&2
	echo "$lint" >&2
	exit 1
fi

# Every rule whose recipe compiles waits for deps.sh (`| deps`): under
# make -j a compile that does not can run before the install.
lint=$(awk '
	{ line = (cont ? cur " " : "") $0; if (!cont) n = NR }
	/\\$/ { cur = substr(line, 1, length(line) - 1); cont = 1; next }
	{ cont = 0 }
	line !~ /^\t/ {
		sub(/#.*/, "", line)
		if (line ~ /^[^=]*[^:=]:([^=]|$)/) {
			rule = line; rn = n; said = 0
			deps = (line ~ /:.*[[:space:]]deps([[:space:]]|$)/)
		} else if (line ~ /[^[:space:]]/)
			rule = ""
		next
	}
	rule != "" && !deps && !said && line ~ /\$\(CC\)|(^|[[:space:]])(cc|gcc|clang)[[:space:]]/ {
		printf "Makefile:%d: %s\n", rn, rule; said = 1
	}' "$MAKEFILE")
if [ -n "$lint" ]; then
	echo "$me: these rules compile without waiting for deps.sh (add | deps):" >&2
	echo "$lint" >&2
	exit 1
fi

# --- 2. a fresh machine, in a private mount namespace --------------------
if [ "${1:-}" != --inner ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "$me: needs root (unshare -m); run make test as root, as CI does" >&2
		exit 1
	fi
	T=$(mktemp -d /tmp/bangfu-fresh.XXXXXX)
	status=0
	# MAKEFLAGS of an enclosing make (jobserver, -s) must not leak in.
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CC \
	    unshare --mount --propagation private "$0" --inner "$T" || status=$?
	rm -rf "$T"		# its tmpfs went with the namespace
	exit $status
fi

T=$2
start=$(date +%s)
mount -t tmpfs -o mode=0700 fresh "$T"
S="$T/src"		# the scratch copy
mkdir -p "$S" "$T/bin"
tar -C "$ROOT" --exclude=./.git --exclude=./build --exclude=./var \
    --exclude='./*.so' -cf - . | tar -C "$S" -xf -
cp "$MAKEFILE" "$S/Makefile"

PKGS=$("$ROOT/scripts/deps.sh" --list)
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || {
		echo "$me: $p is not installed here; run scripts/deps.sh first" >&2
		exit 1
	}
done

# The whiteouts: every file of those packages under /usr (usrmerge: /lib
# is /usr/lib), at its real path.
mkdir -p "$T/upper"
# shellcheck disable=SC2086
dpkg -L $PKGS | python3 -c '
import os, stat, sys
upper = sys.argv[1]
n = 0
for p in sys.stdin.read().split("\n"):
    if not p.startswith("/") or not os.path.lexists(p) or \
       (os.path.isdir(p) and not os.path.islink(p)):
        continue
    d = os.path.realpath(os.path.dirname(p))
    if not d.startswith("/usr/"):
        continue
    w = upper + d[len("/usr"):] + "/" + os.path.basename(p)
    os.makedirs(os.path.dirname(w), exist_ok=True)
    if not os.path.lexists(w):
        os.mknod(w, stat.S_IFCHR | 0o600, os.makedev(0, 0))
        n += 1
if n < 10:
    sys.exit("too few files to hide: %d" % n)
' "$T/upper"

# dpkg's status without them.
awk -v pkgs=" $(echo $PKGS) " 'BEGIN { RS = ""; ORS = "\n\n" }
	{ if (match($0, /(^|\n)Package: [^\n]*/)) {
		name = substr($0, RSTART, RLENGTH); sub(/.*Package: /, "", name)
		if (index(pkgs, " " name " ")) next } print }' \
    /var/lib/dpkg/status > "$T/status"

hide() {
	rm -rf "$T/work" "$T/installed" "$T/asked"
	mkdir -p "$T/work"
	mount -t overlay fresh -o "lowerdir=/usr,upperdir=$T/upper,workdir=$T/work" /usr
	mount --bind "$T/status" /var/lib/dpkg/status
	# It must look like a machine that never had them.
	for f in /usr/share/kore/features /usr/include/postgresql/libpq-fe.h \
	    /usr/include/hiredis/hiredis.h /usr/include/sodium.h; do
		if [ -e "$f" ]; then
			echo "$me: could not hide $f" >&2
			exit 1
		fi
	done
	if dpkg-query -W -f='${Status}' kore 2>/dev/null | grep -q "ok installed"; then
		echo "$me: could not hide kore from dpkg" >&2
		exit 1
	fi
}

# The stand-in for apt-get install: un-hides, as installing would.
cat > "$T/bin/install" <<EOF
#!/bin/sh
echo "\$*" > "$T/asked"
umount -l /usr
umount -l /var/lib/dpkg/status
touch "$T/installed"
EOF
# Compilers that refuse to run before the install.
for c in cc gcc clang; do
	real=$(command -v "$c" 2>/dev/null) || continue
	cat > "$T/bin/$c" <<EOF
#!/bin/sh
if [ ! -e "$T/installed" ]; then
	echo "$me: $c ran before deps.sh installed the packages: $c \$*" >&2
	exit 1
fi
exec "$real" "\$@"
EOF
done
chmod +x "$T/bin/"*
export PATH="$T/bin:$PATH" DEPS_INSTALL_CMD="$T/bin/install"

# The control: flags read at parse time must fail here.
mkdir -p "$T/control"
printf '#include <libpq-fe.h>\nint control(void);\n' > "$T/control/t.c"
cat > "$T/control/Makefile" <<EOF
FEATURES := \$(shell cat /usr/share/kore/features 2>/dev/null)
t.o: t.c | deps
	cc \$(FEATURES) -c t.c -o t.o
deps:
	@$S/scripts/deps.sh >/dev/null
EOF
hide
if make -s -C "$T/control" >"$T/control.log" 2>&1; then
	echo "$me: the control (Kore's features read at parse time) built;" \
	    "this namespace does not look like a fresh machine" >&2
	cat "$T/control.log" >&2
	exit 1
fi
if [ ! -e "$T/installed" ] || ! grep -q "libpq-fe.h" "$T/control.log"; then
	echo "$me: the control failed for another reason:" >&2
	cat "$T/control.log" >&2
	exit 1
fi

hide
cd "$S"
# deps.sh must be the first thing each of these runs.
for targets in run build test unit bench demo \
    "bangfu.so build/test/bangfu.so build/pwhash"; do
	# shellcheck disable=SC2086
	first=$(make -n $targets 2>&1 | head -n 1)
	case "$first" in
	*scripts/deps.sh*) ;;
	*)
		echo "$me: make -n $targets runs this before scripts/deps.sh: $first" >&2
		exit 1 ;;
	esac
done

# ONE build, in parallel, on the fresh machine.
if ! make -j3 OPT=-O0 build >"$T/build.log" 2>&1; then
	echo "$me: make build failed on a fresh machine (one invocation):" >&2
	tail -n 30 "$T/build.log" >&2
	exit 1
fi
for p in $PKGS; do
	if ! grep -qw -- "$p" "$T/asked" 2>/dev/null; then
		echo "$me: deps.sh did not ask to install $p" >&2
		exit 1
	fi
done
for f in bangfu.so build/pwhash; do
	[ -s "$f" ] || { echo "$me: make build made no $f" >&2; exit 1; }
done
echo "$me: ok: a fresh machine builds in one make build" \
    "($(( $(date +%s) - start ))s)"
