#!/usr/bin/env bash
# Headroom against a real Medusa v2 store (issue 3, "The real store").
#
# Starts a collector (temporary data dir, free ports) and an agent with an
# `otlp` source, (re)starts ../shared/medusa-lab with its OpenTelemetry
# pointed at that source, runs the lab's checkout.sh N times (CSV_OUT gives
# the per-step curl times), waits until the agent has shipped every
# complete-cart request, and checks that Headroom's p50 for
# `/store/carts/:id/complete` is within ±25% of the median complete-cart
# time checkout.sh measured.
#
#   tests/medusa_lab.sh [N]          (default N=10; or MEDUSA_LAB_CHECKOUTS)
#
# Needs the binaries CI built (target/debug/headroom-collector and
# headroom-agent), python3, curl, and what the lab needs (Node + npm,
# PostgreSQL 15). When the store cannot be installed or run (npm unreachable,
# `npm ci` failing, no node/npm, the lab or checkout.sh failing on their own)
# it prints SKIPPED with the reason and exits 0; any Headroom
# failure (a binary not starting, no data, p50 off by more than 25%, the
# advisor's output not justified) exits 1.
#
# The advisor (issue 4): the agent also reads the lab's PostgreSQL; with the
# checkouts done, the open recommendations must include the
# instrumentation-overhead advice (Medusa's default one export per span) and
# a `none` answer, no index advice on Medusa's small tables, and nothing
# critical (minutes of history on a tiny store).
#
# The alerts (issue 6): the collector has a `webhook` receiver pointed at a
# small Python (standard library) endpoint; the instrumentation-overhead
# warning must arrive there as a signed notification that verifies as
# docs/alerts-payloads.md documents, and the collector's log must show
# neither the URL's secret path nor the HMAC secret.
#
# Headroom's p50: the collector's `http_route_latency_ms_bucket{le}` points
# (cumulative over buckets, a delta per interval) are summed over time per
# `le`; the p50 is interpolated log-linearly inside the bucket that holds
# rank N/2, i.e. lower·(upper/lower)^fraction, which matches the buckets'
# log-linear spacing (see agent/src/sources/latency.rs: within ~9%).
# checkout.sh times the request at the client (curl time_total), the spans at
# the server (root span duration): on loopback the difference is small, and
# it is printed.
#
# The lab: if Medusa was already running, it is restarted pointed at this
# agent and, at exit, restarted as it was (same OTel endpoint, processor,
# instrumentations, Redis); otherwise `up.sh stop` stops everything it
# started.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LAB="${MEDUSA_LAB:-$ROOT/../shared/medusa-lab}"
LAB_DIR="${LAB_DIR:-/tmp/medusa-lab}"
N="${1:-${MEDUSA_LAB_CHECKOUTS:-10}}"
ROUTE="/store/carts/:id/complete"
TOLERANCE=0.25

