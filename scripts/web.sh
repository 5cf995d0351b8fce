#!/bin/sh
# The web app (assets/): `web.sh build` runs npm ci when the lock file
# changed and Vite when the sources changed (content stamps under build/),
# so that make run and make test do every step on a fresh machine.  The API
# types come from assets/api/openapi.yaml first (see types below).
# `web.sh test` runs the browser tests (tests/web) against BANGFU_URL.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT/assets"
mkdir -p "$ROOT/build"

need_node() {
	major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
	if [ "$major" -lt 20 ]; then
		echo "web: Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none))" >&2
		exit 1
	fi
}

install() {
	need_node
	lock=$(sha256sum package-lock.json | cut -c1-64)
	if [ ! -d node_modules ] || [ "$(cat "$ROOT/build/.web-npm" 2>/dev/null)" != "$lock" ]; then
		echo "web: npm ci"
		npm ci --no-audit --no-fund --loglevel=error
		echo "$lock" > "$ROOT/build/.web-npm"
	fi
}

# The API types (src/api/schema.d.ts, git-ignored) are generated from the
# contract by openapi-typescript (tools/docs, pinned) whenever the document
# changed, before vue-tsc checks the pages against them.
types() {
	yaml=$(sha256sum "$ROOT/assets/api/openapi.yaml" "$ROOT/tools/docs/package-lock.json" | sha256sum | cut -c1-64)
	if [ ! -f src/api/schema.d.ts ] || [ "$(cat "$ROOT/build/.web-types" 2>/dev/null)" != "$yaml" ]; then
		echo "web: API types (api/openapi.yaml -> src/api/schema.d.ts)"
		"$ROOT/scripts/docs.sh" types
		echo "$yaml" > "$ROOT/build/.web-types"
	fi
}

build() {
	install
	types
	src=$( { find index.html package-lock.json vite.config.ts tsconfig.json src public -type f | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -c1-64)
	if [ ! -f "$ROOT/build/web/index.html" ] || [ "$(cat "$ROOT/build/.web-src" 2>/dev/null)" != "$src" ]; then
		echo "web: building the shop (assets/ -> build/web)"
		npm run -s build
		echo "$src" > "$ROOT/build/.web-src"
	fi
}

case "${1:-build}" in
build)	build ;;
test)	install
	st=0
	node "$ROOT/tests/web/run.mjs" || st=1
	# 工作台 (tests/web/workspace.mjs) and its credit-code check
	node --test "$ROOT/tests/web/creditcode.test.mjs" || st=1
	node "$ROOT/tests/web/workspace.mjs" || st=1
	# 旅游与康养: sessions and redemption in /vendor, vouchers in 我的订单
	node "$ROOT/tests/web/services.mjs" || st=1
	node "$ROOT/tests/web/ws_org.mjs" || st=1  # 企业采购: the enterprise journey
	node "$ROOT/tests/web/ws_admin.mjs" || st=1
	exit $st ;;
*)	echo "usage: web.sh [build|test]" >&2; exit 2 ;;
esac
