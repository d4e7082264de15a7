#!/usr/bin/env bash
# The container image (Containerfile) and compose.yaml's headroom services,
# with podman: builds the image's runtime stage around the release binaries
# of this checkout, then runs a collector and an agent from it the way
# compose.yaml does (its configs, environment, network aliases, volumes)
# and checks they run unprivileged, talk, and stop cleanly on SIGTERM.
#
# What this machine cannot do is printed as SKIPPED with the reason:
# Docker Hub is unreachable, so the Debian base is made with debootstrap
# (cached in target/container-base/) instead of pulled, the build stage
# (FROM rust) is replaced by the host's release build (same Debian 12), and
# compose.yaml's postgres and redis services cannot start.
#
# Leaves podman as found: its images, containers, volumes and network are
# removed at exit; settings come from a private CONTAINERS_CONF.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
skip() {
  echo "SKIPPED: $*"
  exit 0
}
step() { printf '\n== %s (%ss)\n' "$*" "$(($(date +%s) - started))"; }

command -v podman >/dev/null || skip "podman is not installed (scripts/setup-tests.sh installs it)"
command -v debootstrap >/dev/null || skip "debootstrap is not installed (scripts/setup-tests.sh installs it)"

work=$(mktemp -d)
# runc: crun refuses this machine's cgroup layout (v1 with a v2 mount,
# "cgroups in hybrid mode not supported"); the ulimits podman sets by default
# are above this machine's hard limits, which runc may not raise.
cat >"$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=4096:4096"]
[engine]
runtime = "runc"
events_logger = "file"
EOF
export CONTAINERS_CONF=$work/containers.conf
podman info >/dev/null 2>&1 || skip "podman cannot run here: $(podman info 2>&1 | tail -1)"

