#!/usr/bin/env bash
# Headroom's index advice on a real Medusa v2 store (issue 11, real-store
# acceptance; the parts of issue 12's that fit one short run).
#
# Starts a collector and an agent (`postgres` source at its default 15 s
# interval + `otlp` source) on free ports and temporary dirs, (re)starts
# ../shared/medusa-lab with OpenTelemetry pointed at the agent, then:
#   1. grows `cart` by 300,000 abandoned carts and `cart_shipping_method`
#      by one shipping method each (ids in Medusa's `<prefix>_<26 chars>`
#      form, marked `00HRLAB`), drops Medusa's own index that serves
#      checkout's lookup `cart_shipping_method.cart_id IN (…)` (35 calls per
#      checkout), runs ANALYZE, then pg_stat_reset() and
#      pg_stat_statements_reset(): n_live_tup reads 0, reltuples knows;
#   2. runs checkouts in the background and polls the collector until an
#      open index recommendation appears; asserts it came within 60 s of the
#      first slow checkout, that its action creates an index on that table's
#      `cart_id`, and that its text names the checkout routes that run the
#      statement ("calls per" + a `/store/carts/:id…` route);
#   3. (still without the index, after MEDUSA_LAB_SOAK more seconds of
#      checkouts, default none) prints the agent's own database time per
#      minute (`headroom_agent_pg_exec_ms_total{database}`) and its costliest
#      statements, and the open recommendations at warning or above; asserts
#      the instrumentation-overhead warning is among them (issue 12 wants
#      nothing else: the rest is printed, not asserted, since a short run is
#      not the 10 minutes issue 12 names);
#   4. applies the advised DDL with psql, runs checkouts again and asserts
#      the statement's mean (pg_stat_statements) is ≥ 10× lower; prints the
#      checkout steps' latency before and after.
#
#   tests/medusa_lab_index.sh        (MEDUSA_LAB_ROWS, default 300000;
#                                     MEDUSA_LAB_AFTER, checkouts after the DDL, default 5;
#                                     MEDUSA_LAB_SOAK, seconds of checkouts before the DDL, default 0;
#                                     KEEP_WORK=1 keeps the temp dir and its logs)
#
# Settings that differ from the defaults: the collector's
# `analysis_interval` is 15 s (MEDUSA_LAB_ANALYSIS_INTERVAL): at the default
# 1 m, up to 60 s of the measured delay would be the pass timer's phase, not
# detection; the figure printed is the whole pipeline's (scrape, examination,
# shipping, pass). The agent's `flush_interval` and every source setting are
# the defaults (postgres 15 s, otlp 15 s + 5 s grace).
#
# SKIPPED and exit 0 when the lab cannot be installed or run (as
# medusa_lab.sh); exit 1 on any Headroom failure. At exit: the advised index
# is dropped, Medusa's index re-created from its pg_get_indexdef, the
# generated rows deleted, hypopg dropped if this script created it, the lab
# restarted as it was (or stopped), the collector and agent stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LAB="${MEDUSA_LAB:-$ROOT/../shared/medusa-lab}"
LAB_DIR="${LAB_DIR:-/tmp/medusa-lab}"
PG_PORT="${PG_PORT:-55432}"
ROWS="${MEDUSA_LAB_ROWS:-300000}"
AFTER="${MEDUSA_LAB_AFTER:-5}"
SOAK="${MEDUSA_LAB_SOAK:-0}"
ANALYSIS_INTERVAL="${MEDUSA_LAB_ANALYSIS_INTERVAL:-15s}"
TABLE=cart_shipping_method
KEY=cart_id
MARK=00HRLAB
ADVICE_WITHIN_S=60
T_START=$(date +%s)

