#!/usr/bin/env bash
# CI's check of what tailpulse ships (needs root for dpkg): builds the packages with
# scripts/package.sh, installs the .deb, checks the unit, the binary, the configuration and
# the man page from their installed paths, removes the package, then builds the crate's
# package with `cargo install` while any call to npm fails.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}

command -v cargo-deb >/dev/null || cargo install cargo-deb --locked --version 3.8.0
scripts/package.sh

echo "== the crate's package carries Chart.js and the revision"
cargo package -p tailpulse --list --locked --allow-dirty 2>/dev/null | tee "$target/package-list.txt" \
  | grep -x 'assets/chart.umd.min.js'
grep -qx 'assets/revision' "$target/package-list.txt"
if grep -q '^node_modules/' "$target/package-list.txt"; then
  echo "node_modules is in the package" >&2; exit 1
fi

deb=$(ls "$target"/debian/tailpulse_*.deb | head -1)
echo "== dpkg -i $deb"
dpkg -i "$deb"
trap 'dpkg -r tailpulse >/dev/null 2>&1 || true' EXIT
test -x /usr/bin/tailpulse
version=$(/usr/bin/tailpulse --version)
echo "$version"
grep -q "$(cat assets/revision)" <<<"$version"
/usr/bin/tailpulse config check /etc/tailpulse/tailpulse.toml
unit=/usr/lib/systemd/system/tailpulse.service
test -f "$unit"
if command -v systemd-analyze >/dev/null; then
  echo "== systemd-analyze verify"
  systemd-analyze verify "$unit"
  # The unit's exposure score: hardened units score low (0 is best, 10 worst).
  systemd-analyze security --offline=true "$unit" 2>/dev/null | tail -1 || true
fi
zcat /usr/share/man/man1/tailpulse.1.gz | grep -q '^\.TH tailpulse'
grep -q 'complete -F' /usr/share/bash-completion/completions/tailpulse
/usr/bin/tailpulse analyze --output json tests/fixtures/combined.log | grep -q '"requests": 3000'

echo "== dpkg -r"
dpkg -r tailpulse
trap - EXIT
test ! -e /usr/bin/tailpulse

echo "== cargo install from the crate's package, offline, with no npm"
# Outside the checkout, which is a workspace the package is not part of.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src" "$work/bin"
for c in "$target"/package/*.crate; do tar xzf "$c" -C "$work/src"; done
printf '#!/bin/sh\necho "npm was called" >&2\nexit 1\n' > "$work/bin/npm"
chmod +x "$work/bin/npm"
core=$(ls -d "$work"/src/tailpulse-core-*)
PATH="$work/bin:$PATH" cargo install --offline --locked \
  --path "$(ls -d "$work"/src/tailpulse-[0-9]*)" --root "$work/root" --target-dir "$(cd "$target" && pwd)" \
  --config "patch.crates-io.tailpulse-core.path=\"$core\""
"$work/root/bin/tailpulse" --version | grep -q "$(cat assets/revision)"
"$work/root/bin/tailpulse" analyze --output json tests/fixtures/combined.log | grep -q '"requests": 3000'
echo "packages ok"
