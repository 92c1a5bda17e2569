#!/usr/bin/env bash
# servers/down.sh NAME [NAME...] | all
#
# Stop the processes whose PIDs servers/up.sh recorded in $STATE/NAME/pids, plus their
# descendants (found by PPID: php -S workers, sogod workers, cyrus services...):
# SIGTERM, then SIGKILL after a few seconds. Never kills anything by name.
# The private PostgreSQL cluster (`pg`, shared by davical and sogo) is stopped when the
# last of those two stops.
set -euo pipefail
# shellcheck source=servers/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CCF_LOG_PREFIX=down

(($#)) || { echo "usage: $0 NAME [NAME...] | all" >&2; exit 2; }

names=()
if [[ $* == all ]]; then
    for d in "$STATE"/*/; do
        n="$(basename "$d")"
        [[ -f $d/pids && $n != pg ]] && names+=("$n")
    done
    [[ -f $STATE/pg/pids ]] && names+=(pg)
else
    names=("$@")
fi

for name in "${names[@]}"; do
    [[ $name =~ ^[a-z0-9-]+$ ]] || { log "skipping odd name '$name'"; continue; }
    pidfile="$STATE/$name/pids"
    if [[ ! -f $pidfile ]]; then
        log "$name: nothing recorded ($pidfile missing)"
        continue
    fi
    if any_alive "$pidfile"; then
        stop_pids "$pidfile" "$(stop_grace "$name")"
        log "$name stopped"
    else
        : >"$pidfile"
        log "$name was not running"
    fi
    if [[ " ${PG_USERS[*]} " == *" $name "* ]] && any_alive "$PG_DIR/pids"; then
        others=0
        for u in "${PG_USERS[@]}"; do any_alive "$STATE/$u/pids" && others=1; done
        if ((!others)); then
            stop_pids "$PG_DIR/pids"
            log "pg (private PostgreSQL) stopped: no user left"
        fi
    fi
done
