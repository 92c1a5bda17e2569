#!/usr/bin/env bash
# scripts/readonly-check.sh [NAME...]: `--read-only` against running fleet servers, on an
# account that holds real calendars.
#
# For each server NAME (default: radicale sabre cyrus davical; each already started by
# servers/up.sh), gives user2 (a fleet user no scenario uses) the calendars of
# scripts/readonly_seed.py (kept if they exist), then runs the suite with --read-only as user2
# and requires every read-only check of every calendar in user2's home to pass (or be ignored
# for a feature the calendar does not advertise, e.g. sync-collection on sabre/dav). SOGo is
# not in the default list: its calendar-query with an empty VCALENDAR comp-filter returns
# nothing and its DAV:supported-report-set lacks free-busy-query (two MUSTs of RFC 4791 it
# breaks, shown as failures). Xandikos and the negative controls are not seeded: Xandikos in
# the fleet has a single account (user1, which the scenarios use), Calypso and dav-server know
# no user2. Results: $CCF_RESULTS_DIR/readonly-NAME.log.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
state="${CCF_STATE:-$repo/target/fleet}"
out="${CCF_RESULTS_DIR:-$repo/target/results}"
bin="${CCF_BIN:-$repo/target/debug/caldav-conformance}"
[[ -x $bin ]] || cargo build --quiet --bin caldav-conformance
mkdir -p "$out"
log() { printf '[readonly-check] %s\n' "$*" >&2; }
fail() { printf '[readonly-check] FAILED: %s\n' "$*" >&2; exit 1; }

pw="$(mktemp)"
trap 'rm -f "$pw"' EXIT
printf 'pass2\n' >"$pw"

servers=("$@")
((${#servers[@]})) || servers=(radicale sabre cyrus davical)
for name in "${servers[@]}"; do
    [[ -f $state/$name/env ]] || fail "no $state/$name/env: run servers/up.sh $name first"
    (
        set -a
        # shellcheck disable=SC1090
        source "$state/$name/env"
        set +a
        python3 scripts/readonly_seed.py "$CALDAV_URL" user2 "$pw" >/dev/null ||
            fail "$name: could not give user2 its calendars"
        args=(--url "$CALDAV_URL" --user user2 --password-file "$pw" --read-only --profile none)
        [[ -n ${CCF_AUTH:-} && ${CCF_AUTH} != none ]] && args+=(--auth "$CCF_AUTH")
        [[ -n ${CCF_CA_CERT:-} ]] && args+=(--ca-cert "$CCF_CA_CERT")
        set +e
        "$bin" "${args[@]}" readonly/ >"$out/readonly-$name.log" 2>&1
        code=$?
        set -e
        total=$(grep -cE '^test readonly/' "$out/readonly-$name.log" || true)
        bad=$(grep -E '^test readonly/' "$out/readonly-$name.log" | grep -vE '\.\.\. (ok|ignored.*)$' || true)
        if [[ $code != 0 || $total == 0 || -n $bad ]]; then
            tail -n 60 "$out/readonly-$name.log" >&2
            fail "$name: exit $code, $total read-only checks${bad:+, not passed: $bad}"
        fi
        grep -q 'pass2' "$out/readonly-$name.log" && fail "$name: the password appears in the output"
        log "$name: $total read-only checks on $(grep -oE '^test readonly/[^:]+' "$out/readonly-$name.log" | sort -u | wc -l) calendar(s): $(grep 'test result:' "$out/readonly-$name.log" | tail -n 1)"
    )
done
log "PASSED"
