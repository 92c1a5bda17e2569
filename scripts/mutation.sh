#!/usr/bin/env bash
# scripts/mutation.sh: mutation testing of the scenarios (tests/mutation.rs).
#
# Starts a private Radicale 3.9.0 (its own config, htpasswd user1:pass1, owner_only rights,
# storage under target/mutation/) on a free port in 5400-5499, then runs
#   cargo test --test mutation -- --ignored --nocapture
# which puts a fault-injecting proxy between the suite and that Radicale, one mutation at a
# time, and fails when any mutant is not killed by some scenario. Radicale is stopped by its PID
# on exit. Needs python3 (with venv) the first time, to install Radicale into target/fleet/venv.
# CCF_MUTANTS="name name" restricts the run to some mutants (see the table the test prints).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

# The fleet's venv (servers/lib.sh) when it is there; created with Radicale otherwise.
venv="$repo/target/fleet/venv"
if [[ ! -x $venv/bin/python ]]; then
    if ! python3 -m venv "$venv" 2>/dev/null; then
        rm -rf "$venv"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        python3 -m venv "$venv"
    fi
fi
if [[ $("$venv/bin/python" -c 'from importlib.metadata import version; print(version("radicale"))' 2>/dev/null) != 3.9.0 ]]; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check radicale==3.9.0
fi

dir="$repo/target/mutation"
rm -rf "$dir"
mkdir -p "$dir/collections"
echo "user1:pass1" >"$dir/users"
printf 'pass1\n' >"$dir/password"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=""
for p in $(seq 5400 5499); do
    if port_free "$p"; then port=$p; break; fi
done
[[ -n $port ]] || { echo "mutation.sh: no free port in 5400-5499" >&2; exit 1; }

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

pid=""
stop() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}
trap stop EXIT

"$venv/bin/radicale" --config "$dir/config" >"$dir/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "mutation.sh: Radicale exited; see $dir/server.log:" >&2
        cat "$dir/server.log" >&2
        exit 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.1
done
echo "mutation.sh: private Radicale (pid $pid) on http://127.0.0.1:$port/"

export CCF_MUTATION_UPSTREAM="http://127.0.0.1:$port/"
export CCF_MUTATION_PASSWORD_FILE="$dir/password"
export CCF_MUTATION_USER=user1
cargo test --quiet --test mutation -- --ignored --nocapture
