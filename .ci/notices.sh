#!/usr/bin/env bash
# THIRD-PARTY-NOTICES, the one notices file every release archive carries (#19): the
# hand-written credits of THIRD-PARTY-NOTICES.md (Microsoft's XPress9 reference, which the
# pbix crate follows), then the licence texts of every crate compiled into pbideploy, generated
# by cargo-about from Cargo.lock. cargo-about fails when a crate's licence is not in
# about.toml's accepted list. `--check` regenerates into a temporary file and fails when the
# committed file differs (a dependency changed without regenerating).
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
{
  cat THIRD-PARTY-NOTICES.md
  cargo about generate --locked --fail --manifest-path Cargo.toml about.hbs
} >"$out"
if [ "${1:-}" = "--check" ]; then
  if ! diff -q THIRD-PARTY-NOTICES "$out" >/dev/null; then
    echo "error: THIRD-PARTY-NOTICES is stale; regenerate it with .ci/notices.sh and commit it" >&2
    diff -u THIRD-PARTY-NOTICES "$out" | head -40 >&2 || true
    exit 1
  fi
else
  cp "$out" THIRD-PARTY-NOTICES
fi
