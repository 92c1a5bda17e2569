#!/usr/bin/env bash
# scripts/fleet.sh NAME [NAME...] [-- SUITE-ARGS...]
#
# For each server NAME (see servers/README.md): provision and start it with servers/up.sh,
# run the conformance suite against it (with its baseline servers/NAME/baseline.yaml when
# there is one), stop it again with servers/down.sh, and keep the results in
# target/results/NAME.{json,junit.xml,log}. Exits non-zero when any server's run failed.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

names=()
while (($#)); do
    if [[ $1 == -- ]]; then shift; break; fi
    names+=("$1"); shift
done
extra=("$@")
((${#names[@]})) || { echo "usage: $0 NAME [NAME...] [-- SUITE-ARGS...]" >&2; exit 2; }

cargo build --quiet --bin caldav-conformance

started=()
cleanup() { if ((${#started[@]})); then bash servers/down.sh "${started[@]}" || true; fi; }
trap cleanup EXIT

status=0
for name in "${names[@]}"; do
    echo "=== $name ==="
    if ! bash servers/up.sh "$name"; then
        echo "=== $name: could not be provisioned ===" >&2
        status=1
        continue
    fi
    started+=("$name")
    bash scripts/suite.sh "$name" "${extra[@]}" ||
        { echo "=== $name: FAILED (see target/results/$name.log) ===" >&2; status=1; }
    # CCF_CLIENTS=1: the real client libraries (python-caldav, tsdav) against the same server.
    if [[ -n ${CCF_CLIENTS:-} ]]; then bash scripts/clients.sh "$name" || status=1; fi
    bash servers/down.sh "$name" || true
    remaining=()
    for s in "${started[@]}"; do [[ $s == "$name" ]] || remaining+=("$s"); done
    started=("${remaining[@]}")
done
exit $status
