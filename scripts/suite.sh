#!/usr/bin/env bash
# scripts/suite.sh NAME [SUITE-ARGS...]
#
# Run the conformance suite against server NAME, already started by servers/up.sh NAME, using
# what up.sh recorded in $STATE/NAME/env and the server's profile and baseline under
# servers/NAME/. Results go to target/results/NAME.{json,junit.xml,html,log}.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
name=${1:?usage: $0 NAME [SUITE-ARGS...]}
shift
state="${CCF_STATE:-$repo/target/fleet}"
out="${CCF_RESULTS_DIR:-$repo/target/results}"
bin="${CCF_BIN:-$repo/target/debug/caldav-conformance}"
[[ -f $state/$name/env ]] || { echo "no $state/$name/env: run servers/up.sh $name first" >&2; exit 2; }
[[ -x $bin ]] || cargo build --quiet --bin caldav-conformance
mkdir -p "$out"
set -a
# shellcheck disable=SC1090
source "$state/$name/env"
set +a
args=(--url "$CALDAV_URL" --server-name "$name" --results "$out/$name.json" --junit "$out/$name.junit.xml"
      --html "$out/$name.html")
if [[ ${CCF_AUTH:-} != none ]]; then
    [[ -n ${CALDAV_USER:-} ]] && args+=(--user "$CALDAV_USER")
    [[ -n ${CCF_PASSWORD_FILE:-} ]] && args+=(--password-file "$CCF_PASSWORD_FILE")
fi
[[ -n ${CCF_AUTH:-} ]] && args+=(--auth "$CCF_AUTH")
[[ -n ${CCF_HOME:-} ]] && args+=(--home "$CCF_HOME")
# CCF_TLS_MODE: ca (default: trust the server's CA with --ca-cert), insecure (--insecure),
# or system (neither: the certificate must then be refused).
case ${CCF_TLS_MODE:-ca} in
    ca) [[ -n ${CCF_CA_CERT:-} ]] && args+=(--ca-cert "$CCF_CA_CERT") ;;
    insecure) args+=(--insecure) ;;
    system) ;;
esac
[[ -n ${CCF_SERVER_VERSION:-} ]] && args+=(--server-version "$CCF_SERVER_VERSION")
# CCF_BASELINE_OF=OTHER (from the env file, e.g. radicale-nginx): judge with servers/OTHER's
# baselines, for a deployment that must behave exactly like that server.
# CCF_PROFILE=auto|NAME: judge with a known-server profile instead (a deployment check).
if [[ -n ${CCF_PROFILE:-} ]]; then
    args+=(--profile "$CCF_PROFILE")
elif [[ -z ${CCF_NO_BASELINE:-} ]]; then
    for b in servers/"${CCF_BASELINE_OF:-$name}"/baseline*.yaml; do [[ -f $b ]] && args+=(--baseline "$b"); done
else
    # Raw outcomes: no baseline, and no known-server profile either (the default is auto).
    args+=(--profile none)
fi
unset CALDAV_URL CALDAV_USER CALDAV_PASSWORD
"$bin" "${args[@]}" "$@" 2>&1 | tee "$out/$name.log"
exit "${PIPESTATUS[0]}"
