# shellcheck shell=bash
# Shared helpers for servers/up.sh and servers/down.sh. Sourced, not run.
#
# Every server NAME gets a state folder $STATE/NAME holding its config, data, logs,
# `env` (what the harness sources), `password` and `pids` (one PID a line: exactly the
# processes up.sh started; down.sh stops those and their descendants, nothing else).

set -euo pipefail

SERVERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$SERVERS_DIR/.." && pwd)"
STATE="${CCF_STATE:-$REPO_DIR/target/fleet}"
export DEBIAN_FRONTEND=noninteractive

# Variables below are used by the scripts that source this file.
# shellcheck disable=SC2034
# Every server name up.sh knows.
ALL_SERVERS=(radicale xandikos xandikos-tls sabre sabre-digest davical cyrus sogo calypso davserver
    radicale-nginx radicale-badproxy)

# Users every server is provisioned with.
# shellcheck disable=SC2034
USERS=(user1 user2)
declare -A PASSWORDS=([user1]=pass1 [user2]=pass2)

log() { printf '[%s] %s\n' "${CCF_LOG_PREFIX:-servers}" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "${CCF_LOG_PREFIX:-servers}" "$*" >&2; exit 1; }

# ---------------------------------------------------------------- packages

_APT_UPDATED=0

# pkg_installed PKG: true when dpkg has PKG fully installed.
pkg_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

# pkg_version PKG: the installed Debian version of PKG.
pkg_version() { dpkg-query -W -f='${Version}' "$1"; }

