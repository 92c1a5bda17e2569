#!/usr/bin/env bash
# scripts/test.sh: every test of the project, as CI runs it (.ci/run calls this).
#   1. cargo fmt --check and clippy -D warnings
#   2. unit and integration tests (cargo test)
#   3. the conformance suite against every server of the fleet (scripts/fleet.sh provisions
#      each on 127.0.0.1 and compares its outcomes with servers/NAME/baseline*.yaml: any
#      difference, in either direction, fails), and a check that both negative controls fail.
# CCF_FLEET overrides the server list (space-separated names from scripts/servers.sh).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=scripts/servers.sh
source scripts/servers.sh

step() { printf '\n==> %s (%ds)\n' "$*" "$SECONDS"; }

step "cargo fmt --check"
cargo fmt --check
step "cargo clippy --all-targets -- -D warnings"
cargo clippy --quiet --all-targets -- -D warnings
step "cargo test"
cargo test --quiet
step "safety proof: a private Radicale's data survives whole, interrupted and cleanup runs"
bash scripts/safety-proof.sh
step "mutation test: every scenario family can fail (fault-injecting proxy, private Radicale)"
bash scripts/mutation.sh
step "coverage table"
cargo run --quiet -- coverage | tail -n 1

# shellcheck disable=SC2206
fleet=(${CCF_FLEET:-${FLEET[*]}})
step "suite against: ${fleet[*]}"
rm -f target/results/*.json
status=0
step "client libraries (python-caldav, tsdav) installed, pinned"
bash scripts/clients.sh --install || status=1
CCF_CLIENTS=1 bash scripts/fleet.sh "${fleet[@]}" -- -q || status=1
step "client compatibility report: the real libraries agree with the suite's client flows"
bash scripts/clients.sh --report --strict || status=1

if [[ " ${fleet[*]} " == *" xandikos-tls "* ]]; then
    step "TLS: --insecure works, an untrusted certificate is one clear error (exit 2)"
    bash servers/up.sh xandikos-tls
    export CCF_RESULTS_DIR=target/results/tls-checks
    CCF_TLS_MODE=insecure bash scripts/suite.sh xandikos-tls -q rfc4791/05_1 >/dev/null || status=1
    rc=0
    out=$(CCF_TLS_MODE=system bash scripts/suite.sh xandikos-tls -q 2>&1) || rc=$?
    if [[ $rc != 2 || $out != *"--ca-cert"* ]]; then
        echo "an untrusted certificate gave exit $rc and no hint about --ca-cert:" >&2
        echo "$out" | tail -n 5 >&2
        status=1
    fi
    bash servers/down.sh xandikos-tls
    unset CCF_RESULTS_DIR
fi

if [[ " ${fleet[*]} " == *" calypso "* ]]; then
    step "HTML reports in headless Chromium (counts, diffs, filters, no network)"
    bash scripts/html-check.sh calypso || status=1
fi

if [[ -z ${CCF_FLEET:-} ]]; then
    step "misconfigured proxy: the deployment group names each fault; --profile auto blames the proxy"
    if bash servers/up.sh radicale-badproxy; then
        bash scripts/badproxy-check.sh || status=1
    else
        status=1
    fi
    bash servers/down.sh radicale-badproxy || true
fi

if [[ -z ${CCF_FLEET:-} ]]; then
    step "the installed binary carries its suite: cargo install, run from / against Radicale"
    if bash servers/up.sh radicale; then
        CCF_INSTALL_DEBUG=1 bash scripts/install-check.sh radicale || status=1
        step "--read-only on an account holding real calendars (Radicale)"
        bash scripts/readonly-check.sh radicale || status=1
    else
        status=1
    fi
    bash servers/down.sh radicale || true
fi

step "negative controls fail where expected"
for n in "${NEGATIVE_CONTROLS[@]}"; do
    [[ " ${fleet[*]} " == *" $n "* ]] || continue
    fails=$(grep -c '"outcome": "fail"' "target/results/$n.json" || true)
    if ((fails == 0)); then
        echo "negative control $n: no scenario failed; the suite must fail it" >&2
        status=1
    else
        echo "negative control $n: $fails scenarios fail, as its baseline expects"
    fi
done
step "done"
exit $status
