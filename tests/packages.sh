#!/usr/bin/env bash
# The Debian packages and their systemd units (issue 13), on this machine:
# builds both .debs (packaging/build-debs.sh), lints them, installs them,
# verifies the units, runs the installed binaries as the headroom user the
# way the units do, upgrades over them keeping a changed config, removes and
# purges them, and checks at every step what is there and what is gone.
# PID 1 is not systemd here, so the units are verified, not started.
#
# Leaves the machine as found: refuses to run over an existing installation,
# and at exit (even a failing one) stops what it started, purges the
# packages and deletes the headroom user if it created it. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
started=$(date +%s)

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { printf '\n== %s (%ss)\n' "$*" "$(($(date +%s) - started))"; }
# expect WHAT COMMAND...: runs COMMAND, fails with WHAT when it fails.
expect() {
  local what=$1
  shift
  "$@" || fail "$what"
}
installed() { dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
owner_mode() { stat -c '%U:%G %a' "$1"; }

[ "$(id -u)" -eq 0 ] || fail "run as root (dpkg -i)"
for package in headroom-agent headroom-collector; do
  [ -z "$(installed "$package")" ] || [ "$(installed "$package")" = not-installed ] ||
    fail "$package is already on this machine ($(installed "$package")); this test installs and purges it"
done
for path in /etc/headroom /var/lib/headroom; do
  [ ! -e "$path" ] || fail "$path exists already; this test would remove it on purge"
done
user_existed=0
getent passwd headroom >/dev/null && user_existed=1

# What the packages touch, before: compared with the same after the purge.
footprint() {
  {
    find /usr/bin /lib/systemd/system /usr/lib/systemd/system /usr/share/doc /usr/share/lintian/overrides \
      /var/lib -maxdepth 3 -name '*headroom*'
    find /etc /var/lib/systemd -maxdepth 4 -name '*headroom*'
  } 2>/dev/null | sort
  [ "$user_existed" -eq 1 ] && getent passwd headroom
  getent group headroom || true
}
before=$(footprint)

work=$(mktemp -d)
# A world-traversable place for files the headroom user must reach.
shared=$(mktemp -d /var/tmp/headroom-packages.XXXXXX)
chmod 0755 "$shared"
pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  dpkg -P headroom-agent headroom-collector >/dev/null 2>&1 || true
  if [ "$user_existed" -eq 0 ] && getent passwd headroom >/dev/null; then
    userdel headroom || true
  fi
  if [ "$user_existed" -eq 0 ] && getent group headroom >/dev/null; then
    groupdel headroom || true
  fi
  rm -rf "$work" "$shared"
  exit "$status"
}
trap cleanup EXIT