# ensure_apt PKG...: install the missing ones (apt-get update at most once per run, and
# only when something is missing). Services that packages would start on install
# (postgresql, memcached, exim4...) are kept from starting with a temporary policy-rc.d:
# we run private instances on our own ports instead.
ensure_apt() {
    local missing=() p
    for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
    ((${#missing[@]})) || return 0
    [[ $EUID -eq 0 ]] || die "need root to apt-get install ${missing[*]}"
    mkdir -p "$STATE"
    local aptlog="$STATE/apt.log"
    if ((!_APT_UPDATED)); then
        log "apt-get update"
        apt-get update -qq >>"$aptlog" 2>&1 || { tail -n 20 "$aptlog" >&2; die "apt-get update failed"; }
        _APT_UPDATED=1
    fi
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        made_policy=1
    fi
    log "apt-get install ${missing[*]} (log: $aptlog)"
    local rc=0 t0=$SECONDS
    apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$aptlog" 2>&1 || rc=$?
    ((made_policy)) && rm -f "$policy"
    ((rc == 0)) || { tail -n 30 "$aptlog" >&2; die "apt-get install ${missing[*]} failed (exit $rc)"; }
    log "installed in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------- python venv

VENV="$STATE/venv"
PY_PINS=(radicale==3.9.0 xandikos==0.4.10 cryptography)

# ensure_venv: $STATE/venv with Radicale and Xandikos, shared by both and reused.
ensure_venv() {
    mkdir -p "$STATE"
    if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
        rm -rf "$VENV"
        log "creating $VENV"
        if ! python3 -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            ensure_apt python3-venv
            /usr/bin/python3 -m venv "$VENV"
        fi
    fi
    if ! "$VENV/bin/python" - "${PY_PINS[@]}" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import version
for pin in sys.argv[1:]:
    name, _, want = pin.partition("==")
    have = version(name)
    if want and have != want:
        sys.exit(1)
PY
        log "pip install ${PY_PINS[*]}"
        "$VENV/bin/pip" install -q --disable-pip-version-check "${PY_PINS[@]}" >&2
    fi
}

# py_version DIST: installed version of a distribution in the venv.
py_version() {
    "$VENV/bin/python" -c 'import sys; from importlib.metadata import version; print(version(sys.argv[1]))' "$1"
}

# ---------------------------------------------------------------- processes

# port_in_use PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# require_free_port PORT NAME: fail clearly instead of killing whoever holds it.
require_free_port() {
    if port_in_use "$1"; then
        die "port $1 (needed by $2) is already in use on 127.0.0.1; not touching it. Stop whatever listens there (servers/down.sh $2 if it is ours) and retry."
    fi
}

pid_alive() { [[ -n ${1:-} && -d /proc/$1 ]] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# children_of PID: direct children, from /proc (works without procps).
children_of() {
    local stat pid rest ppid
    for stat in /proc/[0-9]*/stat; do
        [[ -r $stat ]] || continue
        # Field 2 (comm) may contain spaces: strip through the last ')'.
        rest="$(cat "$stat" 2>/dev/null)" || continue
        pid="${rest%% *}"
        rest="${rest##*) }"
        read -r _ ppid _ <<<"$rest"
        [[ $ppid == "$1" ]] && printf '%s\n' "$pid"
    done
    return 0
}

# descendants_of PID: all descendants, deepest last.
descendants_of() {
    local c
    for c in $(children_of "$1"); do
        printf '%s\n' "$c"
        descendants_of "$c"
    done
}

# start_bg NAME LOGFILE CMD...: start CMD detached (own session, stdin closed), record its PID.
start_bg() {
    local name=$1 logfile=$2
    shift 2
    setsid "$@" >>"$logfile" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >>"$STATE/$name/pids"
    log "started $1 (pid $pid), log $logfile"
}

# wait_http NAME URL LOGFILE [SECONDS]: wait until URL gives any HTTP answer.
wait_http() {
    local name=$1 url=$2 logfile=$3 limit=${4:-60} start=$SECONDS code pid
    while :; do
        code="$(curl -sk -o /dev/null -m 5 -w '%{http_code}' "$url" 2>/dev/null || true)"
        [[ -n $code && $code != 000 ]] && { log "$name answers HTTP $code at $url after $((SECONDS - start)) s"; return 0; }
        while read -r pid; do
            [[ -z $pid ]] && continue
            if ! pid_alive "$pid"; then
                log "$name: process $pid died; last lines of $logfile:"
                tail -n 30 "$logfile" >&2 || true
                die "$name did not start"
            fi
        done <"$STATE/$name/pids"
        if ((SECONDS - start >= limit)); then
            log "$name: no HTTP answer at $url within $limit s; last lines of $logfile:"
            tail -n 30 "$logfile" >&2 || true
            die "$name did not answer in time (processes left running; servers/down.sh $name stops them)"
        fi
        sleep 0.3
    done
}

# stop_grace NAME: seconds between SIGTERM and SIGKILL. sogod's watchdog waits forever for
# its worker, which ignores SIGTERM, so waiting long for it gains nothing.
stop_grace() {
    case "$1" in
    sogo) echo "${CCF_STOP_GRACE:-2}" ;;
    *) echo "${CCF_STOP_GRACE:-5}" ;;
    esac
}

# stop_pids FILE [GRACE]: SIGTERM the PIDs in FILE and all their descendants, SIGKILL
# whatever is left after GRACE seconds (default 5).
stop_pids() {
    local file=$1 grace=${2:-${CCF_STOP_GRACE:-5}} pid all=() p deadline
    [[ -f $file ]] || return 0
    while read -r pid; do
        [[ $pid =~ ^[0-9]+$ ]] || continue
        pid_alive "$pid" || continue
        # Collect descendants before signalling: once a parent dies its children are
        # re-parented and can no longer be found by PPID (php -S workers, sogod workers).
        all+=("$pid")
        while read -r p; do [[ -n $p ]] && all+=("$p"); done < <(descendants_of "$pid")
    done <"$file"
    if ((${#all[@]})); then
        kill -TERM "${all[@]}" 2>/dev/null || true
        deadline=$((SECONDS + grace))
        while ((SECONDS < deadline)); do
            local alive=0
            for p in "${all[@]}"; do pid_alive "$p" && alive=1; done
            ((alive)) || break
            sleep 0.2
        done
        for p in "${all[@]}"; do
            if pid_alive "$p"; then
                log "pid $p ignored SIGTERM: SIGKILL"
                kill -KILL "$p" 2>/dev/null || true
            fi
        done
    fi
    : >"$file"
}

# any_alive FILE: true when some PID in FILE is alive.
any_alive() {
    local pid
    [[ -f $1 ]] || return 1
    while read -r pid; do
        [[ $pid =~ ^[0-9]+$ ]] && pid_alive "$pid" && return 0
    done <"$1"
    return 1
}

# fresh_state NAME: stop a previous instance of NAME (our PIDs only) and wipe its folder.
fresh_state() {
    local dir="$STATE/$1"
    if any_alive "$dir/pids"; then
        log "$1 is already running: stopping it first (recorded PIDs only)"
        stop_pids "$dir/pids" "$(stop_grace "$1")"
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    : >"$dir/pids"
}

# env_value VALUE: VALUE as is when it is plainly safe, else in double quotes (escaped), so
# the env file reads the same to `source` and to a simple KEY=VALUE parser.
env_value() {
    if [[ $1 =~ ^[A-Za-z0-9_./:@%+,=-]*$ ]]; then
        printf '%s' "$1"
    else
        local s=${1//\\/\\\\}
        s=${s//\"/\\\"}
        s=${s//\$/\\\$}
        s=${s//\`/\\\`}
        printf '"%s"' "$s"
    fi
}

# env_line KEY VALUE
env_line() { printf '%s=%s\n' "$1" "$(env_value "$2")"; }

# write_env NAME URL AUTH VERSION [KEY=VALUE...]: the harness's view of a started server.
write_env() {
    local name=$1 url=$2 auth=$3 version=$4 dir="$STATE/$1"
    shift 4
    printf '%s\n' "${PASSWORDS[user1]}" >"$dir/password"
    chmod 600 "$dir/password"
    {
        echo "# written by servers/up.sh $name"
        env_line CALDAV_URL "$url"
        env_line CALDAV_USER user1
        env_line CCF_PASSWORD_FILE "$dir/password"
        env_line CCF_AUTH "$auth"
        env_line CCF_SERVER_VERSION "$version"
        local kv
        for kv in "$@"; do env_line "${kv%%=*}" "${kv#*=}"; done
    } >"$dir/env"
}

# render TEMPLATE OUT VAR...: copy TEMPLATE to OUT replacing @VAR@ with the value of $VAR.
render() {
    local tmpl=$1 out=$2 content v
    shift 2
    content="$(<"$tmpl")"
    for v in "$@"; do content="${content//@$v@/${!v}}"; done
    printf '%s\n' "$content" >"$out"
}

# ensure_traversable DIR: let unprivileged service users (postgres, cyrus, sogo) reach DIR,
# by adding o+x to any ancestor that lacks it (e.g. a repo checked out under /root).
ensure_traversable() {
    local d=$1
    while [[ $d != / ]]; do
        d="$(dirname "$d")"
        if [[ "$(stat -c %A "$d")" != *x ]]; then
            log "chmod o+x $d (so service users can reach $1)"
            chmod o+x "$d"
        fi
    done
}

# ---------------------------------------------------------------- shared PostgreSQL

# One private cluster (port 5433, socket folder $STATE/pg/sock, trust auth, 127.0.0.1 only)
# shared by davical and sogo. It is its own entry `pg` in $STATE: down.sh stops it when the
# last of its users stops (or with `down.sh pg` / `down.sh all`).
PG_PORT=5433
PG_DIR="$STATE/pg"
PG_SOCK="$PG_DIR/sock"
# shellcheck disable=SC2034
PG_USERS=(davical sogo)

# pg_bindir: the newest installed PostgreSQL server's bin folder.
pg_bindir() {
    local d best=""
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x $d/postgres ]] || continue
        if [[ -z $best ]] || [[ "$(printf '%s\n%s\n' "$best" "$d" | sort -V | tail -n 1)" == "$d" ]]; then best=$d; fi
    done
    [[ -n $best ]] || return 1
    printf '%s\n' "$best"
}

# pg_version: e.g. 15.18
pg_version() { "$(pg_bindir)/postgres" --version | awk '{print $3}'; }

as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

# psql_pg ARGS...: psql as the superuser on the private cluster.
psql_pg() { as_postgres env PGOPTIONS=--client-min-messages=warning psql -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U postgres "$@"; }

ensure_pg() {
    ensure_apt postgresql
    local bin
    bin="$(pg_bindir)" || die "no PostgreSQL server binaries under /usr/lib/postgresql"
    if any_alive "$PG_DIR/pids" && as_postgres "$bin/pg_isready" -q -h "$PG_SOCK" -p "$PG_PORT"; then
        return 0
    fi
    [[ -f $PG_DIR/pids ]] && stop_pids "$PG_DIR/pids"
    require_free_port "$PG_PORT" "pg (PostgreSQL for davical/sogo)"
    rm -rf "$PG_DIR"
    mkdir -p "$PG_DIR/data" "$PG_SOCK"
    : >"$PG_DIR/pids"
    chown -R postgres:postgres "$PG_DIR"
    ensure_traversable "$PG_DIR"
    log "initdb private PostgreSQL cluster in $PG_DIR/data"
    as_postgres "$bin/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 ||
        { tail -n 20 "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
    touch "$PG_DIR/postgres.log"
    chown postgres:postgres "$PG_DIR/postgres.log"
    start_bg pg "$PG_DIR/postgres.log" setpriv --reuid=postgres --regid=postgres --init-groups \
        "$bin/postgres" -D "$PG_DIR/data" -p "$PG_PORT" -k "$PG_SOCK" \
        -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off
    local start=$SECONDS
    until as_postgres "$bin/pg_isready" -q -h "$PG_SOCK" -p "$PG_PORT"; do
        any_alive "$PG_DIR/pids" || { tail -n 20 "$PG_DIR/postgres.log" >&2; die "PostgreSQL died"; }
        ((SECONDS - start < 60)) || { tail -n 20 "$PG_DIR/postgres.log" >&2; die "PostgreSQL not ready in 60 s"; }
        sleep 0.3
    done
    log "PostgreSQL $(pg_version) ready on 127.0.0.1:$PG_PORT"
}
