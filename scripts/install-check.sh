#!/usr/bin/env bash
# scripts/install-check.sh [NAME]
#
# The binary carries its suite: `cargo install --path .` into target/install-check, copy the
# installed binary to a temporary folder, and run it from / (no source tree in reach):
#   - --list lists every scenario of the source tree (and the oracle), and so does the suite
#     written by `export` when run with --scenarios/--fixtures;
#   - `coverage` works;
#   - with NAME (a fleet server already started by servers/up.sh NAME; state in
#     $CCF_STATE/NAME/env), the copied binary runs the whole suite against it with the default
#     --profile auto and a results file holding every scenario.
# Exit 0 when all of that holds. Takes one release build (a few minutes on 2 cores the first
# time, seconds after) plus, with NAME, one run of the suite.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
name=${1:-}
root="$repo/target/install-check"
state="${CCF_STATE:-$repo/target/fleet}"
fail() { echo "install-check: $*" >&2; exit 1; }
log() { echo "install-check: $*"; }

# CCF_INSTALL_DEBUG=1 installs the dev-profile build from the project's own target folder
# (CI: no second, release build of every dependency); otherwise a release build, as a user's.
if [[ -n ${CCF_INSTALL_DEBUG:-} ]]; then
    cargo install --quiet --locked --force --debug --target-dir "$repo/target" --path "$repo" --root "$root"
else
    cargo install --quiet --locked --force --path "$repo" --root "$root"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$root/bin/caldav-conformance" "$work/caldav-conformance"
bin="$work/caldav-conformance"

count() { grep -c ': test$' || true; }
want=$(cd / && "$bin" --list --scenarios "$repo/scenarios" --fixtures "$repo/fixtures" | count)
got=$(cd / && env -u CCF_SUITE "$bin" --list | count)
((want > 100)) || fail "the source tree lists only $want scenarios"
[[ $got == "$want" ]] || fail "the copied binary lists $got scenarios from /, the source tree $want"
log "the copied binary lists all $got scenarios from /"

(cd / && "$bin" export "$work/suite" 2>/dev/null) || fail "export failed"
exported=$(cd / && "$bin" --list --scenarios "$work/suite/scenarios" --fixtures "$work/suite/fixtures" | count)
[[ $exported == "$want" ]] || fail "the exported suite lists $exported scenarios, not $want"
[[ -n $(ls "$work"/suite/servers/*/baseline*.yaml 2>/dev/null) ]] || fail "export wrote no baselines"
[[ -f $work/suite/fixtures/rfc/rfc4791.txt ]] || fail "export wrote no RFC texts"
log "export writes the suite ($exported scenarios, the RFC texts and the baselines)"

(cd / && "$bin" coverage | tail -n 1 | grep -q '^total:') || fail "coverage failed from /"

[[ -n $name ]] || { log "no server given: done"; exit 0; }
[[ -f $state/$name/env ]] || fail "no $state/$name/env: start it with servers/up.sh $name"
set -a
# shellcheck disable=SC1090
source "$state/$name/env"
set +a
args=(--url "$CALDAV_URL" --results "$work/$name.json" -q)
if [[ ${CCF_AUTH:-} != none ]]; then
    args+=(--user "$CALDAV_USER" --password-file "$CCF_PASSWORD_FILE" --auth "${CCF_AUTH:-auto}")
fi
[[ -n ${CCF_HOME:-} ]] && args+=(--home "$CCF_HOME")
[[ -n ${CCF_CA_CERT:-} ]] && args+=(--ca-cert "$CCF_CA_CERT")
unset CALDAV_URL CALDAV_USER CALDAV_PASSWORD
rc=0
(cd / && env -u CCF_SUITE "$bin" "${args[@]}") >"$work/$name.log" 2>&1 || rc=$?
mkdir -p "$repo/target/results/install-check"
cp "$work/$name.log" "$work/$name.json" "$repo/target/results/install-check/" 2>/dev/null || true
[[ $rc == 0 || $rc == 101 ]] || { tail -n 20 "$work/$name.log" >&2; fail "the run against $name ended with exit $rc"; }
grep -q '^suite: .*embedded in the binary' "$work/$name.log" || fail "the run did not use the embedded suite"
ran=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))[\"scenarios\"]))" "$work/$name.json" 2>/dev/null || echo 0)
[[ $ran == "$want" ]] || fail "the results hold $ran scenarios, not $want"
log "ran all $ran scenarios against $name from /: $(tail -n 1 "$work/$name.log")"
log "$(grep -m1 "^profile:" "$work/$name.log" | tr -s " " || echo "profile: none")"
