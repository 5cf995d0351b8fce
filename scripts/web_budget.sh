#!/bin/sh
# The shop's budget, for make bench (scripts/bench.sh) and not make test:
# Lighthouse 12.2.3 (tools/lighthouse, pinned by its package-lock.json; mobile
# preset, Debian's Chromium) on / and on product $1's page: the performance,
# accessibility and best-practices scores; then tests/web's `budget` run:
# the first view's JavaScript gzipped and the first product card's visible
# time as Playwright measures it.  Needs the server on BASE ($2).
set -eu
. "$(dirname "$0")/instance.sh"
PID=$1
BASE=$2
LH="$ROOT/tools/lighthouse"
mkdir -p "$ROOT/build" "$VAR/lighthouse"

lock=$(sha256sum "$LH/package-lock.json" | cut -c1-64)
if [ ! -d "$LH/node_modules" ] || [ "$(cat "$ROOT/build/.lighthouse-npm" 2>/dev/null)" != "$lock" ]; then
	echo "web-budget: npm ci (tools/lighthouse)" >&2
	(cd "$LH" && npm ci --no-audit --no-fund --loglevel=error >&2)
	echo "$lock" > "$ROOT/build/.lighthouse-npm"
fi

lighthouse() {
	name=$1; url=$2
	out="$VAR/lighthouse/$name.json"
	CHROME_PATH=${CHROMIUM:-/usr/bin/chromium} node "$LH/node_modules/lighthouse/cli/index.js" \
	    "$url" --quiet --output=json --output-path="$out" \
	    --only-categories=performance,accessibility,best-practices \
	    --chrome-flags="--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --disable-background-networking --disable-component-update --disable-sync" \
	    >&2
	node -e '
		const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
		const s = (k) => Math.round(100 * (r.categories[k].score ?? 0))
		const a = r.audits
		console.log(`lighthouse ${process.argv[2]} (mobile): performance ${s("performance")}, accessibility ${s("accessibility")}, best practices ${s("best-practices")}; FCP ${a["first-contentful-paint"].displayValue}, LCP ${a["largest-contentful-paint"].displayValue}, TBT ${a["total-blocking-time"].displayValue}, CLS ${a["cumulative-layout-shift"].displayValue}`)
	' "$out" "$name"
}

lighthouse home "$BASE/"
lighthouse product "$BASE/p/$PID"
BANGFU_URL=$BASE INSTANCE=$INSTANCE node "$ROOT/tests/web/run.mjs" budget |
    sed -n 's/^web: note: /budget: /p'
