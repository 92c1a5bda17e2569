#!/usr/bin/env bash
# scripts/mutation.sh: mutation testing of the scenarios (tests/mutation.rs).
#
# Starts a private Radicale 3.9.0 (scripts/private-radicale.sh; storage under
# target/mutation/) on a free port, then runs
#   cargo test --test mutation -- --ignored --nocapture
# which puts a fault-injecting proxy between the suite and that Radicale, one mutation at a
# time, and fails when any mutant is not killed by some scenario. Radicale is stopped by its PID
# on exit.
# CCF_MUTANTS="name name" restricts the run to some mutants (see the table the test prints).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

# shellcheck source=scripts/private-radicale.sh
source scripts/private-radicale.sh
CCF_LOG_PREFIX=mutation
dir="$repo/target/mutation"
rm -rf "$dir"
trap private_radicale_stop EXIT
private_radicale_start "$dir"

export CCF_MUTATION_UPSTREAM="$RADICALE_URL/"
export CCF_MUTATION_PASSWORD_FILE="$dir/password"
export CCF_MUTATION_USER=user1
cargo test --quiet --test mutation -- --ignored --nocapture
