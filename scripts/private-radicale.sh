# shellcheck shell=bash
# A private Radicale 3.9 for the project's own tests (safety proof, mutation test): sourced.
#   private_radicale_start DIR   start it with storage DIR/collections on a free 127.0.0.1 port,
#                                users user1/pass1 and user2/pass2 (DIR/password holds pass1),
#                                owner_only rights; sets RADICALE_URL, RADICALE_PID,
#                                RADICALE_STORAGE. The Python venv is the fleet's
#                                (servers/lib.sh ensure_venv installs it when missing).
#   private_radicale_stop        stop it by its PID (also registered for EXIT by the caller).
# shellcheck source=servers/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/servers/lib.sh"

RADICALE_PID=""

private_radicale_start() {
    local dir=$1 port
    ensure_venv
    mkdir -p "$dir/collections"
    printf 'user1:pass1\nuser2:pass2\n' >"$dir/users"
    printf 'pass1\n' >"$dir/password"
    chmod 600 "$dir/password"
    port="$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    cat >"$dir/config" <<CONF
[server]
hosts = 127.0.0.1:$port
[auth]
type = htpasswd
htpasswd_filename = $dir/users
htpasswd_encryption = plain
[rights]
type = owner_only
[storage]
filesystem_folder = $dir/collections
[logging]
level = warning
CONF
    "$VENV/bin/radicale" --config "$dir/config" >"$dir/server.log" 2>&1 &
    RADICALE_PID=$!
    RADICALE_URL="http://127.0.0.1:$port"
    RADICALE_STORAGE="$dir/collections"
    local _
    for _ in $(seq 1 100); do
        if ! kill -0 "$RADICALE_PID" 2>/dev/null; then
            cat "$dir/server.log" >&2
            die "the private Radicale exited"
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            log "private Radicale (pid $RADICALE_PID) on $RADICALE_URL/"
            return 0
        fi
        sleep 0.1
    done
    die "the private Radicale does not answer on $RADICALE_URL"
}

private_radicale_stop() {
    if [[ -n $RADICALE_PID ]] && kill -0 "$RADICALE_PID" 2>/dev/null; then
        kill "$RADICALE_PID" 2>/dev/null || true
        wait "$RADICALE_PID" 2>/dev/null || true
    fi
    RADICALE_PID=""
}
