#!/usr/bin/env bash
# Agent footprint vs the Prometheus exporters (issue 3, "Benchmark").
#
# What it measures: RSS (VmRSS) and CPU (utime+stime from /proc/PID/stat) of
#   - headroom-agent with the postgres, redis and host sources at 15 s,
#     shipping to a local headroom-collector, and
#   - Debian's prometheus-postgres-exporter and prometheus-redis-exporter,
#     scraped with curl every 15 s (as Prometheus would),
# side by side in one run against the same servers: the machine's
# PostgreSQL (127.0.0.1:5432, user postgres, trust auth) and Redis
# (127.0.0.1:6379). Every process is sampled every 5 s. The collector is the
# server side and is reported separately, for context only.
#
# CPU seconds per hour are extrapolated linearly from the run.
#
# How to run (as root: it apt-get installs the exporters when missing; it
# builds the release binaries when they are missing or older than the
# sources):
#
#   benches/agent_footprint.sh                # 10 minutes
#   DURATION=120 benches/agent_footprint.sh   # seconds
#
# It prints the machine facts, the command and a markdown table, and cleans
# up everything it started (temp dirs, processes) on exit.
set -euo pipefail

DURATION="${DURATION:-600}"
SCRAPE_INTERVAL=15
SAMPLE_INTERVAL=5
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COMMAND="DURATION=$DURATION benches/agent_footprint.sh"
PG_DSN="postgresql://postgres@127.0.0.1:5432/postgres?sslmode=disable"
REDIS_URL="redis://127.0.0.1:6379"
PG_EXPORTER=/usr/bin/prometheus-postgres-exporter
REDIS_EXPORTER=/usr/bin/prometheus-redis-exporter

log() { printf '[agent_footprint] %s\n' "$*" >&2; }

# ---------------------------------------------------------------- cleanup
WORK="$(mktemp -d /tmp/headroom-footprint.XXXXXX)"
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------ 1. exporters
need_install=()
for pkg in prometheus-postgres-exporter prometheus-redis-exporter; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need_install+=("$pkg")
done
if [ "${#need_install[@]}" -gt 0 ]; then
    log "installing ${need_install[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${need_install[@]}" >&2
fi
# The packages start services through systemd/invoke-rc.d; stop any
# instance that did start so only our own, known instances run.
for pkg in prometheus-postgres-exporter prometheus-redis-exporter; do
    if [ -x "/etc/init.d/$pkg" ]; then
        "/etc/init.d/$pkg" stop >/dev/null 2>&1 || true
    fi
    for pid in $(pgrep -x "$pkg" 2>/dev/null || true); do
        log "stopping $pkg (pid $pid) started outside this script"
        kill -TERM "$pid" 2>/dev/null || true
    done
done

# A free TCP port on 127.0.0.1 (nothing accepts a connection on it).
used_ports=" "
free_port() {
    local port
    while :; do
        port=$(( 20000 + RANDOM % 30000 ))
        case "$used_ports" in *" $port "*) continue ;; esac
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            used_ports="$used_ports$port "
            echo "$port"
            return
        fi
    done
}

wait_http() { # url seconds
    local i
    for ((i = 0; i < $2 * 5; i++)); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.2
    done
    log "timed out waiting for $1"
    return 1
}

# ----------------------------------------------------------- 2. build + run
cd "$ROOT"
AGENT_BIN="$ROOT/target/release/headroom-agent"
COLLECTOR_BIN="$ROOT/target/release/headroom-collector"
stale=0
for bin in "$AGENT_BIN" "$COLLECTOR_BIN"; do
    if [ ! -x "$bin" ] || [ -n "$(find Cargo.toml Cargo.lock agent collector proto \
            -type f -newer "$bin" -print -quit 2>/dev/null)" ]; then
        stale=1
    fi
done
if [ "$stale" = 1 ]; then
    log "building release binaries"
    cargo build --release --workspace --bins >&2
fi

