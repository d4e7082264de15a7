#!/usr/bin/env bash
# What the tests need on a fresh machine of this project's kind (Debian 12
# with the Rust toolchain, PostgreSQL on 5432 and Redis on 6379, run as
# root): installed and started idempotently, so a second run only checks.
# Called by scripts/test.sh (the README's test command) and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

# Debian packages: psql (fresh test databases), initdb and pg_ctl (private
# clusters with pg_stat_statements preloaded) and redis-cli. Install only what is missing,
# and run `apt-get update` at most once.
apt_updated=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$apt_updated" -eq 0 ]; then
    apt-get update -qq
    apt_updated=1
  fi
  apt-get install -y -qq "${missing[@]}"
}
# libclang-dev: bindgen for pg_query (the agent parses statements with
# PostgreSQL's own parser); hypopg: hypothetical indexes to verify advice;
# chromium and chromium-driver: the dashboard's browser tests; prometheus:
# promtool checks /metrics; wrk: the dashboard benchmark.
apt_install postgresql-15 postgresql-client-15 redis-tools libclang-dev postgresql-15-hypopg \
  chromium chromium-driver prometheus wrk
# The packages and the image (tests/packages.sh, tests/container.sh): lintian,
# systemd-analyze (systemd), adduser for the maintainer scripts, curl for
# /healthz; podman with runc, debootstrap for a Debian base without Docker
# Hub, python3-yaml to read compose.yaml.
apt_install lintian systemd adduser curl podman runc debootstrap python3-yaml

# The machine's PostgreSQL (127.0.0.1:5432, trust auth): start it if stopped.
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432

# The machine's Redis (127.0.0.1:6379, nothing kept on disk): start it if stopped.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping

# The real OpenTelemetry Python SDK for tests/tests/otlp.rs (which finds it in
# target/otlp-venv, or creates it there itself): skipped when already present.
otlp_venv=target/otlp-venv
if ! "$otlp_venv/bin/python" -c 'import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.grpc' >/dev/null 2>&1; then
  rm -rf "$otlp_venv"
  python3 -m venv "$otlp_venv" || { apt_install python3-venv; rm -rf "$otlp_venv"; python3 -m venv "$otlp_venv"; }
  "$otlp_venv/bin/pip" install -q 'opentelemetry-sdk==1.*' 'opentelemetry-exporter-otlp-proto-grpc==1.*'
fi

# openapi-spec-validator for tests/tests/api.rs (which finds it in
# target/openapi-venv, or creates it there itself): skipped when present.
openapi_venv=target/openapi-venv
if [ ! -x "$openapi_venv/bin/openapi-spec-validator" ]; then
  rm -rf "$openapi_venv"
  python3 -m venv "$openapi_venv" || { apt_install python3-venv; rm -rf "$openapi_venv"; python3 -m venv "$openapi_venv"; }
  "$openapi_venv/bin/pip" install -q 'openapi-spec-validator==0.9.*'
fi