log() { printf '[medusa_lab_index %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() { log "FAIL: $*"; exit 1; }
skip() { echo "SKIPPED: the real store could not be installed or run ($*)"; exit 0; }

COLLECTOR_BIN="$ROOT/target/debug/headroom-collector"
AGENT_BIN="$ROOT/target/debug/headroom-agent"
[ -x "$COLLECTOR_BIN" ] && [ -x "$AGENT_BIN" ] ||
  fail "target/debug/headroom-collector or headroom-agent is missing: run cargo build --workspace --bins"
[ -x "$LAB/up.sh" ] && [ -x "$LAB/checkout.sh" ] || skip "no lab scripts in $LAB"
command -v node >/dev/null && command -v npm >/dev/null || skip "node or npm is not installed"
command -v jq >/dev/null || skip "jq is not installed (checkout.sh needs it)"
PSQL_BIN=$(command -v psql || echo /usr/lib/postgresql/15/bin/psql)
[ -x "$PSQL_BIN" ] || skip "psql is not installed"

# shellcheck source=tests/lab_common.sh
source "$ROOT/tests/lab_common.sh"
psql_() {
  PGOPTIONS='-c client_min_messages=warning' "$PSQL_BIN" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d medusa \
    -v ON_ERROR_STOP=1 -Atq "$@"
}

WORK=$(mktemp -d /tmp/headroom-medusa-lab-index.XXXXXX)
COLLECTOR_PID=""
AGENT_PID=""
LOAD_PID=""
LAB_STARTED=0
LAB_RESTORE=()
DATA_TOUCHED=0
INDEX_DEF=""
INDEX_NAME=""
ADVISED_INDEX=""
HYPOPG_CREATED=0

# Stops the background checkouts after the one in flight.
stop_load() {
  [ -n "$LOAD_PID" ] || return 0
  touch "$WORK/stop-load"
  for _ in $(seq 300); do kill -0 "$LOAD_PID" 2>/dev/null || break; sleep 0.2; done
  stop_pid "$LOAD_PID"
  wait "$LOAD_PID" 2>/dev/null || true
  LOAD_PID=""
  rm -f "$WORK/stop-load"
}

restore_data() {
  if [ -n "$ADVISED_INDEX" ]; then
    log "dropping the advised index $ADVISED_INDEX"
    psql_ -c "DROP INDEX IF EXISTS $ADVISED_INDEX" || log "could not drop $ADVISED_INDEX"
  fi
  if [ -n "$INDEX_DEF" ]; then
    if [ -z "$(psql_ -c "select 1 from pg_indexes where schemaname = 'public' and indexname = '$INDEX_NAME'")" ]; then
      log "re-creating Medusa's index: $INDEX_DEF"
      psql_ -c "$INDEX_DEF" || log "could not re-create $INDEX_NAME"
    fi
  fi
  if [ "$DATA_TOUCHED" = 1 ]; then
    # The carts' own shipping methods go first; the carts then without
    # foreign-key triggers (session_replication_role = replica): their
    # cascade lookups cannot use Medusa's partial indexes (`WHERE deleted_at
    # IS NULL`) and would scan each child table once per cart. Nothing else
    # references the generated carts. VACUUM FULL gives their space back to
    # the disk (seconds; no checkout runs by then).
    log "deleting the generated rows"
    psql_ -c "DELETE FROM $TABLE WHERE id LIKE 'casm\\_$MARK%'" \
      -c "SET session_replication_role = replica" -c "DELETE FROM cart WHERE id LIKE 'cart\\_$MARK%'" \
      -c "RESET session_replication_role" -c "VACUUM (FULL, ANALYZE) cart" -c "VACUUM (FULL, ANALYZE) $TABLE" ||
      log "could not delete the generated rows"
  fi
  if [ "$HYPOPG_CREATED" = 1 ]; then psql_ -c "DROP EXTENSION IF EXISTS hypopg" || true; fi
}

cleanup() {
  local rc=$?
  set +e
  stop_load
  [ "$LAB_STARTED" = 1 ] && restore_data
  lab_restore
  stop_pid "$AGENT_PID"
  stop_pid "$COLLECTOR_PID"
  if [ "$rc" -ne 0 ]; then
    for f in collector.log agent.log; do
      [ -f "$WORK/$f" ] && { echo "--- last lines of $f"; grep -v ' DEBUG ' "$WORK/$f" | tail -20; }
    done
  fi
  log "wall-clock: $(($(date +%s) - T_START)) s"
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- The collector ----------------------------------------------------------
GRPC_PORT=$(free_port)
HTTP_PORT=$(free_port)
cat >"$WORK/collector.toml" <<EOF
data_dir = "$WORK/data"
grpc_listen = "127.0.0.1:$GRPC_PORT"
http_listen = "127.0.0.1:$HTTP_PORT"
analysis_interval = "$ANALYSIS_INTERVAL"
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
log "collector: grpc 127.0.0.1:$GRPC_PORT, http $API (analysis_interval $ANALYSIS_INTERVAL)"

# --- The store, its OpenTelemetry pointed at the agent's port ---------------
# The port is chosen now and the agent started right after the lab: the lab
# must be up (its PostgreSQL) before the postgres source's first scrape.
OTLP_PORT=$(free_port)
lab_start_for_agent "$OTLP_PORT"
psql_ -c "select 1" >/dev/null || skip "the lab's PostgreSQL does not answer on 127.0.0.1:$PG_PORT"

# hypopg, when this machine has it: the agent verifies candidates with it.
if [ -z "$(psql_ -c "select 1 from pg_extension where extname = 'hypopg'")" ]; then
  if psql_ -c "CREATE EXTENSION IF NOT EXISTS hypopg" 2>"$WORK/hypopg.err"; then
    HYPOPG_CREATED=1
    log "hypopg created in the lab database (dropped at exit)"
  else
    log "hypopg is not available ($(head -1 "$WORK/hypopg.err")): candidates are verified with the generic plan"
  fi
fi

# --- The agent: postgres (default interval) + otlp --------------------------
cat >"$WORK/agent.toml" <<EOF
[agent]
id = "medusa-lab"
[collector]
endpoint = "http://127.0.0.1:$GRPC_PORT"
[spool]
dir = "$WORK/spool"
[[sources]]
type = "otlp"
listen = "127.0.0.1:$OTLP_PORT"
[[sources]]
type = "postgres"
url = "postgres://postgres@127.0.0.1:$PG_PORT/medusa"
EOF
RUST_LOG="${RUST_LOG:-info,headroom_agent=debug}" "$AGENT_BIN" run --config "$WORK/agent.toml" >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 150); do
  port_open "$OTLP_PORT" && break
  kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent exited"
  sleep 0.2
done
port_open "$OTLP_PORT" || fail "the agent's otlp source does not listen on $OTLP_PORT"
log "agent: otlp source on 127.0.0.1:$OTLP_PORT, postgres source on 127.0.0.1:$PG_PORT/medusa"

# One warm-up checkout (Medusa's first is cold) before the table grows.
if ! LAB_DIR="$LAB_DIR" "$LAB/checkout.sh" 1 >"$WORK/warmup.log" 2>&1; then
  tail -20 "$WORK/warmup.log"
  skip "checkout.sh failed against the store (not Headroom): see the lines above"
fi

# --- A big table without the index checkout's lookup needs ------------------
INDEX_NAME=$(psql_ -c "select indexname from pg_indexes where schemaname = 'public' and tablename = '$TABLE'
  and indexdef ~ '\\($KEY\\)' order by indexname limit 1")
[ -n "$INDEX_NAME" ] || skip "the lab's schema has no index on $TABLE ($KEY): not the Medusa this script knows"
INDEX_DEF=$(psql_ -c "select pg_get_indexdef('public.\"$INDEX_NAME\"'::regclass)")
REGION=$(jq -r .region_id "$LAB_DIR/seed.json")
OPTION=$(jq -r .shipping_option_id "$LAB_DIR/seed.json")
log "growing cart and $TABLE by $ROWS rows each"
DATA_TOUCHED=1
t0=$(date +%s)
psql_ <<EOF
INSERT INTO cart (id, currency_code, region_id, created_at, updated_at)
SELECT 'cart_$MARK' || lpad(i::text, 19, '0'), 'usd', '$REGION',
       now() - interval '30 days' + i * interval '1 second', now() - interval '30 days' + i * interval '1 second'
FROM generate_series(1, $ROWS) AS i;
INSERT INTO $TABLE (id, cart_id, name, amount, raw_amount, is_tax_inclusive, shipping_option_id, data,
                    created_at, updated_at)
SELECT 'casm_$MARK' || lpad(i::text, 19, '0'), 'cart_$MARK' || lpad(i::text, 19, '0'), 'Standard Shipping',
       10, '{"value": "10", "precision": 20}', false, '$OPTION', '{}',
       now() - interval '30 days' + i * interval '1 second', now() - interval '30 days' + i * interval '1 second'
FROM generate_series(1, $ROWS) AS i;
EOF
log "dropping Medusa's index: $INDEX_DEF"
psql_ -c "DROP INDEX public.\"$INDEX_NAME\""
psql_ -c "ANALYZE cart" -c "ANALYZE $TABLE"
psql_ -c "select pg_stat_reset()" -c "select pg_stat_statements_reset()" >/dev/null
log "done in $(($(date +%s) - t0)) s; statistics reset:"
psql_ -F ' ' -c "select 'reltuples', c.reltuples::bigint, 'n_live_tup', s.n_live_tup, 'size', pg_size_pretty(pg_total_relation_size(c.oid))
  from pg_class c join pg_stat_user_tables s on s.relid = c.oid where c.relname = '$TABLE'" | sed 's/^/  /'

# --- Checkouts until the advice ---------------------------------------------
CSV="$WORK/checkout.csv"
: >"$CSV"
(
  while [ ! -f "$WORK/stop-load" ]; do
    [ -f "$WORK/first-checkout" ] || date +%s.%N >"$WORK/first-checkout"
    CSV_OUT="$CSV" LAB_DIR="$LAB_DIR" "$LAB/checkout.sh" 1 >>"$WORK/checkout.log" 2>&1 ||
      echo failed >>"$WORK/checkout-failures"
  done
) &
LOAD_PID=$!
log "checkouts running in the background; polling $API/api/v1/recommendations?kind=index"

now() { date +%s.%N; }
FIRST=""
ADVICE_AT=""
for _ in $(seq 300); do
  [ -z "$FIRST" ] && [ -f "$WORK/first-checkout" ] && FIRST=$(cat "$WORK/first-checkout")
  curl -sf "$API/api/v1/recommendations?kind=index&state=open" >"$WORK/index-recs.json" || true
  if python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["recommendations"] else 1)' \
    "$WORK/index-recs.json" 2>/dev/null; then
    ADVICE_AT=$(now)
    break
  fi
  [ -f "$WORK/checkout-failures" ] && [ "$(wc -l <"$WORK/checkout-failures")" -ge 3 ] && {
    tail -20 "$WORK/checkout.log"
    skip "checkout.sh keeps failing against the store (not Headroom)"
  }
  sleep 1
done
if [ -z "$ADVICE_AT" ]; then
  log "no open index recommendation after 300 s; what the collector knows:"
  curl -sf "$API/api/v1/index-verdicts?database=medusa" | python3 -m json.tool | head -80 || true
  curl -sf "$API/api/v1/texts?kind=pg_index_candidate" | python3 -m json.tool | head -40 || true
  curl -sf "$API/api/v1/recommendations?state=open,pending" | python3 -m json.tool | head -60 || true
  fail "no index advice on $TABLE ($KEY) within 300 s of the first slow checkout"
fi
TO_ADVICE=$(python3 -c "print(f'{$ADVICE_AT - $FIRST:.1f}')")
log "an open index recommendation $TO_ADVICE s after the first slow checkout began"

# Its route evidence may join a pass later than the candidate: wait for it.
has_routes() {
  python3 - "$1" <<'EOF'
import json, sys
recs = json.load(open(sys.argv[1]))["recommendations"]
text = json.dumps(recs)
sys.exit(0 if "calls per" in text and "/store/carts/:id" in text else 1)
EOF
}
ROUTES_AT=""
for _ in $(seq 90); do
  if has_routes "$WORK/index-recs.json"; then ROUTES_AT=$(now); break; fi
  sleep 1
  curl -sf "$API/api/v1/recommendations?kind=index&state=open" >"$WORK/index-recs.json" || true
done
[ -n "$ROUTES_AT" ] && log "its route evidence $(python3 -c "print(f'{$ROUTES_AT - $FIRST:.1f}')") s after the first slow checkout began"

python3 - "$WORK/index-recs.json" "$TABLE" "$KEY" >"$WORK/advice.txt" <<'EOF' || { cat "$WORK/advice.txt"; fail "the index advice is not the right one"; }
import json, re, sys
recs, table, key = json.load(open(sys.argv[1]))["recommendations"], sys.argv[2], sys.argv[3]
ok = True
print(f"{len(recs)} open index recommendation(s):")
for r in recs:
    print(f"  [{r['kind']}/{r['severity']}] {r['title']} (confidence {r['confidence']:.2f})")
    print(f"    action: {r.get('action')}")
    print("    summary: " + r["summary"].replace("\n", "\n             "))
ddl = [r for r in recs if re.search(rf'create index .* on ("?public"?\.)?"?{table}"?\s*(using btree\s*)?\(\s*"?{key}"?\s*[,)]',
                                      (r.get("action") or "").lower())]
if not ddl:
    print(f"FAIL: no open index recommendation creates an index on {table} ({key}, …)"); sys.exit(1)
r = ddl[0]
text = json.dumps(r)
if "calls per" not in text:
    print("FAIL: its evidence does not say how often a request runs the statement ('calls per')"); ok = False
routes = sorted(set(re.findall(r'/store/carts/:id[/\w:-]*', text)))
if not routes:
    print("FAIL: its evidence names no checkout route (/store/carts/:id…)"); ok = False
else:
    print(f"routes named: {', '.join(routes)}")
m = re.search(r'create index\s+(?:concurrently\s+)?(?:if not exists\s+)?("[^"]+"|\S+)', r["action"], re.I)
print("ADVISED_INDEX=" + (m.group(1) if m else ""))
print("DDL=" + r["action"].strip().splitlines()[0] if "\n" in r["action"].strip() else "DDL=" + r["action"].strip())
sys.exit(0 if ok else 1)
EOF
grep -v '^ADVISED_INDEX=\|^DDL=' "$WORK/advice.txt"
ADVISED=$(sed -n 's/^ADVISED_INDEX=//p' "$WORK/advice.txt")
DDL=$(sed -n 's/^DDL=//p' "$WORK/advice.txt")
python3 -c "import sys; sys.exit(0 if $TO_ADVICE <= $ADVICE_WITHIN_S else 1)" ||
  fail "the advice took $TO_ADVICE s (> $ADVICE_WITHIN_S s) after the first slow checkout"
log "advice: OK ($TO_ADVICE s ≤ $ADVICE_WITHIN_S s; DDL: $DDL)"

# --- Issue 12: what Headroom costs, and what else is open -------------------
# Still without the index (the state issue 12 describes): optionally keep the
# checkouts going MEDUSA_LAB_SOAK seconds after the first one (issue 12 says
# 10 minutes: 600), then list what is open at warning or above.
if [ "$SOAK" -gt 0 ]; then
  left=$(python3 -c "import time; print(max(0, int($FIRST + $SOAK - time.time())))")
  log "checkouts go on for $left s more (MEDUSA_LAB_SOAK=$SOAK)"
  sleep "$left"
fi
# The overhead warning needs 100 exports and two passes, and the agent's own
# time a few scrapes: the advice can come before either (up to 120 s more).
for _ in $(seq 120); do
  curl -sf "$API/api/v1/recommendations?state=open&severity=warning,critical" >"$WORK/warn.json" || true
  curl -sf --get "$API/api/v1/series" --data-urlencode "name=headroom_agent_pg_exec_ms_total" \
    --data-urlencode "from=$(((T_START - 60) * 1000))" >"$WORK/own.json" || true
  python3 - "$WORK/warn.json" "$WORK/own.json" <<'EOF' 2>/dev/null && break
import json, sys
recs = json.load(open(sys.argv[1]))["recommendations"]
points = max(len(s["points"]) for s in json.load(open(sys.argv[2]))["series"])
overhead = any(r["kind"] == "app" and "span" in (r["title"] + r["summary"]).lower() for r in recs)
sys.exit(0 if overhead and points >= 5 else 1)
EOF
  sleep 1
done
curl -sf --get "$API/api/v1/series" --data-urlencode "name=headroom_agent_pg_exec_ms_total" \
  --data-urlencode "from=$(((T_START - 60) * 1000))" >"$WORK/own.json" || fail "could not read headroom_agent_pg_exec_ms_total"
python3 - "$WORK/own.json" <<'EOF' || fail "no headroom_agent_pg_exec_ms_total series"
import json, sys
series = json.load(open(sys.argv[1]))["series"]
if not series:
    print("no series"); sys.exit(1)
for s in series:
    p = s["points"]
    if len(p) < 2:
        print(f"  {s['labels']}: {len(p)} point(s)"); continue
    minutes = (p[-1][0] - p[0][0]) / 60000
    rate = (p[-1][1] - p[0][1]) / minutes if minutes > 0 else float("nan")
    print(f"the agent's own database time {s['labels']}: {rate:.1f} ms per minute "
          f"({p[-1][1] - p[0][1]:.1f} ms over {minutes:.1f} min, {len(p)} points: "
          f"{(p[-1][1] - p[0][1]) / (len(p) - 1):.1f} ms per scrape)")
EOF
# Where the agent's database time goes (its statements carry a marker).
log "the agent's own statements since the statistics reset (pg_stat_statements), by time:"
psql_ -F ' | ' -c "select calls, round(total_exec_time::numeric, 1) || ' ms', round(mean_exec_time::numeric, 2) || ' ms/call',
    left(regexp_replace(query, '\s+', ' ', 'g'), 110)
  from pg_stat_statements where query like '/* headroom-agent */%' order by total_exec_time desc limit 5" | sed 's/^/  /'
curl -sf "$API/api/v1/recommendations?state=open&severity=warning,critical" >"$WORK/warn.json" ||
  fail "could not list the open recommendations"
python3 - "$WORK/warn.json" <<'EOF' || fail "the instrumentation-overhead warning is not open"
import json, sys
recs = json.load(open(sys.argv[1]))["recommendations"]
print(f"{len(recs)} open recommendation(s) at warning or above:")
for r in recs:
    print(f"  [{r['kind']}/{r['severity']}] {r['title']} (confidence {r['confidence']:.2f})")
    print("      " + r["summary"][:600].replace("\n", " "))
overhead = [r for r in recs if r["kind"] == "app" and "span" in (r["title"] + r["summary"]).lower()]
sys.exit(0 if overhead else 1)
EOF

# --- Apply it; the statement before and after ------------------------------
stop_load
BEFORE_ROWS=$(wc -l <"$CSV")
# The statement: the checkout lookup on the table's key, most calls first.
STATEMENTS="select queryid from pg_stat_statements s join pg_database d on d.oid = s.dbid
  where d.datname = 'medusa' and s.query ilike 'select %from \"$TABLE\"%\"$KEY\" in (%' order by s.calls desc"
QUERYID=$(psql_ -c "$STATEMENTS limit 1")
[ -n "$QUERYID" ] || fail "no statement on $TABLE ($KEY IN …) in pg_stat_statements"
stmt() {
  psql_ -F '|' -c "select calls, round(mean_exec_time::numeric, 3), left(regexp_replace(query, '\s+', ' ', 'g'), 140)
    from pg_stat_statements where queryid = $QUERYID"
}
BEFORE=$(stmt)
log "applying: $DDL"
psql_ -c "$DDL"
ADVISED_INDEX=$ADVISED
psql_ -c "select pg_stat_statements_reset(0, 0, $QUERYID)" >/dev/null
log "running $AFTER checkouts with the index"
CSV_OUT="$CSV" LAB_DIR="$LAB_DIR" "$LAB/checkout.sh" "$AFTER" >>"$WORK/checkout.log" 2>&1 ||
  skip "checkout.sh failed against the store after the DDL (not Headroom)"
AFTER_STMT=$(stmt)
python3 - "$CSV" "$BEFORE_ROWS" "$BEFORE" "$AFTER_STMT" <<'EOF' || fail "the advised index did not make the statement ≥ 10× faster"
import csv, statistics, sys
path, split, before, after = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = list(csv.reader(open(path)))
steps = []
for r in rows:
    if r[1] not in steps: steps.append(r[1])
def avg(part, step):
    v = [float(r[3]) for r in part if r[1] == step and r[2].startswith("2")]
    return (statistics.mean(v), len(v)) if v else (float("nan"), 0)
print("checkout steps (curl time_total, ms): before (no index) -> after (advised index)")
for step in steps:
    (b, nb), (a, na) = avg(rows[:split], step), avg(rows[split:], step)
    print(f"  {step:26s} {b:8.1f} (n={nb}) -> {a:8.1f} (n={na})")
tb = sum(avg(rows[:split], s)[0] for s in steps); ta = sum(avg(rows[split:], s)[0] for s in steps)
print(f"  {'sum of averages':26s} {tb:8.1f}        -> {ta:8.1f}")
cb, mb, text = before.split("|", 2); ca, ma, _ = after.split("|", 2)
mb, ma = float(mb), float(ma)
print(f"the statement: {text}")
print(f"  mean before: {mb:.3f} ms over {cb} calls; after: {ma:.3f} ms over {ca} calls: {mb / max(ma, 1e-3):.0f}x faster")
sys.exit(0 if ma * 10 <= mb else 1)
EOF
log "DDL: OK"

log "OK"
