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
bin="$repo/target/debug/caldav-conformance"
state="${CCF_STATE:-$repo/target/fleet}"
out="$repo/target/results"
mkdir -p "$out"

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
    # shellcheck disable=SC1090
    (
        set -a; source "$state/$name/env"; set +a
        args=(--url "$CALDAV_URL" --results "$out/$name.json" --server-name "$name" --junit "$out/$name.junit.xml")
        [[ -n ${CALDAV_USER:-} && ${CCF_AUTH:-} != none ]] && args+=(--user "$CALDAV_USER")
        [[ -n ${CCF_PASSWORD_FILE:-} && ${CCF_AUTH:-} != none ]] && args+=(--password-file "$CCF_PASSWORD_FILE")
        [[ -n ${CCF_AUTH:-} ]] && args+=(--auth "$CCF_AUTH")
        [[ -n ${CCF_HOME:-} ]] && args+=(--home "$CCF_HOME")
        [[ -n ${CCF_CA_CERT:-} ]] && args+=(--ca-cert "$CCF_CA_CERT")
        [[ -f servers/$name/profile.args ]] && mapfile -t -O "${#args[@]}" args < <(grep -v '^#' "servers/$name/profile.args")
        [[ -f servers/$name/baseline.yaml ]] && args+=(--baseline "servers/$name/baseline.yaml")
        [[ -n ${CCF_SERVER_VERSION:-} ]] && args+=(--server-version "$CCF_SERVER_VERSION")
        unset CALDAV_URL CALDAV_USER CALDAV_PASSWORD
        "$bin" "${args[@]}" "${extra[@]}" 2>&1 | tee "$out/$name.log"
        exit "${PIPESTATUS[0]}"
    ) || { echo "=== $name: FAILED (see target/results/$name.log) ===" >&2; status=1; }
    bash servers/down.sh "$name" || true
    remaining=()
    for s in "${started[@]}"; do [[ $s == "$name" ]] || remaining+=("$s"); done
    started=("${remaining[@]}")
done
exit $status