# --- Build -------------------------------------------------------------------
step "build (release) and package"
build_started=$(date +%s)
apt_missing=()
for tool in lintian; do command -v "$tool" >/dev/null || apt_missing+=("$tool"); done
[ ${#apt_missing[@]} -eq 0 ] || fail "missing ${apt_missing[*]}: run scripts/setup-tests.sh"
bash packaging/build-debs.sh
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
mkdir -p "$work/v1" "$work/v2"
for package in headroom-agent headroom-collector; do
  cp "target/debian/${package}_${version}-1_amd64.deb" "$work/v1/" || fail "no $package .deb in target/debian"
done
agent_deb=$work/v1/headroom-agent_${version}-1_amd64.deb
collector_deb=$work/v1/headroom-collector_${version}-1_amd64.deb
# The same packages a version later, to upgrade to (cargo-deb's own
# --deb-version; faster compression).
upgrade_version=${version}-1+upgradetest
bash packaging/build-debs.sh --deb-version "$upgrade_version" --fast >/dev/null
for package in headroom-agent headroom-collector; do
  mv "target/debian/${package}_${upgrade_version}_amd64.deb" "$work/v2/" || fail "no upgrade .deb of $package"
done
echo "built in $(($(date +%s) - build_started))s"
ls -l "$work"/v1/*.deb "$work"/v2/*.deb

# --- Lint --------------------------------------------------------------------
step "lintian"
lintian --version
# Every override lives beside the packaging with its reason
# (packaging/debian/*/lintian-overrides); anything else fails here.
lintian --fail-on error,warning --display-info "$agent_deb" "$collector_deb" ||
  fail "lintian reported errors or warnings"
echo "lintian: no error or warning"

# --- Install -----------------------------------------------------------------
step "dpkg -i both"
dpkg -i "$agent_deb" "$collector_deb" </dev/null
for package in headroom-agent headroom-collector; do
  [ "$(installed "$package")" = installed ] || fail "$package is not installed"
done
for binary in /usr/bin/headroom-agent /usr/bin/headroom-collector; do
  [ -x "$binary" ] || fail "$binary is not installed"
done
/usr/bin/headroom-agent --version
/usr/bin/headroom-collector --version
getent passwd headroom | grep -q ':/var/lib/headroom:/usr/sbin/nologin$' ||
  fail "the headroom user is not a system user homed in /var/lib/headroom: $(getent passwd headroom)"
[ "$(id -u headroom)" -lt 1000 ] || fail "headroom is not a system user (uid $(id -u headroom))"
getent group headroom >/dev/null || fail "no headroom group"
[ "$(owner_mode /var/lib/headroom)" = "headroom:headroom 750" ] ||
  fail "/var/lib/headroom is $(owner_mode /var/lib/headroom)"
for config in agent collector; do
  file=/etc/headroom/$config.toml
  [ "$(owner_mode "$file")" = "root:headroom 640" ] || fail "$file is $(owner_mode "$file")"
  dpkg-query -W -f='${Conffiles}\n' "headroom-$config" | grep -q " $file " ||
    fail "$file is not a conffile of headroom-$config"
done
grep -q '^dir = "/var/lib/headroom/agent-spool"' /etc/headroom/agent.toml || fail "agent.toml's spool"
grep -q '^data_dir = "/var/lib/headroom/collector"' /etc/headroom/collector.toml || fail "collector.toml's data_dir"
units=()
for unit in headroom-agent headroom-collector; do
  path=$(dpkg -L "$unit" | grep "/systemd/system/$unit.service$") || fail "no $unit.service in $unit"
  units+=("$path")
done
echo "units: ${units[*]}"

# --- Units ---------------------------------------------------------------------
step "systemd-analyze verify"
systemd-analyze --version | head -1
# Prints nothing when the units are valid (PID 1 is $(cat /proc/1/comm), so
# nothing is started).
verify=$(systemd-analyze verify "${units[@]}" 2>&1) || fail "systemd-analyze verify: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify warned: $verify"
echo "systemd-analyze verify: clean"
for unit in "${units[@]}"; do
  for setting in 'ProtectSystem=strict' 'ProtectHome=yes' 'NoNewPrivileges=yes' 'PrivateTmp=yes' \
    'StateDirectory=headroom' 'CapabilityBoundingSet=' 'User=headroom' 'Restart=on-failure'; do
    grep -qx "$setting" "$unit" || fail "$unit lacks $setting"
  done
  grep -q '^TimeoutStopSec=' "$unit" || fail "$unit lacks TimeoutStopSec"
  # The exposure score systemd computes from the unit alone (0 = best, 10 = worst).
  systemd-analyze security --offline=true "$unit" 2>/dev/null | tail -1 || true
done
grep -qx 'SupplementaryGroups=adm' "${units[0]}" || fail "the agent's unit does not read logs through adm"

# The units' own command lines, run as their User= with their
# SupplementaryGroups= and no privileges (setpriv execs, so signals reach the
# binary as systemd's would).
exec_start() { sed -n 's/^ExecStart=//p' "$1"; }
as_unit() { # as_unit UNIT [ENV=VALUE...]: the unit's ExecStart, as the unit runs it; run as `as_unit … &`: it execs
  local unit=$1 groups
  shift
  groups=$(sed -n 's/^SupplementaryGroups=//p' "$unit" | tr ' ' ,)
  # shellcheck disable=SC2046
  exec env "$@" setpriv --reuid=headroom --regid=headroom --groups="${groups:-headroom}" \
    --no-new-privs --inh-caps=-all --bounding-set=-all $(exec_start "$unit")
}

# --- The collector, installed ------------------------------------------------
step "the collector from /usr/bin as the headroom user"
grpc_port=$(free_port)
http_port=$(free_port)
while [ "$http_port" = "$grpc_port" ]; do http_port=$(free_port); done
as_unit "${units[1]}" HEADROOM_GRPC_LISTEN="127.0.0.1:$grpc_port" HEADROOM_HTTP_LISTEN="127.0.0.1:$http_port" \
  >"$work/collector.log" 2>&1 &
collector_pid=$!
pids+=("$collector_pid")
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$http_port/healthz" >/dev/null 2>&1 && break
  kill -0 "$collector_pid" 2>/dev/null || fail "the collector exited: $(tail -20 "$work/collector.log")"
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$http_port/healthz" || fail "no /healthz: $(tail -20 "$work/collector.log")"
echo
[ "$(stat -c %U /var/lib/headroom/collector/headroom.db)" = headroom ] ||
  fail "the collector did not write /var/lib/headroom/collector/headroom.db as headroom"
ls -l /var/lib/headroom/collector

# --- The agent, installed ------------------------------------------------------
step "headroom-agent check, as the headroom user"
# The config change the upgrade must keep: this collector's port, and an
# access log readable through the adm group only (as nginx's are).
access_log=$shared/access.log
echo '203.0.113.7 - - [02/Dec/2026:10:00:00 +0000] "GET /store/products HTTP/1.1" 200 512 "-" "curl"' >"$access_log"
chown root:adm "$access_log"
chmod 0640 "$access_log"
sed -i -e "s#^endpoint = \"http://127.0.0.1:4317\"#endpoint = \"http://127.0.0.1:$grpc_port\"#" \
  -e "s#^path = \"/var/log/nginx/access.log\"#path = \"$access_log\"#" /etc/headroom/agent.toml
grep -q "127.0.0.1:$grpc_port" /etc/headroom/agent.toml || fail "could not edit agent.toml"
changed=$(sha256sum /etc/headroom/agent.toml)

# The example's other sources (a shop at example.com, a Medusa database)
# do not exist here, so check exits 1; 64 would be a config it cannot read.
set +e
runuser -u headroom -- /usr/bin/headroom-agent check --config /etc/headroom/agent.toml >"$work/check.txt" 2>&1
check_status=$?
set -e
cat "$work/check.txt"
[ "$check_status" -le 1 ] || fail "check exited $check_status"
grep -q "ok   /var/lib/headroom/agent-spool is writable" "$work/check.txt" || fail "the spool is not writable by headroom"
grep -q "ok   the collector at http://127.0.0.1:$grpc_port accepted" "$work/check.txt" || fail "the collector did not accept the agent"
# Without adm (runuser gives headroom its own groups only) the log is unreadable...
grep -A1 '^source access_log' "$work/check.txt" | grep -q FAIL || fail "headroom alone should not read a root:adm 0640 log"
# ... and with the unit's SupplementaryGroups=adm it is.
setpriv --reuid=headroom --regid=headroom --groups=adm --no-new-privs \
  /usr/bin/headroom-agent check --config /etc/headroom/agent.toml >"$work/check-adm.txt" 2>&1 || true
grep -A1 '^source access_log' "$work/check-adm.txt" | grep -q '^  ok' ||
  fail "with adm the access log should be readable: $(grep -A3 '^source access_log' "$work/check-adm.txt")"
echo "access_log with SupplementaryGroups=adm: $(grep -A1 '^source access_log' "$work/check-adm.txt" | tail -1)"

step "the agent's unit command: run, then SIGTERM"
as_unit "${units[0]}" >"$work/agent.log" 2>&1 &
agent_pid=$!
pids+=("$agent_pid")
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$http_port/api/v1/agents" | grep -q '"points":[1-9]' && break
  kill -0 "$agent_pid" 2>/dev/null || fail "the agent exited: $(tail -20 "$work/agent.log")"
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$http_port/api/v1/agents" | grep -q '"points":[1-9]' ||
  fail "no points from the installed agent: $(tail -20 "$work/agent.log")"
ls -ld /var/lib/headroom/agent-spool /var/lib/headroom/access-log
[ "$(stat -c %U /var/lib/headroom/agent-spool)" = headroom ] || fail "the spool is not headroom's"
kill -TERM "$agent_pid"
set +e
wait "$agent_pid"
agent_status=$?
set -e
tail -3 "$work/agent.log"
[ "$agent_status" -eq 0 ] || fail "the agent exited $agent_status on SIGTERM"
grep -q "stopping: sealing what was collected" "$work/agent.log" || fail "the agent did not stop gracefully"

step "the collector: SIGTERM"
kill -TERM "$collector_pid"
set +e
wait "$collector_pid"
collector_status=$?
set -e
[ "$collector_status" -eq 0 ] || fail "the collector exited $collector_status on SIGTERM: $(tail -5 "$work/collector.log")"
echo "both exited 0 on SIGTERM"
pids=()

# --- Upgrade -----------------------------------------------------------------
step "upgrade to $upgrade_version"
dpkg -i "$work"/v2/headroom-agent_*.deb "$work"/v2/headroom-collector_*.deb </dev/null
for package in headroom-agent headroom-collector; do
  got=$(dpkg-query -W -f='${Version}' "$package")
  [ "$got" = "$upgrade_version" ] || fail "$package is $got after the upgrade"
done
[ "$(sha256sum /etc/headroom/agent.toml)" = "$changed" ] || fail "the upgrade replaced the changed agent.toml"
[ "$(owner_mode /etc/headroom/agent.toml)" = "root:headroom 640" ] || fail "agent.toml is $(owner_mode /etc/headroom/agent.toml)"
ls /etc/headroom/*.dpkg-* 2>/dev/null && fail "dpkg left a .dpkg-* beside the configs"
[ -f /var/lib/headroom/collector/headroom.db ] || fail "the upgrade lost the collector's data"
echo "agent.toml as the test changed it, data kept"

# --- Remove, then purge ------------------------------------------------------
step "dpkg -r"
dpkg -r headroom-agent headroom-collector </dev/null
for package in headroom-agent headroom-collector; do
  [ "$(installed "$package")" = config-files ] || fail "$package is $(installed "$package") after remove"
done
for gone in /usr/bin/headroom-agent /usr/bin/headroom-collector "${units[@]}"; do
  [ ! -e "$gone" ] || fail "$gone is still there after remove"
done
for kept in /etc/headroom/agent.toml /etc/headroom/collector.toml /var/lib/headroom/collector/headroom.db \
  /var/lib/headroom/agent-spool; do
  [ -e "$kept" ] || fail "$kept went on remove"
done
[ "$(sha256sum /etc/headroom/agent.toml)" = "$changed" ] || fail "remove changed agent.toml"
getent passwd headroom >/dev/null || fail "remove deleted the headroom user"
echo "binaries and units gone; configs, data and the user kept"

step "dpkg -P"
dpkg -P headroom-agent headroom-collector </dev/null
for package in headroom-agent headroom-collector; do
  [ "$(installed "$package")" = not-installed ] || [ -z "$(installed "$package")" ] ||
    fail "$package is $(installed "$package") after purge"
done
for gone in /etc/headroom /var/lib/headroom; do
  [ ! -e "$gone" ] || fail "$gone is still there after purge: $(find "$gone")"
done
getent passwd headroom >/dev/null || fail "purge deleted the headroom user (it is kept by design)"
echo "configs and data gone; the headroom user kept (files elsewhere may be its)"

# --- As found ------------------------------------------------------------------
if [ "$user_existed" -eq 0 ]; then
  userdel headroom
  if getent group headroom >/dev/null; then groupdel headroom; fi
fi
after=$(footprint)
[ "$before" = "$after" ] || fail "the machine differs: $(diff <(echo "$before") <(echo "$after"))"
echo "left as found"
echo "tests/packages.sh: passed in $(($(date +%s) - started))s"