log() { printf '[medusa_lab %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() { log "FAIL: $*"; exit 1; }
skip() { echo "SKIPPED: the real store could not be installed or run ($*)"; exit 0; }

COLLECTOR_BIN="$ROOT/target/debug/headroom-collector"
AGENT_BIN="$ROOT/target/debug/headroom-agent"
[ -x "$COLLECTOR_BIN" ] && [ -x "$AGENT_BIN" ] ||
  fail "target/debug/headroom-collector or headroom-agent is missing: run cargo build --workspace --bins"
[ -x "$LAB/up.sh" ] && [ -x "$LAB/checkout.sh" ] || skip "no lab scripts in $LAB"
command -v node >/dev/null && command -v npm >/dev/null || skip "node or npm is not installed"

# shellcheck source=tests/lab_common.sh
source "$ROOT/tests/lab_common.sh"

WORK=$(mktemp -d /tmp/headroom-medusa-lab.XXXXXX)
COLLECTOR_PID=""
AGENT_PID=""
HOOK_PID=""
LAB_STARTED=0
LAB_RESTORE=()

cleanup() {
  local rc=$?
  set +e
  lab_restore
  stop_pid "$AGENT_PID"
  stop_pid "$COLLECTOR_PID"
  stop_pid "$HOOK_PID"
  if [ "$rc" -ne 0 ]; then
    for f in collector.log agent.log; do
      [ -f "$WORK/$f" ] && { echo "--- last lines of $f"; tail -20 "$WORK/$f"; }
    done
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- A webhook receiver for the alerts (issue 6) -----------------------------
# Python's standard library, as a store's own endpoint would be: it records
# every request (path, headers, body) as a JSON line and answers 200.
HOOK_PORT=$(free_port)
HOOK_SECRET="lab-hmac-secret-0123456789"
python3 - "$HOOK_PORT" "$WORK/hook.jsonl" <<'EOF' >"$WORK/hook.log" 2>&1 &
import http.server, json, sys
out = open(sys.argv[2], "a")
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {k.lower(): v for k, v in self.headers.items()}
        out.write(json.dumps({"path": self.path, "headers": headers, "body": body.decode()}) + "\n")
        out.flush()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Hook).serve_forever()
EOF
HOOK_PID=$!

# --- The collector ----------------------------------------------------------
GRPC_PORT=$(free_port)
HTTP_PORT=$(free_port)
cat >"$WORK/collector.toml" <<EOF
data_dir = "$WORK/data"
grpc_listen = "127.0.0.1:$GRPC_PORT"
http_listen = "127.0.0.1:$HTTP_PORT"
analysis_interval = "5s"
[advisor]
open_after = 1
[alerting]
group_wait = "2s"
group_interval = "10s"
[[alerts]]
name = "lab-webhook"
type = "webhook"
url = "http://127.0.0.1:$HOOK_PORT/headroom/LABSECRETPATH"
secret = "$HOOK_SECRET"
min_severity = "warning"
EOF
"$COLLECTOR_BIN" --config "$WORK/collector.toml" >"$WORK/collector.log" 2>&1 &
COLLECTOR_PID=$!
API="http://127.0.0.1:$HTTP_PORT"
for _ in $(seq 150); do
  curl -sf "$API/healthz" >/dev/null && break
  kill -0 "$COLLECTOR_PID" 2>/dev/null || fail "the collector exited"
  sleep 0.2
done
curl -sf "$API/healthz" >/dev/null || fail "the collector did not become healthy"
log "collector: grpc 127.0.0.1:$GRPC_PORT, http $API"

# --- The agent, with an otlp source -----------------------------------------
OTLP_PORT=$(free_port)
cat >"$WORK/agent.toml" <<EOF
[agent]
id = "medusa-lab"
flush_interval = "200ms"
[collector]
endpoint = "http://127.0.0.1:$GRPC_PORT"
min_backoff = "100ms"
max_backoff = "1s"
[spool]
dir = "$WORK/spool"
[[sources]]
type = "otlp"
listen = "127.0.0.1:$OTLP_PORT"
interval = "2s"
grace = "2s"
[[sources]]
type = "postgres"
url = "postgres://postgres@127.0.0.1:${PG_PORT:-55432}/medusa"
interval = "5s"
EOF
"$AGENT_BIN" run --config "$WORK/agent.toml" >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 150); do
  port_open "$OTLP_PORT" && break
  kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent exited"
  sleep 0.2
done
port_open "$OTLP_PORT" || fail "the agent's otlp source does not listen on $OTLP_PORT"
log "agent: otlp source on 127.0.0.1:$OTLP_PORT"

# --- The store, its OpenTelemetry pointed at the agent ----------------------
# Remember how a running Medusa was started, to restart it that way at exit.
lab_start_for_agent "$OTLP_PORT"

# --- N checkouts -------------------------------------------------------------
FROM_MS=$(($(date +%s) * 1000 - 60000))
CSV="$WORK/checkout.csv"
log "running $N checkouts"
if ! CSV_OUT="$CSV" LAB_DIR="$LAB_DIR" "$LAB/checkout.sh" "$N" >"$WORK/checkout.log" 2>&1; then
  tail -20 "$WORK/checkout.log"
  skip "checkout.sh failed against the store (not Headroom): see the lines above"
