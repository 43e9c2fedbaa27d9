#!/usr/bin/env bash
# THIRD-PARTY-NOTICES.md, the one notices file every release archive carries (#19), generated
# by cargo-about from about.hbs (which holds the hand-written credits, Microsoft's XPress9
# reference first) and the licence files of the crates in Cargo.lock.
#   .ci/notices.sh          regenerate THIRD-PARTY-NOTICES.md (commit the result)
#   .ci/notices.sh --check  fail when the committed file differs from a fresh generation
#                           (a dependency or about.hbs changed without regenerating)
#   .ci/notices.sh --check-inputs
#                           the fast check CI runs: fail when the files the notices are made
#                           from, or the notices file itself, differ from what the last
#                           regeneration recorded in .ci/notices.inputs.sha256 (no cargo-about
#                           needed: the output is a function of these files, since every crate
#                           version in Cargo.lock is immutable and checksummed)
set -euo pipefail
cd "$(dirname "$0")/.."
inputs_record=.ci/notices.inputs.sha256
# What the generation reads: the lock file (every crate and its checksum), cargo-about's config
# and template, every workspace manifest (members, their licences) and our own licence, and
# the result.
notices_inputs() {
  { echo Cargo.lock about.toml about.hbs LICENSE THIRD-PARTY-NOTICES.md
    git ls-files 'Cargo.toml' '*/Cargo.toml' | grep -v '^fuzz/'; } | tr ' ' '\n' | LC_ALL=C sort
}
if [ "${1:-}" = --check-inputs ]; then
  if [ "$(notices_inputs | xargs sha256sum)" != "$(cat "$inputs_record")" ]; then
    echo "error: THIRD-PARTY-NOTICES.md may be stale: Cargo.lock, about.toml, about.hbs, LICENSE, a Cargo.toml or the notices file changed since .ci/notices.sh last ran; run .ci/notices.sh (cargo-about 0.9.3) and commit both files" >&2
    notices_inputs | xargs sha256sum | diff "$inputs_record" - >&2 || true
    exit 1
  fi
  echo "THIRD-PARTY-NOTICES.md was generated from the committed inputs"
  exit 0
fi
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
  "")
    cp "$fresh" THIRD-PARTY-NOTICES.md
    notices_inputs | xargs sha256sum >"$inputs_record"
    ;;
  *)
    echo "usage: .ci/notices.sh [--check]" >&2
    exit 2
    ;;
esac
