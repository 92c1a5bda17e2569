#!/usr/bin/env bash
# scripts/html-check.sh [NAME]: the HTML reports checked in headless Chromium.
#
# Loads (a) the --html report of server NAME's last run (default calypso, the negative control,
# which has failing scenarios) from $CCF_RESULTS_DIR/NAME.html, compared with NAME.json of the
# same run, and (b) reports/index.html, compared with reports/matrix.json. scripts/html_check.py
# drives the browser over the DevTools pipe (Python standard library only) and reads the DOM:
# counts match the JSON, a failing scenario's differences open on a click and are visible, the
# filters change what is shown, a heat-map cell opens its scenarios, and no request leaves the
# page. Screenshots go to target/html-check/.
#
# If NAME.html is missing, the suite is run against NAME first (the server must be up:
# servers/up.sh NAME). Chromium is Debian's `chromium` package, installed here if missing.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
name=${1:-calypso}
dir="${CCF_RESULTS_DIR:-target/results}"
out=target/html-check

if ! command -v chromium >/dev/null; then
    echo "html-check: apt-get install chromium" >&2
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null
fi
if [[ ! -f $dir/$name.html || ! -f $dir/$name.json ]]; then
    echo "html-check: no $dir/$name.html: running the suite against $name" >&2
    CCF_RESULTS_DIR="$dir" bash scripts/suite.sh "$name" -q >/dev/null || true
fi
rm -rf "$out/profile"
mkdir -p "$out"
python3 scripts/html_check.py --chromium "$(command -v chromium)" --out "$out" \
    --report "$dir/$name.html" --results "$dir/$name.json" \
    --index reports/index.html --matrix reports/matrix.json