fi
sed -n '/^summary/,$p' "$WORK/checkout.log"
COMPLETED=$(awk -F, '$2 == "complete_cart" && $3 ~ /^2/' "$CSV" | wc -l)
[ "$COMPLETED" -gt 0 ] || skip "checkout.sh completed no cart (the store, not Headroom)"

# --- Wait until the agent has shipped every complete-cart request ----------
series() {
  curl -sf --get "$API/api/v1/series" --data-urlencode "name=$1" --data-urlencode "route=$ROUTE" \
    --data-urlencode "origin=otlp" --data-urlencode "from=$FROM_MS"
}
count=0
for _ in $(seq 120); do
  count=$(series http_route_latency_ms_count |
    python3 -c 'import json,sys; print(int(sum(p[1] for s in json.load(sys.stdin)["series"] for p in s["points"])))' ||
    echo 0)
  [ "$count" -ge "$COMPLETED" ] && break
  sleep 0.5
done
[ "$count" -ge "$COMPLETED" ] ||
  fail "the collector holds $count of the $COMPLETED complete-cart requests after 60 s (origin=otlp, route=$ROUTE)"
series http_route_latency_ms_bucket >"$WORK/buckets.json" || fail "could not read the bucket series"

# --- Compare -------------------------------------------------------------------
python3 - "$CSV" "$WORK/buckets.json" "$TOLERANCE" <<'EOF'
import csv, json, math, statistics, sys

csv_path, buckets_path, tolerance = sys.argv[1], sys.argv[2], float(sys.argv[3])
client = [float(r[3]) for r in csv.reader(open(csv_path)) if r[1] == "complete_cart" and r[2].startswith("2")]
p50_checkout = statistics.median(client)

# Sum each `le` over time (and over methods/status classes): cumulative counts.
cumulative = {}
for series in json.load(open(buckets_path))["series"]:
    le = series["labels"]["le"]
    bound = math.inf if le == "+Inf" else float(le)
    cumulative[bound] = cumulative.get(bound, 0.0) + sum(p[1] for p in series["points"])
bounds = sorted(cumulative)
total = cumulative[math.inf]
if total <= 0:
    print("FAIL: the histogram is empty"); sys.exit(1)
rank = total / 2
lower, below = 0.0, 0.0
for upper in bounds:
    at = cumulative[upper]
    if at >= rank:
        if math.isinf(upper):
            p50 = lower
        else:
            fraction = (rank - below) / (at - below)
            # log-linear inside the bucket (linear in the first, from 0)
            p50 = lower * (upper / lower) ** fraction if lower > 0 else upper * fraction
        break
    lower, below = upper, at

error = (p50 - p50_checkout) / p50_checkout
print(f"complete-cart over {len(client)} checkouts ({int(total)} requests in Headroom's histogram):")
print(f"  p50 measured by checkout.sh (client, curl time_total): {p50_checkout:8.1f} ms")
print(f"  p50 from Headroom (server root spans, bucket ({lower:g}, {upper:g}]):  {p50:8.1f} ms")
print(f"  difference: {error * 100:+.1f}% (allowed ±{tolerance * 100:.0f}%; client minus server is the HTTP/loopback overhead)")
if abs(error) > tolerance:
    print("FAIL: Headroom's p50 is off by more than the tolerance"); sys.exit(1)
print("OK")
EOF

# --- The advisor's output on the real store ----------------------------------
# With Medusa's default SimpleSpanProcessor (one export per span) the app
# rule must say so; with a few minutes of history "none" must be honest
# (not enough data yet, or no action needed with ETAs); Medusa's small
# tables must get no index advice.
log "waiting for the advisor's recommendations"
for _ in $(seq 60); do
  curl -sf "$API/api/v1/recommendations?state=open" >"$WORK/recs.json" || true
  python3 - "$WORK/recs.json" <<'EOF' 2>/dev/null && break
