#!/bin/sh
# The contract's build products, from assets/api/openapi.yaml:
#   build/openapi.json  served at /api/v1/openapi.json (app/http_docs.c)
#   build/docs/         the Redoc reference served at /docs/ (static: Redoc's
#                       bundle from the npm registry, installed at build
#                       time by tools/docs/package-lock.json; nothing is
#                       fetched when a page is read)
# `docs.sh lint` also lints the document with Redocly CLI (make test);
# `docs.sh types` writes the web app's types with openapi-typescript.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SRC=assets/api/openapi.yaml
mkdir -p build/docs

if [ ! -s build/openapi.json ] || [ "$SRC" -nt build/openapi.json ]; then
	/usr/bin/python3 -c 'import json, sys, yaml
doc = yaml.safe_load(sys.stdin)
json.dump(doc, sys.stdout, ensure_ascii=False, separators=(",", ":"))' \
	    < "$SRC" > build/openapi.json.tmp
	mv build/openapi.json.tmp build/openapi.json
fi

# Only the JSON is needed to serve the API; the pages and the lint need npm.
[ "${1:-}" = json ] && exit 0

if [ ! -f tools/docs/node_modules/.package-lock.json ] ||
    [ tools/docs/package-lock.json -nt tools/docs/node_modules/.package-lock.json ]; then
	(cd tools/docs && npm ci --no-audit --no-fund --loglevel=error)
fi
cp tools/docs/node_modules/redoc/bundles/redoc.standalone.js build/docs/
cp assets/api/docs/index.html assets/api/docs/init.js assets/api/docs/docs.css \
    build/docs/

export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
case "${1:-}" in
lint)
	(cd tools/docs && npx --no-install redocly lint --config redocly.yaml \
	    --format=stylish "../../$SRC")
	;;
types)
	mkdir -p assets/src/api
	(cd tools/docs && npm run --silent types)
	;;
esac