TOKEN="footprint-bench-token-$RANDOM$RANDOM"
GRPC_PORT=$(free_port)
HTTP_PORT=$(free_port)
PG_EXP_PORT=$(free_port)
REDIS_EXP_PORT=$(free_port)

mkdir -p "$WORK/data" "$WORK/spool"
"$COLLECTOR_BIN" --data-dir "$WORK/data" \
    --grpc-listen "127.0.0.1:$GRPC_PORT" --http-listen "127.0.0.1:$HTTP_PORT" \
    --agent-tokens "$TOKEN" serve >"$WORK/collector.log" 2>&1 &
COLLECTOR_PID=$!
PIDS+=("$COLLECTOR_PID")
wait_http "http://127.0.0.1:$HTTP_PORT/api/v1/status" 60

cat >"$WORK/agent.toml" <<EOF
[agent]
id = "footprint-bench"

[collector]
endpoint = "http://127.0.0.1:$GRPC_PORT"
token = "$TOKEN"

[spool]
dir = "$WORK/spool"

[[sources]]
type = "postgres"
url = "postgres://postgres@127.0.0.1:5432/postgres"
interval = "15s"

[[sources]]
type = "redis"
url = "$REDIS_URL"
interval = "15s"

[[sources]]
type = "host"
interval = "15s"
EOF
"$AGENT_BIN" run --config "$WORK/agent.toml" >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
PIDS+=("$AGENT_PID")

DATA_SOURCE_NAME="$PG_DSN" "$PG_EXPORTER" \
    --web.listen-address="127.0.0.1:$PG_EXP_PORT" >"$WORK/pg_exporter.log" 2>&1 &
PG_EXP_PID=$!
PIDS+=("$PG_EXP_PID")
"$REDIS_EXPORTER" --redis.addr="$REDIS_URL" \
    --web.listen-address="127.0.0.1:$REDIS_EXP_PORT" >"$WORK/redis_exporter.log" 2>&1 &
REDIS_EXP_PID=$!
PIDS+=("$REDIS_EXP_PID")