import json, sys
recs = json.load(open(sys.argv[1]))["recommendations"]
overhead = any(r["kind"] == "app" and "span" in (r["title"] + r["summary"]).lower() for r in recs)
sys.exit(0 if overhead and any(r["kind"] == "none" for r in recs) else 1)
EOF
  sleep 2
done
python3 - "$WORK/recs.json" <<'EOF' || fail "the advisor's output on the real store is not justified"
import json, sys
recs = json.load(open(sys.argv[1]))["recommendations"]
print(f"{len(recs)} open recommendation(s) on the real store:")
for r in recs:
    print(f"  [{r['kind']}/{r['severity']}] {r['title']} (confidence {r['confidence']:.2f})")
    print(f"      {r['summary'][:300]}")
overhead = [r for r in recs if r["kind"] == "app" and "span" in (r["title"] + r["summary"]).lower()]
none = [r for r in recs if r["kind"] == "none"]
index = [r for r in recs if r["kind"] == "index"]
ok = True
if not overhead:
    print("FAIL: no instrumentation-overhead advice although Medusa exports one span at a time"); ok = False
if not none:
    print("FAIL: no 'none' advice (no action needed / not enough data yet)"); ok = False
if index:
    print(f"FAIL: index advice on Medusa's small tables: {[r['action'] for r in index]}"); ok = False
# The lab is a tiny store with minutes of history: nothing about its
# resources is critical (a forecast from a warm-up ramp is not growth).
critical = [r for r in recs if r["severity"] == "critical"]
if critical:
    print(f"FAIL: critical advice on a tiny store with minutes of history: {[r['title'] for r in critical]}"); ok = False
sys.exit(0 if ok else 1)
EOF
log "advisor: OK"

# --- Alerts: the advice reached the store's webhook, signed ------------------
# The instrumentation-overhead advice is a warning: it must arrive at the
# webhook as a signed notification, verified the way docs/alerts-payloads.md
# tells a receiver to (HMAC-SHA256 of "<timestamp>.<raw body>", constant-time
# compare, at most 300 s old); neither the URL's secret path nor the HMAC
# secret may appear in the collector's log.
check_alerts() {
  python3 - "$WORK/hook.jsonl" "$HOOK_SECRET" "$WORK/collector.log" <<'EOF'
import hashlib, hmac, json, os, sys, time
path, secret, log_path = sys.argv[1], sys.argv[2], sys.argv[3]
lines = [json.loads(l) for l in open(path)] if os.path.exists(path) else []
app = None
for request in lines:
    headers, body = request["headers"], request["body"].encode()
    timestamp = headers.get("x-headroom-timestamp", "0")
    signed = timestamp.encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, headers.get("x-headroom-signature", "")):
        print(f"FAIL: a notification's signature does not verify: {headers}"); sys.exit(1)
    if abs(time.time() - int(timestamp)) > 300:
        print("FAIL: a notification is older than 300 s"); sys.exit(1)
    payload = json.loads(body)
    if payload["id"] != headers.get("x-headroom-notification"):
        print("FAIL: the payload's id is not its X-Headroom-Notification header"); sys.exit(1)
    for alert in payload["alerts"]:
        if alert["kind"] == "app" and "span" in (alert["title"] + alert["summary"]).lower():
            app = (payload, alert)
if app is None:
    sys.exit(2)
payload, alert = app
print(f"{len(lines)} signed notification(s) received, every signature verified:")
print(f"  [{payload['reason']}/{alert['severity']}] {alert['title']} -> {alert['url']}")
log = open(log_path).read()
for secret_text in ("LABSECRETPATH", secret):
    if secret_text in log:
        print(f"FAIL: the collector's log shows {secret_text}"); sys.exit(1)
EOF
}
log "waiting for the alert notification"
for _ in $(seq 30); do
  rc=0
  check_alerts >"$WORK/alerts-check.txt" 2>&1 || rc=$?
  [ "$rc" -ne 2 ] && break
  sleep 1
done
cat "$WORK/alerts-check.txt"
[ "$rc" -eq 0 ] || fail "the advice did not reach the store's webhook as documented (rc $rc)"
log "alerts: OK"
