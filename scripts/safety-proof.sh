#!/usr/bin/env bash
# scripts/safety-proof.sh: prove that a run never loses or alters data that was there before it.
#
# Starts a private Radicale 3.9 (from the venv target/fleet/venv, created when missing) on a
# free port with its own storage folder, gives user1 several calendars full of events (and a
# task list, and the varied calendars of scripts/readonly_seed.py: recurring, all-day, time
# zone, across month and year boundaries, to-dos), snapshots the storage folder, then:
#   0. runs `--read-only` (every read-only scenario, and the read-only checks of all 8 real
#      calendars, which must all pass) and checks that the storage is byte-identical;
#   1. runs the whole suite against it;
#   2. runs it again several times, interrupted part-way with SIGINT (and once SIGTERM), at
#      different moments (during discovery and its probe calendar, and during scenarios);
#   3. leaves scratch collections behind by hand (plus decoys that merely look like them) and
#      runs `caldav-conformance cleanup --dry-run` (deletes nothing) and `cleanup` (deletes
#      exactly the scratch ones);
# and after each step compares the storage folder with the snapshot: the same files with the
# same contents, and no ccf-* collection left. Exits non-zero on any difference.
#
# Nothing in the storage folder is excluded from the comparison: every item file, every
# collection's .Radicale.props, and also Radicale's own .Radicale.lock and .Radicale.cache/
# (parsed items, sync-token history) must be byte-identical. Measured with Radicale 3.9.0:
# the suite leaves even those untouched. One thing is done before the snapshot: Radicale
# records a sync-token history file in .Radicale.cache/sync-token/ the first time a
# sync-collection REPORT reads a collection (a read that makes Radicale write its own derived
# data), so a warm-up `--read-only` pass runs first, and the script checks that it changed
# nothing but files under .Radicale.cache/; after the snapshot, the same pass (and everything
# else) must leave the storage byte-identical, caches included. Should a future scenario
# legitimately make Radicale rebuild such a
# cache (derived data, rebuilt from the items, no data of its own), CCF_IGNORE_CACHE=1
# excludes .Radicale.cache/ and .Radicale.lock; transient .Radicale.tmp-* files (an atomic
# write in progress) are never compared.
#
# Environment: CCF_BIN (default target/debug/caldav-conformance, built when missing),
# CCF_KEEP=1 keeps the work folder for inspection. Radicale: scripts/private-radicale.sh.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

log() { printf '[safety-proof] %s\n' "$*" >&2; }
fail() { printf '[safety-proof] FAILED: %s\n' "$*" >&2; exit 1; }

bin="${CCF_BIN:-$repo/target/debug/caldav-conformance}"
if [[ -z ${CCF_BIN:-} ]]; then
    cargo build --quiet --bin caldav-conformance
fi
[[ -x $bin ]] || fail "no binary at $bin"