wait_http "http://127.0.0.1:$PG_EXP_PORT/" 30
wait_http "http://127.0.0.1:$REDIS_EXP_PORT/" 30
for pid in "$AGENT_PID" "$COLLECTOR_PID"; do
    kill -0 "$pid" 2>/dev/null || { log "process $pid died; logs:"; cat "$WORK"/*.log >&2; exit 1; }
done

# ---------------------------------------------------------- 3. scrape loop
scrape_loop() {
    local end=$1 n=0 url
    while [ "$(date +%s)" -lt "$end" ]; do
        for url in "http://127.0.0.1:$PG_EXP_PORT/metrics" "http://127.0.0.1:$REDIS_EXP_PORT/metrics"; do
            curl -sS -m 10 -o "$WORK/last_scrape" -w "$url %{http_code} %{size_download}\n" "$url" \
                >>"$WORK/scrapes.log" 2>&1 || echo "$url FAILED" >>"$WORK/scrapes.log"
        done
        n=$((n + 1))
        sleep "$SCRAPE_INTERVAL" &
        wait $!
    done
}

# --------------------------------------------------------- 4. sample loop
CLK_TCK=$(getconf CLK_TCK)
# name pid -> "name epoch_ns rss_kib cpu_ticks" (nothing if the process is gone)
sample() {
    local name=$1 pid=$2 rss ticks stat
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || return 0
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 0
    # Fields after ") ": state is 1st, utime 12th, stime 13th.
    ticks=$(printf '%s\n' "${stat##*) }" | awk '{print $12 + $13}')
    echo "$name $(date +%s%N) ${rss:-0} $ticks"
}

START=$(date +%s)
END=$((START + DURATION))
log "measuring for ${DURATION}s (agent pid $AGENT_PID, postgres exporter $PG_EXP_PID, redis exporter $REDIS_EXP_PID, collector $COLLECTOR_PID)"
scrape_loop "$END" &
SCRAPER_PID=$!
PIDS+=("$SCRAPER_PID")

: >"$WORK/samples"
while :; do
    sample agent "$AGENT_PID" >>"$WORK/samples"
    sample postgres_exporter "$PG_EXP_PID" >>"$WORK/samples"
    sample redis_exporter "$REDIS_EXP_PID" >>"$WORK/samples"
    sample collector "$COLLECTOR_PID" >>"$WORK/samples"
    [ "$(date +%s)" -ge "$END" ] && break
    sleep "$SAMPLE_INTERVAL"
done
wait "$SCRAPER_PID" 2>/dev/null || true
for pid in "$AGENT_PID" "$PG_EXP_PID" "$REDIS_EXP_PID" "$COLLECTOR_PID"; do
    kill -0 "$pid" 2>/dev/null || log "WARNING: process $pid exited during the run"
done

# Agent memory breakdown at the end, for context.
AGENT_ROLLUP=$(grep -E '^(Rss|Pss_Anon|Pss_File|Anonymous|Private_Clean|Private_Dirty|Shared_Clean)' \
    "/proc/$AGENT_PID/smaps_rollup" 2>/dev/null | awk '{printf "%s %s kB; ", $1, $2}') || AGENT_ROLLUP="?"
# Resident memory of the agent by mapping: its own binary, shared
# libraries, heap/anonymous (thread stacks are anonymous too), [stack].
AGENT_MAPS=$(awk -v bin="$(readlink "/proc/$AGENT_PID/exe" 2>/dev/null)" '
    /^[0-9a-f]+-[0-9a-f]+ / { path = (NF >= 6) ? $6 : "anonymous"
        if (path == bin) kind = "agent binary"
        else if (path ~ /\.so/) kind = "shared libraries"
        else if (path == "[heap]") kind = "[heap]"
        else if (path == "[stack]") kind = "[stack] (main thread)"
        else if (path == "anonymous") kind = "anonymous (malloc arenas, thread stacks)"
        else kind = "other " path
        next }
    /^Rss:/ { rss[kind] += $2 }
    END { for (k in rss) if (rss[k] > 0) printf "%s %d kB; ", k, rss[k] }' "/proc/$AGENT_PID/smaps" 2>/dev/null) || AGENT_MAPS="?"
AGENT_THREADS=$(awk '/^Threads:/ {print $2}' "/proc/$AGENT_PID/status" 2>/dev/null || echo "?")

# ------------------------------------------------------------ report
model=$(awk -F: '/^model name/ {sub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo)
mem_gib=$(awk '/^MemTotal:/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
pg_version=$(psql -h 127.0.0.1 -U postgres -d postgres -tAc 'SHOW server_version' 2>/dev/null || echo "?")
redis_version=$(redis-cli -h 127.0.0.1 -p 6379 INFO server 2>/dev/null \
    | awk -F: '/^redis_version/ {gsub(/\r/, "", $2); print $2}' || echo "?")
pg_exp_version=$(dpkg-query -W -f '${Version}' prometheus-postgres-exporter 2>/dev/null || echo "?")
redis_exp_version=$(dpkg-query -W -f '${Version}' prometheus-redis-exporter 2>/dev/null || echo "?")
build=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo "?")
scrapes_ok=$(grep -c ' 200 ' "$WORK/scrapes.log" || true)
scrapes_bad=$(grep -vc ' 200 ' "$WORK/scrapes.log" || true)
pg_bytes=$(awk -v p=":$PG_EXP_PORT/" 'index($1, p) && $2 == 200 {s += $3; n++} END {if (n) printf "%d", s / n; else print 0}' "$WORK/scrapes.log")
redis_bytes=$(awk -v p=":$REDIS_EXP_PORT/" 'index($1, p) && $2 == 200 {s += $3; n++} END {if (n) printf "%d", s / n; else print 0}' "$WORK/scrapes.log")
warn_agent=$(grep -cE 'WARN|ERROR' "$WORK/agent.log" || true)
warn_collector=$(grep -cE 'WARN|ERROR' "$WORK/collector.log" || true)

cat <<EOF

### $(date -u '+%Y-%m-%d %H:%M UTC') — build $build

Command: \`$COMMAND\` (run from the workspace root)

Machine: $(nproc) CPUs ($model), $mem_gib GiB RAM, Linux $(uname -r);
PostgreSQL $pg_version and Redis $redis_version on 127.0.0.1.
Peers: prometheus-postgres-exporter $pg_exp_version, prometheus-redis-exporter
$redis_exp_version (Debian packages, default collectors), scraped with curl
every ${SCRAPE_INTERVAL} s: $scrapes_ok scrapes OK, $scrapes_bad failed; average
/metrics body $pg_bytes B (postgres) and $redis_bytes B (redis).
Agent: postgres + redis + host sources at 15 s; RSS and CPU sampled every
${SAMPLE_INTERVAL} s from /proc over ${DURATION} s; **CPU seconds per hour are
extrapolated linearly from this ${DURATION} s run**.

EOF

awk -v tck="$CLK_TCK" '
{
    name = $1; t = $2 / 1e9; rss = $3; cpu = $4 / tck
    if (!(name in n)) { order[++k] = name; t0[name] = t; c0[name] = cpu; peak[name] = 0 }
    n[name]++; sum[name] += rss; if (rss > peak[name]) peak[name] = rss
    t1[name] = t; c1[name] = cpu
}
function row(name, label,   used, el, ph) {
    used = c1[name] - c0[name]; el = t1[name] - t0[name]
    ph = (el > 0) ? used / el * 3600 : 0
    printf "| %s | %.1f MiB | %.1f MiB | %.2f s | %.2f s |\n", label, peak[name] / 1024, sum[name] / n[name] / 1024, used, ph
    perhour[name] = ph
}
END {
    print "| Process | Peak RSS | Average RSS | CPU seconds used | CPU seconds per hour (extrapolated) |"
    print "|---|---:|---:|---:|---:|"
    row("agent", "headroom-agent (postgres + redis + host)")
    row("postgres_exporter", "prometheus-postgres-exporter")
    row("redis_exporter", "prometheus-redis-exporter")
    exp_rss = peak["postgres_exporter"] + peak["redis_exporter"]
    exp_ph = perhour["postgres_exporter"] + perhour["redis_exporter"]
    printf "| the two exporters together | %.1f MiB (sum of peaks) | | | %.2f s |\n", exp_rss / 1024, exp_ph
    print ""
    print "Goal check:"
    printf "- agent peak RSS <= 10 MiB: %s (%.1f MiB)\n", (peak["agent"] <= 10240 ? "**met**" : "**not met**"), peak["agent"] / 1024
    printf "- agent CPU < the two exporters together: %s (%.2f vs %.2f CPU s/h)\n", (perhour["agent"] < exp_ph ? "**met**" : "**not met**"), perhour["agent"], exp_ph
    print ""
    print "For context (server side, not part of the comparison):"
    print ""
    print "| Process | Peak RSS | Average RSS | CPU seconds used | CPU seconds per hour (extrapolated) |"
    print "|---|---:|---:|---:|---:|"
    row("collector", "headroom-collector (SQLite, one agent)")
}' "$WORK/samples"

cat <<EOF

Agent at the end: $AGENT_THREADS threads; smaps_rollup: $AGENT_ROLLUP
Agent RSS by mapping: $AGENT_MAPS
WARN/ERROR lines: agent $warn_agent, collector $warn_collector.
EOF
if [ "$warn_agent" != 0 ]; then
    echo
    echo "Agent WARN/ERROR lines (first 5):"
    grep -E 'WARN|ERROR' "$WORK/agent.log" | sed 's/\x1b\[[0-9;]*m//g' | head -5
fi
