#!/usr/bin/env bash
# scripts/badproxy-check.sh
#
# The deployment scenarios against the deliberately misconfigured reverse proxy (started by
# servers/up.sh radicale-badproxy: servers/proxy/radicale-badproxy.conf drops Depth, refuses
# REPORT with 405 and limits bodies to 256k, in front of Radicale). Checks that
#   1. the deployment group gives exactly the outcomes of
#      servers/radicale-badproxy/baseline-deployment.yaml: one failure or warning per fault,
#      plus Radicale's own deviations (exit 0 of the run);
#   2. with --profile auto the server is identified as Radicale, each scenario failing because
#      of the proxy is reported as a difference from a correct installation of Radicale (a
#      regression against the profile), and Radicale's own deviation (no COPY) stays a known
#      deviation: the proxy is blamed, not the server software.
# Results: $CCF_RESULTS_DIR/badproxy/{baseline,profile}/radicale-badproxy.{json,log}.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
out="${CCF_RESULTS_DIR:-$repo/target/results}/badproxy"
fail() { echo "badproxy-check: FAILED: $*" >&2; exit 1; }

echo "== deployment group against radicale-badproxy, with its baseline"
CCF_RESULTS_DIR="$out/baseline" bash scripts/suite.sh radicale-badproxy -q deployment/ >/dev/null ||
    fail "the outcomes differ from servers/radicale-badproxy/baseline-deployment.yaml (see $out/baseline/radicale-badproxy.log)"
tail -n 1 "$out/baseline/radicale-badproxy.log"

echo "== deployment group against radicale-badproxy, with --profile auto"
rc=0
CCF_PROFILE=auto CCF_RESULTS_DIR="$out/profile" bash scripts/suite.sh radicale-badproxy -q deployment/ >/dev/null || rc=$?
((rc == 101)) || fail "--profile auto should find differences from Radicale (exit 101), got exit $rc (see $out/profile/radicale-badproxy.log)"
python3 - "$out/profile/radicale-badproxy.json" <<'PY' || fail "the profile run does not blame the proxy (see $out/profile/radicale-badproxy.log)"
import json
import sys

res = json.load(open(sys.argv[1]))
marks = {s["name"]: (s["outcome"], s.get("baseline")) for s in res["scenarios"]}
problems = []
if res.get("product") != "Radicale":
    problems.append(f"product identified as {res.get('product')!r}, not Radicale")
if not str(res.get("profile", "")).startswith("radicale:"):
    problems.append(f"profile {res.get('profile')!r}, not radicale")
# One scenario per proxy fault, each a difference from a correct installation of Radicale.
proxy = {
    "deployment/02_methods::report-reaches-server": "fail",            # REPORT refused (405)
    "deployment/03_headers::calendar-query-depth-1-finds-the-event": "fail",
    "deployment/03_headers::depth-1-lists-the-members": "fail",        # Depth dropped
}
for name, outcome in proxy.items():
    if marks.get(name) != (outcome, "regression"):
        problems.append(f"{name}: expected {outcome} reported as a difference from Radicale, got {marks.get(name)}")
# The body limit (413) is a MAY-level warning: it must show as one.
big = "deployment/04_bodies::put-object-over-1mib"
if marks.get(big, ("",))[0] != "warn":
    problems.append(f"{big}: expected a warning (413 from the proxy), got {marks.get(big)}")
# Radicale's own deviation stays Radicale's.
own = "deployment/02_methods::copy-reaches-server"
if marks.get(own) != ("fail", "expected"):
    problems.append(f"{own}: expected a known deviation of Radicale, got {marks.get(own)}")
for p in problems:
    print("  " + p, file=sys.stderr)
if problems:
    sys.exit(1)
print("  the proxy faults are differences from a correct Radicale; Radicale's own deviation is known")
PY
tail -n 1 "$out/profile/radicale-badproxy.log"
echo "badproxy-check: ok"