work="$(mktemp -d "${TMPDIR:-/tmp}/ccf-safety.XXXXXX")"
# shellcheck source=scripts/private-radicale.sh
source scripts/private-radicale.sh
CCF_LOG_PREFIX=safety-proof
ensure_apt curl
cleanup() {
    private_radicale_stop
    if [[ -n ${CCF_KEEP:-} ]]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
private_radicale_start "$work"
base="$RADICALE_URL"
storage="$RADICALE_STORAGE"

# ---------------------------------------------------------------- the user's own data
dav() { # dav METHOD PATH [CURL-ARGS...]: request as user1, fail on a non-2xx status
    local m=$1 p=$2 code
    shift 2
    code="$(curl -s -o "$work/last" -w '%{http_code}' -u user1:pass1 -X "$m" "$@" "$base$p")"
    [[ $code == 2* ]] || { cat "$work/last" >&2; fail "$m $p answered $code"; }
}
dav PROPFIND /user1/ -H 'Depth: 0'
for cal in work family birthdays; do
    dav MKCALENDAR "/user1/$cal/"
    for i in $(seq 1 12); do
        printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//safety-proof//EN\r\nBEGIN:VEVENT\r\nUID:%s-%s@safety-proof\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:202601%02dT090000Z\r\nDURATION:PT1H\r\nSUMMARY:%s event %s\r\nDESCRIPTION:pre-existing data that no run may touch\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' \
            "$cal" "$i" "$i" "$cal" "$i" >"$work/ev.ics"
        dav PUT "/user1/$cal/event-$i.ics" -H 'Content-Type: text/calendar' --data-binary @"$work/ev.ics"
    done
done
dav MKCALENDAR /user1/tasks/
printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//safety-proof//EN\r\nBEGIN:VTODO\r\nUID:todo-1@safety-proof\r\nDTSTAMP:20250101T000000Z\r\nSUMMARY:a task\r\nEND:VTODO\r\nEND:VCALENDAR\r\n' >"$work/todo.ics"
dav PUT /user1/tasks/todo-1.ics -H 'Content-Type: text/calendar' --data-binary @"$work/todo.ics"
# A collection named like the suite's scratch prefix but not a scratch name: never touched.
dav MKCALENDAR /user1/ccf-mine/
dav PUT /user1/ccf-mine/keep.ics -H 'Content-Type: text/calendar' --data-binary @"$work/todo.ics"
# Calendars with varied objects for the read-only checks (ro-work, ro-family, ro-tasks).
python3 scripts/readonly_seed.py "$base/" user1 "$work/password" >/dev/null || fail "readonly_seed.py failed"
calendars=8

readonly_pass() { # readonly_pass LOG: --read-only against user1; every read-only check passes
    local log=$1 code total ok cals
    set +e
    "$bin" --url "$base/" --user user1 --password-file "$work/password" --read-only >"$log" 2>&1
    code=$?
    set -e
    [[ $code == 0 ]] || { tail -n 40 "$log" >&2; fail "--read-only ended with exit $code"; }
    total=$(grep -cE '^test readonly/' "$log" || true)
    ok=$(grep -cE '^test readonly/[^ ]+ +\.\.\. ok$' "$log" || true)
    cals=$(grep -oE '^test readonly/[^:]+' "$log" | sort -u | wc -l)
    [[ $cals == "$calendars" && $total -ge $((calendars * 10)) && $ok == "$total" ]] || {
        grep -E '^test readonly/' "$log" >&2
        fail "--read-only: $ok of $total read-only checks passed on $cals calendars (expected all, on $calendars)"
    }
    grep -q 'pass1' "$log" && fail "the password appears in the output"
    return 0
}

snapshot() { # the storage folder: every file with its sha256, and every folder
    local skip=(! -name '.Radicale.tmp-*')
    [[ -n ${CCF_IGNORE_CACHE:-} ]] && skip+=(! -name '.Radicale.lock' ! -path '*/.Radicale.cache*')
    (cd "$storage" && find . -type f "${skip[@]}" -print0 | sort -z | xargs -0 -r sha256sum)
    (cd "$storage" && find . -type d "${skip[@]}" | sort)
}
# Warm-up: the first sync-collection of each calendar makes Radicale record its sync-token
# history; that must be the only change (files under .Radicale.cache/).
snapshot >"$work/cold"
readonly_pass "$work/warmup.log"
snapshot >"$work/before"
changed="$(diff "$work/cold" "$work/before" | grep '^[<>]' | grep -v '/\.Radicale\.cache/' || true)"
[[ -z $changed ]] || { printf '%s\n' "$changed" >&2; fail "the warm-up --read-only pass changed more than Radicale's cache"; }
log "warm-up --read-only pass: $(diff "$work/cold" "$work/before" | grep -c '^>' || true) new file(s) or folder(s), all in .Radicale.cache/ (Radicale's sync-token history)"
[[ $(grep -c '/collection-root/user1/[a-z]*/event-.*\.ics$' "$work/before") -eq 36 ]] ||
    fail "the snapshot does not hold the 36 events"
log "snapshot: $(grep -c '^[0-9a-f]\{64\} ' "$work/before") files"

check() { # check WHAT: storage as in the snapshot, no scratch collection left
    local what=$1 left
    # The client is gone; give the server a moment for anything it may still be writing.
    sleep 0.5
    snapshot >"$work/after"
    if ! diff -u "$work/before" "$work/after" >"$work/diff"; then
        cat "$work/diff" >&2
        fail "$what: the storage folder differs from the snapshot"
    fi
    left="$(cd "$storage" && find . -type d -name 'ccf-*' ! -name 'ccf-mine' -print)"
    [[ -z $left ]] || fail "$what: scratch collections left behind: $left"
    log "$what: storage identical to the snapshot, no scratch collection left"
}
check "setup"
# Negative control: the comparison does see a change (and a left-over ccf-* collection).
echo changed >>"$storage/collection-root/user1/work/event-1.ics"
(check "negative control" >/dev/null 2>&1) && fail "the comparison missed a changed event"
sed -i '$ d' "$storage/collection-root/user1/work/event-1.ics"
mkdir "$storage/collection-root/user1/ccf-0a1b2c3d-1"
(check "negative control" >/dev/null 2>&1) && fail "the comparison missed a scratch collection"
rmdir "$storage/collection-root/user1/ccf-0a1b2c3d-1"
check "negative controls undone"

suite() { "$bin" --url "$base/" --user user1 --password-file "$work/password" "$@"; }

# ---------------------------------------------------------------- 0. read-only
log "0. --read-only against $calendars real calendars (Radicale has no trash bin: tests/hostile.rs proves that part)"
readonly_pass "$work/readonly.log"
log "--read-only: all $(grep -cE '^test readonly/' "$work/readonly.log") read-only checks passed on $calendars calendars; $(grep 'test result:' "$work/readonly.log" | tail -n 1)"
check "after --read-only"

# ---------------------------------------------------------------- 1. a whole run
log "1. the whole suite"
set +e
suite -q >"$work/run.log" 2>&1
code=$?
set -e
[[ $code == 0 || $code == 101 ]] || { tail -n 40 "$work/run.log" >&2; fail "the run ended with exit code $code"; }
grep -q 'test result:' "$work/run.log" || { tail -n 40 "$work/run.log" >&2; fail "the run did not finish"; }
log "run ended with exit $code: $(grep 'test result:' "$work/run.log" | tail -n 1)"
grep -q 'pass1' "$work/run.log" && fail "the password appears in the output"
check "after a whole run"

# ---------------------------------------------------------------- 2. interrupted runs
interrupt() { # interrupt SIGNAL MARKER DELAY EXPECTED-EXIT: signal DELAY s after MARKER shows
    local sig=$1 marker=$2 delay=$3 want=$4 pid code at i
    # The binary itself in the background (not a shell function: $! would be a subshell),
    # with job control on so that it keeps the default SIGINT disposition, as under a
    # terminal (a non-interactive shell starts background commands with SIGINT ignored).
    : >"$work/int.log"
    set -m
    "$bin" --url "$base/" --user user1 --password-file "$work/password" --test-threads 1 \
        >"$work/int.log" 2>&1 &
    pid=$!
    set +m
    at="start"
    if [[ -n $marker ]]; then
        for i in $(seq 1 600); do
            grep -q "$marker" "$work/int.log" && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        at="\"$marker\""
    fi
    sleep "$delay"
    kill -s "$sig" "$pid" 2>/dev/null || true
    set +e
    wait "$pid"
    code=$?
    set -e
    if [[ $code != "$want" ]]; then
        # The run may have ended by itself before the signal: still a valid run to check.
        if ! grep -q 'test result:' "$work/int.log" || [[ $code != 0 && $code != 101 ]]; then
            tail -n 30 "$work/int.log" >&2
            fail "SIG$sig ${delay}s after $at: exit $code, expected $want"
        fi
        log "SIG$sig ${delay}s after $at: the run had already finished (exit $code)"
    else
        log "SIG$sig ${delay}s after $at: exit $code; the handler deleted $(grep -o 'deleted http[^ ]*' "$work/int.log" | sed 's/deleted //' | tr '\n' ' ')"
    fi
    grep -q 'pass1' "$work/int.log" && fail "the password appears in the output"
    check "after SIG$sig ${delay}s after $at"
}
log "2. interrupted runs"
# From the start: while scenario files load (nothing sent yet) and during discovery (which
# creates and deletes the probe calendar); loading takes ~2 s for a debug build here.
for d in 0.3 1 1.6 2 2.3; do
    interrupt INT "" "$d" 130
done
# During discovery proper, and during the scenarios.
interrupt INT "^home:" 0 130
for d in 0 0.2 0.5 1 2.5 5; do
    interrupt INT "^running" "$d" 130
done
interrupt TERM "^running" 1.5 143

# ---------------------------------------------------------------- 3. cleanup
log "3. cleanup of leftovers"
dav MKCALENDAR /user1/ccf-0badc0de-1/
dav PUT /user1/ccf-0badc0de-1/x.ics -H 'Content-Type: text/calendar' --data-binary @"$work/todo.ics"
dav MKCALENDAR /user1/ccf-0badc0de-2b/
dav MKCALENDAR /user1/ccf-0badc0de-probe/
# Decoys: look like scratch collections, are not (wrong pattern): never deleted.
dav MKCALENDAR /user1/ccf-0badc0de/
dav MKCALENDAR /user1/ccf-0BADC0DE-1/
"$bin" cleanup --url "$base/" --user user1 --password-file "$work/password" --dry-run >"$work/dry.log" 2>&1 ||
    { cat "$work/dry.log" >&2; fail "cleanup --dry-run failed"; }
[[ $(grep -c 'would delete' "$work/dry.log") == 3 ]] || { cat "$work/dry.log" >&2; fail "cleanup --dry-run does not list exactly the 3 scratch collections"; }
for c in ccf-0badc0de-1 ccf-0badc0de-2b ccf-0badc0de-probe ccf-0badc0de ccf-0BADC0DE-1; do
    [[ -d $storage/collection-root/user1/$c ]] || fail "cleanup --dry-run deleted $c"
done
log "cleanup --dry-run listed the 3 scratch collections and deleted nothing"
"$bin" cleanup --url "$base/" --user user1 --password-file "$work/password" >"$work/clean.log" 2>&1 ||
    { cat "$work/clean.log" >&2; fail "cleanup failed"; }
for c in ccf-0badc0de-1 ccf-0badc0de-2b ccf-0badc0de-probe; do
    [[ ! -d $storage/collection-root/user1/$c ]] || { cat "$work/clean.log" >&2; fail "cleanup left $c"; }
done
for c in ccf-0badc0de ccf-0BADC0DE-1; do
    [[ -d $storage/collection-root/user1/$c ]] || fail "cleanup deleted the decoy $c"
    dav DELETE "/user1/$c/"
done
log "cleanup deleted exactly the 3 scratch collections"
check "after cleanup"

log "PASSED: no run, interrupted or not, lost or altered any data"
