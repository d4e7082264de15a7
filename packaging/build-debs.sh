#!/usr/bin/env bash
# Builds the Debian packages headroom-agent and headroom-collector into
# target/debian/ from a release build: the binaries in /usr/bin, their
# configs in /etc/headroom (agent.example.toml and collector.example.toml
# with packaged paths, see adapt() below), the systemd units in
# packaging/systemd/ and the maintainer scripts in packaging/debian/.
# The metadata is each crate's [package.metadata.deb].
#
#   bash packaging/build-debs.sh                          # both, version from Cargo.toml
#   bash packaging/build-debs.sh --deb-version 0.1.1-1    # extra arguments go to `cargo deb`
#
# Installs cargo-deb (pinned) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DEB_VERSION=3.8.0
if ! cargo deb --version >/dev/null 2>&1; then
  cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked
fi

# packaging/debian/changelog names the version being packaged: bump it with
# the workspace's version.
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
head -1 packaging/debian/changelog | grep -q "^headroom ($version-" || {
  echo "build-debs: packaging/debian/changelog's first entry is not version $version (Cargo.toml)" >&2
  exit 1
}

cargo build --release -p headroom-agent -p headroom-collector

# The packaged configs: the example files, whose every key is the default
# (a test keeps them honest), with paths moved to /var/lib/headroom. Each
# replacement must match exactly once, so a changed example fails the build
# instead of shipping a config with the old relative paths.
# cargo-deb reads `target/release/...` sources from the real target dir.
out=${CARGO_TARGET_DIR:-target}/release/packaging
mkdir -p "$out"
adapt() { # adapt EXAMPLE DEST HEADER [FROM TO]...
  local text header=$3 dest=$2
  text=$(<"$1")
  shift 3
  while [ $# -gt 0 ]; do
    local from=$1 to=$2 rest
    shift 2
    rest=${text#*"$from"}
    if [ "$rest" = "$text" ] || [[ $rest == *"$from"* ]]; then
      echo "build-debs: expected exactly one '$from' in the example file" >&2
      exit 1
    fi
    text=${text/"$from"/"$to"}
  done
  printf '%s\n%s\n' "$header" "$text" >"$dest"
}
adapt agent.example.toml "$out/agent.toml" \
  "# /etc/headroom/agent.toml, from the headroom-agent package (agent.example.toml
# with the spool in /var/lib/headroom). Edit the [[sources]] and [collector]
# below, then: headroom-agent check --config /etc/headroom/agent.toml
#           systemctl enable --now headroom-agent
" \
  'dir = "./headroom-spool"' 'dir = "/var/lib/headroom/agent-spool"'
adapt collector.example.toml "$out/collector.toml" \
  "# /etc/headroom/collector.toml, from the headroom-collector package
# (collector.example.toml with the data in /var/lib/headroom/collector).
# After editing: systemctl restart headroom-collector
" \
  'data_dir = "./headroom-data"' 'data_dir = "/var/lib/headroom/collector"'

# --strip: Debian ships stripped binaries (the release profile keeps line
# tables for backtraces: 100+ MB per binary unstripped).
for package in headroom-agent headroom-collector; do
  cargo deb -p "$package" --no-build --strip "$@"
done
