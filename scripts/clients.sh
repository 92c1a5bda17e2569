#!/usr/bin/env bash
# scripts/clients.sh NAME... | --report
#
# Ground truth from real client libraries. For each server NAME, already started by
# servers/up.sh NAME (its state in $CCF_STATE/NAME/env, read as scripts/suite.sh reads it), run
#   - python-caldav (PyPI, pinned in clients/python-caldav/requirements.txt, venv under
#     target/clients/venv) with clients/python-caldav/driver.py, and
#   - tsdav (npm, pinned by clients/tsdav/package-lock.json, installed with `npm ci` under
#     target/clients/tsdav; Node.js and npm from Debian's apt when the machine has none) with
#     clients/tsdav/driver.mjs.
# Each driver discovers, lists calendars, creates a scratch calendar ccf-client-<random>, creates,
# fetches, edits and deletes an event, syncs the changes the library's way, deletes the calendar,
# and writes target/results/clients/NAME.{python-caldav,tsdav}.json (step -> ok / error message).
# Credentials are read from the password file by the drivers and never printed.
#
# --report [--strict] [NAME...] regenerates reports/clients.md from those files and from the suite's
# results for the client flows (scenarios/clients/): $CCF_SUITE_RESULTS/NAME.json, by default
# target/results (what scripts/fleet.sh writes). Disagreements between a library and the suite
# are listed in the report with their explanation from clients/explanations.json; with --strict
# an unexplained one makes the exit status 1. Running the drivers exits non-zero only when a
# driver could not run at all (a library step that fails is a result, not an error).
#
# --install only installs both libraries (no server needed).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
# shellcheck source=scripts/servers.sh
source scripts/servers.sh

state="${CCF_STATE:-$repo/target/fleet}"
out="${CCF_CLIENT_RESULTS:-$repo/target/results/clients}"
tools="$repo/target/clients"
venv="$tools/venv"
log() { printf 'clients: %s\n' "$*" >&2; }

install_python() {
    local req=clients/python-caldav/requirements.txt stamp="$venv/.ccf-requirements"
    if [[ -x $venv/bin/python ]] && cmp -s "$req" "$stamp"; then return; fi
    rm -rf "$venv"
    mkdir -p "$tools"
    if ! python3 -m venv "$venv" 2>/dev/null; then
        rm -rf "$venv"
        log "apt-get install python3-venv"
        apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends python3-venv >/dev/null
        /usr/bin/python3 -m venv "$venv"
    fi
    log "pip install -r $req (python-caldav)"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2
    cp "$req" "$stamp"
}

install_node() {
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        log "apt-get install nodejs npm"
        apt-get update -q >/dev/null
        apt-get install -y -q --no-install-recommends nodejs npm >/dev/null
    fi
    local dir="$tools/tsdav" lock=clients/tsdav/package-lock.json
    mkdir -p "$dir"
    if [[ ! -d $dir/node_modules/tsdav ]] || ! cmp -s "$lock" "$dir/package-lock.json"; then
        cp clients/tsdav/package.json "$lock" "$dir/"
        log "npm ci (tsdav $(node -p 'require("./clients/tsdav/package.json").dependencies.tsdav'))"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2)
    fi
    # The driver lives next to its node_modules so that `import "tsdav"` resolves there.
    cp clients/tsdav/driver.mjs "$dir/driver.mjs"
}

# crashed FILE CLIENT NAME MESSAGE: a result file for a driver that wrote none.
crashed() {
    "$venv/bin/python" - "$@" <<'PY'
import json, sys
path, client, name, msg = sys.argv[1:5]
steps = ["discover", "list_calendars", "create_calendar", "create_event", "fetch_event",
         "sync_initial", "update_event", "sync_changes", "delete_event", "sync_deleted",
         "delete_calendar"]
doc = {"client": client, "server": name,
       "steps": {s: "error: driver did not finish: " + msg for s in steps}, "info": {}}
json.dump(doc, open(path, "w"), indent=2)
PY
}

# run_driver CLIENT NAME CMD...: one driver against one server, bounded in time.
run_driver() {
    local client=$1 name=$2
    shift 2
    local file="$out/$name.$client.json" err="$out/$name.$client.stderr"
    rm -f "$file"
    local rc=0
    (
        set -a
        # shellcheck disable=SC1090
        source "$state/$name/env"
        set +a
        unset CALDAV_PASSWORD
        export NODE_EXTRA_CA_CERTS="${CCF_CA_CERT:-}"
        exec timeout "${CCF_CLIENT_TIMEOUT:-120}" "$@" "$name" "$file"
    ) 2>"$err" || rc=$?
    if [[ ! -s $file ]]; then
        crashed "$file" "$client" "$name" "exit $rc: $(tail -n 1 "$err" | cut -c1-200)"
    fi
    "$venv/bin/python" - "$file" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
bad = [k for k, v in d["steps"].items() if v != "ok"]
first = next((k for k in bad if not str(d["steps"][k]).startswith("skipped")), None)
print(f"  {d['client']:14} {len(d['steps']) - len(bad):2}/{len(d['steps'])} ok"
      + (f", first break: {first}: {d['steps'][first][:150]}" if first else "")
      + f"  ({d.get('seconds', '?')} s)")
PY
}

case ${1:-} in
    --report)
        shift
        flags=() names=()
        for a in "$@"; do if [[ $a == --* ]]; then flags+=("$a"); else names+=("$a"); fi; done
        ((${#names[@]})) || names=("${FLEET[@]}")
        install_python
        exec "$venv/bin/python" clients/report.py --clients "$out" \
            --suite "${CCF_SUITE_RESULTS:-$repo/target/results}" --out reports/clients.md ${flags[@]+"${flags[@]}"} "${names[@]}"
        ;;
    --install)
        install_python
        install_node
        exit 0
        ;;
    "" | -*)
        echo "usage: $0 NAME... | --report [--strict] [NAME...] | --install   (names: ${FLEET[*]})" >&2
        exit 2
        ;;
esac

install_python
install_node
mkdir -p "$out"
status=0
for name in "$@"; do
    if [[ ! -f $state/$name/env ]]; then
        echo "clients: no $state/$name/env: run servers/up.sh $name first" >&2
        status=2
    fi
done
((status == 0)) || exit $status

# one_server NAME: both drivers, one after the other (a server never sees both at once).
one_server() {
    local name=$1
    echo "=== clients against $name ==="
    run_driver python-caldav "$name" "$venv/bin/python" clients/python-caldav/driver.py
    run_driver tsdav "$name" node "$tools/tsdav/driver.mjs"
}

# Servers are independent: CCF_CLIENT_JOBS of them (default 2, the machine's cores) at a time,
# each printing its summary when it is done, in the order given.
jobs=${CCF_CLIENT_JOBS:-2}
logs=$(mktemp -d)
pids=()
idx=0
for name in "$@"; do
    while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
    one_server "$name" >"$logs/$idx.txt" 2>&1 &
    pids+=($!)
    idx=$((idx + 1))
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
for ((i = 0; i < idx; i++)); do cat "$logs/$i.txt"; done
rm -rf "$logs"
exit $status