id=$$
image=localhost/headroom-test:$id
base=localhost/headroom-test-debian:$id
binaries=localhost/headroom-test-binaries:$id
network=headroom-test-$id
collector=headroom-test-collector-$id
agent=headroom-test-agent-$id
pulled=
cleanup() {
  local status=$?
  podman rm -f -t 0 "$agent" "$collector" >/dev/null 2>&1 || true
  podman volume rm -f "$collector-data" "$agent-spool" >/dev/null 2>&1 || true
  podman network rm -f "$network" >/dev/null 2>&1 || true
  podman rmi -f "$image" "$binaries" "$base" ${pulled:+"$pulled"} >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT

# --- The Debian base ---------------------------------------------------------
step "base image"
hub=reachable
if podman pull -q docker.io/library/debian:bookworm-slim >"$work/pull.log" 2>&1; then
  podman tag docker.io/library/debian:bookworm-slim "$base"
  pulled=docker.io/library/debian:bookworm-slim
  echo "pulled docker.io/library/debian:bookworm-slim"
else
  hub="unreachable"
  echo "SKIPPED: pulling docker.io/library/debian:bookworm-slim: $(tail -1 "$work/pull.log")"
  echo "         instead: Debian 12 minbase from debootstrap, imported"
  rootfs_tar=target/container-base/bookworm-minbase.tar
  if [ ! -s "$rootfs_tar" ]; then
    mkdir -p target/container-base
    rm -rf "$work/rootfs"
    debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
      fail "debootstrap: $(tail -5 "$work/debootstrap.log")"
    tar -C "$work/rootfs" -cf "$rootfs_tar.tmp" .
    mv "$rootfs_tar.tmp" "$rootfs_tar"
    rm -rf "$work/rootfs"
  fi
  podman import -q "$rootfs_tar" "$base" >/dev/null
fi

# --- The image -----------------------------------------------------------------
step "build the image"
echo "SKIPPED: the build stage (FROM docker.io/library/rust, Docker Hub): the runtime stage takes"
echo "         this checkout's release binaries instead (Containerfile's BINARIES argument)"
cargo build --release -p headroom-agent -p headroom-collector
mkdir -p "$work/binaries/out"
cp target/release/headroom-agent target/release/headroom-collector "$work/binaries/out/"
strip "$work/binaries/out/"*
printf 'FROM scratch\nCOPY out /out\n' >"$work/binaries/Containerfile"
podman build -q -t "$binaries" "$work/binaries" >/dev/null
podman build -t "$image" --build-arg BINARIES="$binaries" --build-arg DEBIAN_IMAGE="$base" \
  -f Containerfile . >"$work/build.log" 2>&1 || fail "podman build: $(tail -20 "$work/build.log")"
podman image ls "$image"

uid=$(podman run --rm "$image" id -u)
[ "$uid" = 10001 ] || fail "the image runs as uid $uid, not the unprivileged headroom (10001)"
podman run --rm "$image" sh -c 'ls /usr/bin/headroom-*; headroom-agent --version; headroom-collector --version'

# --- compose.yaml's headroom services ----------------------------------------------
step "collector and agent as compose.yaml runs them"
python3 - compose.yaml >"$work/compose.env" <<'EOF'
# compose.yaml's collector and agent: their environment variable names and
# commands, checked against what this test runs.
import sys, yaml
services = yaml.safe_load(open(sys.argv[1]))["services"]
for name in ("collector", "agent"):
    service = services[name]
    for mount in service["volumes"]:
        source = mount.split(":")[0]
        if source.startswith("./"):
            open(source)  # a bind-mounted config that does not exist fails here
    print(f"{name}_command=\"{' '.join(service['command'])}\"")
    print(f"{name}_env=\"{' '.join(sorted(service['environment']))}\"")
EOF
# shellcheck disable=SC1091
. "$work/compose.env"
[ "$collector_env" = "HEADROOM_AGENT_TOKENS HEADROOM_DASHBOARD_TOKEN" ] || fail "compose.yaml's collector env: $collector_env"
[ "$agent_env" = "HEADROOM_AGENT_TOKEN" ] || fail "compose.yaml's agent env: $agent_env"

agent_token=test-agent-token-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
dashboard_token=test-dashboard-token-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
http_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
podman network create "$network" >/dev/null
# shellcheck disable=SC2086
podman run -d --name "$collector" --network "$network" --network-alias collector \
  -e HEADROOM_AGENT_TOKENS="$agent_token" -e HEADROOM_DASHBOARD_TOKEN="$dashboard_token" \
  -v "$PWD/packaging/container/collector.toml:/etc/headroom/collector.toml:ro" \
  -v "$collector-data:/var/lib/headroom" -p "127.0.0.1:$http_port:8080" \
  "$image" $collector_command >/dev/null
# shellcheck disable=SC2086
podman run -d --name "$agent" --network "$network" --network-alias agent \
  -e HEADROOM_AGENT_TOKEN="$agent_token" \
  -v "$PWD/packaging/container/agent.toml:/etc/headroom/agent.toml:ro" \
  -v "$agent-spool:/var/lib/headroom" -v /proc:/host/proc:ro \
  "$image" $agent_command >/dev/null

api() { curl -fsS -H "Authorization: Bearer $dashboard_token" "http://127.0.0.1:$http_port$1"; }
for _ in $(seq 1 300); do
  api /api/v1/agents 2>/dev/null | grep -q '"id":"store-1"' && api /api/v1/agents | grep -q '"points":[1-9]' && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$http_port/healthz" >/dev/null || fail "no /healthz: $(podman logs --tail 20 "$collector" 2>&1)"
api /api/v1/agents | grep -q '"points":[1-9]' ||
  fail "no points from the agent: $(podman logs --tail 20 "$agent" 2>&1)"
echo "the agent (store-1) streams to the collector over the compose network with its token"
api '/api/v1/series?name=host_cpus&agent=store-1&from=0&to=9999999999999' | grep -q '"points":\[\[' ||
  fail "no host series (the agent's host source reads /host/proc)"
echo "the host source reads the host's /proc at /host/proc"

step "SIGTERM (podman stop)"
podman stop -t 30 "$agent" >/dev/null
podman stop -t 30 "$collector" >/dev/null
for name in "$agent" "$collector"; do
  code=$(podman inspect -f '{{.State.ExitCode}}' "$name")
  [ "$code" = 0 ] || fail "$name exited $code: $(podman logs --tail 10 "$name" 2>&1)"
done
podman logs "$agent" 2>&1 | grep -q 'every batch was acknowledged' ||
  fail "the agent did not flush its spool: $(podman logs --tail 10 "$agent" 2>&1)"
echo "both exited 0; the agent's spool was flushed"

# compose.yaml's own postgres and redis services come from Docker Hub.
echo "SKIPPED: \`compose up\` as a whole (postgres:15, redis:7; Docker Hub $hub): its"
echo "         collector and agent ran above with its configs, environment and aliases"
echo "tests/container.sh: passed in $(($(date +%s) - started))s"
