#!/usr/bin/env bash
# The GitHub Action's install step (#19), a script so that it can be tested outside Actions.
# Downloads the pinned release archive of pbideploy and its `.sha256` file, refuses the
# archive unless the checksum matches, unpacks it into the runner's tool cache (a later job
# on the same runner reuses it) and puts the binary on GITHUB_PATH.
#
# Environment: PBIDEPLOY_VERSION (required, e.g. 0.1.0 or v0.1.0), PBIDEPLOY_RELEASES_URL
# (base of the release downloads; default: this action's repository releases),
# PBIDEPLOY_TARGET (default: the runner's Linux/macOS triple), RUNNER_TOOL_CACHE,
# GITHUB_PATH, GITHUB_OUTPUT (set by the runner).
set -euo pipefail

version="${PBIDEPLOY_VERSION:-}"
version="${version#v}"
if [[ ! "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]]; then
  echo "error: input 'version' must be a pinned release such as 0.1.0, got '${PBIDEPLOY_VERSION:-}'" >&2
  exit 2
fi

target="${PBIDEPLOY_TARGET:-}"
if [ -z "$target" ]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) target=x86_64-unknown-linux-musl ;;
    Linux-aarch64 | Linux-arm64) target=aarch64-unknown-linux-musl ;;
    Darwin-x86_64) target=x86_64-apple-darwin ;;
    Darwin-arm64) target=aarch64-apple-darwin ;;
    *)
      echo "error: no pbideploy release for $(uname -s) $(uname -m); set input 'target' or install from source" >&2
      exit 2
      ;;
  esac
fi

base="${PBIDEPLOY_RELEASES_URL:-https://github.com/${GITHUB_ACTION_REPOSITORY:-pbideploy/pbideploy}/releases/download}"
archive="pbideploy-${target}.tar.xz"
cache="${RUNNER_TOOL_CACHE:?RUNNER_TOOL_CACHE is not set}/pbideploy/${version}/${target}"
bin_dir="${cache}/pbideploy-${target}"

if [ ! -x "${bin_dir}/pbideploy" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  url="${base}/v${version}/${archive}"
  curl --fail --silent --show-error --location --retry 3 -o "${work}/${archive}" "$url"
  curl --fail --silent --show-error --location --retry 3 -o "${work}/${archive}.sha256" "${url}.sha256"
  expected="$(awk 'NR == 1 { print $1 }' "${work}/${archive}.sha256")"
  actual="$(sha256sum "${work}/${archive}" | awk '{ print $1 }')"
  if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then
    echo "error: checksum mismatch for ${url}: expected '${expected}', got '${actual}'; refusing to install" >&2
    exit 1
  fi
  mkdir -p "${work}/unpack"
  tar -xJf "${work}/${archive}" -C "${work}/unpack"
  if [ ! -x "${work}/unpack/pbideploy-${target}/pbideploy" ]; then
    echo "error: ${archive} has no pbideploy-${target}/pbideploy" >&2
    exit 1
  fi
  # Move into place only once complete, so an interrupted install never looks cached.
  mkdir -p "$cache"
  rm -rf "$bin_dir"
  mv "${work}/unpack/pbideploy-${target}" "$bin_dir"
fi

echo "$bin_dir" >>"${GITHUB_PATH:?GITHUB_PATH is not set}"
echo "path=${bin_dir}/pbideploy" >>"${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"
