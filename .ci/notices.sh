#!/usr/bin/env bash
# THIRD-PARTY-NOTICES.md, the one notices file every release archive carries (#19), generated
# by cargo-about from about.hbs (which holds the hand-written credits, Microsoft's XPress9
# reference first) and the licence files of the crates in Cargo.lock.
#   .ci/notices.sh          regenerate THIRD-PARTY-NOTICES.md (commit the result)
#   .ci/notices.sh --check  fail when the committed file differs from a fresh generation
#                           (a dependency or about.hbs changed without regenerating)
set -euo pipefail
cd "$(dirname "$0")/.."
fresh="$(mktemp)"
trap 'rm -f "$fresh"' EXIT
# Every crate of the graph is fetched first (those of other platforms too, which a build here
# never downloads); then --frozen: no network, licence texts come from the crates' own files
# in the local registry cache, so the output is the same on every machine.
cargo fetch --locked
cargo about generate --frozen --fail --config about.toml --output-file "$fresh" about.hbs
case "${1:-}" in
  --check)
    if ! diff -q THIRD-PARTY-NOTICES.md "$fresh" >/dev/null; then
      echo "error: THIRD-PARTY-NOTICES.md is stale: run .ci/notices.sh and commit the result" >&2
      diff -u THIRD-PARTY-NOTICES.md "$fresh" | head -40 >&2 || true
      exit 1
    fi
    echo "THIRD-PARTY-NOTICES.md is up to date"
    ;;
  "") cp "$fresh" THIRD-PARTY-NOTICES.md ;;
  *)
    echo "usage: .ci/notices.sh [--check]" >&2
    exit 2
    ;;
esac
