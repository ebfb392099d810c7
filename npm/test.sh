#!/bin/bash
# make test-npm: install the packed package into a scratch site as a site would
# (`npm install open-cobrowse-X.tgz`), type-check a use of it against its declarations
# (`tsc --noEmit`, strict, with misuses that must be refused), then bundle that use with
# esbuild, so the module, its lazily loaded glue and the wasm beside it all resolve; and, with
# a relay binary as the second argument, serve the bundled scratch page from a real relay and
# load it in headless Chromium: the page pairs with a key the relay never issued and must be
# told so by the relay (wasm loaded, rules fetched, the WebSocket URL right).
set -euo pipefail
tgz=$(realpath "$1")
relay=${2:+$(realpath "$2")}
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp "$here"/test/{package.json,package-lock.json,tsconfig.json,use.ts,page.ts,index.html,check.mjs} "$scratch"/
cd "$scratch"
npm ci --no-audit --no-fund --silent
npm install --no-save --no-audit --no-fund --silent "$tgz"
for f in index.js index.d.ts package.json pkg/cobrowse.js pkg/cobrowse_bg.wasm; do
	[ -f node_modules/open-cobrowse/$f ] || { echo "test-npm: the package lacks $f" >&2; exit 1; }
done
npx --no-install tsc -p .
echo "test-npm: tsc --noEmit passed on use.ts (strict; $(grep -c '@ts-expect-error' use.ts) misuses refused)"
esbuild use.ts page.ts --bundle --format=esm --splitting --outdir=dist --log-level=warning
grep -lq initCustomer dist/*.js || { echo "test-npm: the bundle lacks the library's glue" >&2; exit 1; }
echo "test-npm: esbuild bundled it ($(ls dist | wc -l) files, the glue in a lazily loaded chunk)"
[ -n "$relay" ] || exit 0

# esbuild leaves `new URL('./pkg/cobrowse_bg.wasm', import.meta.url)` to the site: copy it.
mkdir -p dist/pkg && cp node_modules/open-cobrowse/pkg/cobrowse_bg.wasm dist/pkg/ && cp index.html dist/
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$relay" --db relay.db site add shop --origin "http://127.0.0.1:$port" > /dev/null
"$relay" --db relay.db serve --addr "127.0.0.1:$port" --www dist > relay.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$scratch"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" > /dev/null && break; sleep 0.1; done
if said=$(node check.mjs "http://127.0.0.1:$port/index.html"); then
	echo "test-npm: the bundled page reached the relay and was told: $said"
else
	echo "test-npm: the bundled page said '$said', expected the relay's 'refused: unknown key'" >&2
	tail -20 relay.log >&2; exit 1
fi
