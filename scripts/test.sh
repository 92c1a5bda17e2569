#!/usr/bin/env bash
# scripts/test.sh: every test of the project, as CI runs it (.ci/run calls this).
#   1. cargo fmt --check and clippy -D warnings
#   2. unit and integration tests (cargo test)
#   3. the conformance suite against each real server the project provisions itself
#      (scripts/fleet.sh), each compared with its baseline servers/NAME/baseline.yaml.
# CCF_FLEET overrides the server list (space-separated names from servers/README.md).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --check
step "cargo clippy --all-targets -- -D warnings"
cargo clippy --quiet --all-targets -- -D warnings
step "cargo test"
cargo test --quiet
step "coverage table"
cargo run --quiet -- coverage | tail -n 1
# shellcheck disable=SC2206
fleet=(${CCF_FLEET:-radicale xandikos})
step "suite against: ${fleet[*]}"
bash scripts/fleet.sh "${fleet[@]}"
