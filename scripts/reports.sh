#!/usr/bin/env bash
# scripts/reports.sh: regenerate reports/ (the published conformance matrix).
# Provisions and runs every server of the fleet (scripts/fleet.sh, each with its baseline, so
# the reasons in the matrix are the reviewed ones), then writes reports/matrix.md and
# reports/matrix.json and reports/index.html (the heat map) from target/results/NAME.json.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=scripts/servers.sh
source scripts/servers.sh
rm -f target/results/*.json
bash scripts/fleet.sh "${FLEET[@]}" -- -q || echo "(some servers differ from their baselines; the matrix shows what they did)" >&2
files=()
for n in "${FLEET[@]}"; do [[ -f target/results/$n.json ]] && files+=("target/results/$n.json"); done
target/debug/caldav-conformance matrix "${files[@]}" --out reports
