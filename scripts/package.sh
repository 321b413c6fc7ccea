#!/usr/bin/env bash
# Builds what tailpulse ships: the crates' packages (target/package/*.crate, which build with
# `cargo install` and no Node.js) and a Debian package (target/debian/tailpulse_*.deb, with the
# systemd unit, the default configuration, the man page and the shell completions).
#
# usage: scripts/package.sh      (needs npm for Chart.js, and cargo-deb: cargo install cargo-deb)
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}

[ -f node_modules/chart.js/dist/chart.umd.min.js ] || npm ci --no-audit --no-fund --ignore-scripts
mkdir -p assets pkg/generated
cp node_modules/chart.js/dist/chart.umd.min.js assets/
git rev-parse --short=12 HEAD > assets/revision

cargo build --release --locked
bin="$target/release/tailpulse"
"$bin" man | gzip -9n > pkg/generated/tailpulse.1.gz
"$bin" completions bash > pkg/generated/tailpulse.bash
"$bin" completions zsh > pkg/generated/_tailpulse
"$bin" completions fish > pkg/generated/tailpulse.fish

cargo deb --no-build --locked
# assets/ is not in git (Chart.js comes from npm), so the tree counts as dirty.
cargo package --workspace --locked --allow-dirty --no-verify
ls -l "$target"/debian/*.deb "$target"/package/*.crate
