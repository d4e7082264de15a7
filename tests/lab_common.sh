# Shared by tests/medusa_lab.sh and tests/medusa_lab_index.sh (sourced, not
# run): free ports, stopping a process, and (re)starting the Medusa lab with
# its OpenTelemetry pointed at an agent, then putting it back at exit.
# The caller defines LAB, LAB_DIR, WORK, log and skip, and LAB_STARTED=0 and
# LAB_RESTORE=() before calling lab_start_for_agent.

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Stops a process: TERM, then KILL after 10 s.
stop_pid() {
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
}

# (Re)starts the lab with OTLP to 127.0.0.1:$1. A Medusa already running is
# remembered (LAB_RESTORE: how it was started) so that lab_restore restarts
# it that way; SKIPPED when the lab cannot be installed or started.
lab_start_for_agent() {
  local otlp_port=$1 medusa_pid_file="$LAB_DIR/run/medusa.pid" environ key value reason
  if [ -f "$medusa_pid_file" ] && kill -0 "$(cat "$medusa_pid_file")" 2>/dev/null; then
    environ=$(tr '\0' '\n' <"/proc/$(cat "$medusa_pid_file")/environ" 2>/dev/null || true)
    LAB_RESTORE=(OTLP_SINK=0)
    for key in MEDUSA_OTEL OTEL_EXPORTER_OTLP_ENDPOINT OTEL_SERVICE_NAME MEDUSA_OTEL_PROCESSOR \
      MEDUSA_OTEL_INSTRUMENT MEDUSA_FF_CACHING; do
      value=$(printf '%s\n' "$environ" | sed -n "s/^$key=//p" | head -1)
      [ -n "$value" ] && LAB_RESTORE+=("$key=$value")
    done
    printf '%s\n' "$environ" | grep -q '^REDIS_URL=' && LAB_RESTORE+=(USE_REDIS=1)
    [ -f "$LAB_DIR/run/otlp_sink.pid" ] && LAB_RESTORE[0]=OTLP_SINK=auto
    log "the lab's Medusa is running: restarting it pointed at the agent"
  fi
  LAB_STARTED=1
  log "starting the lab (first install ~2 min)"
  if ! OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$otlp_port" OTLP_SINK=0 MEDUSA_OTEL=1 \
    "$LAB/up.sh" restart >"$WORK/up.log" 2>&1; then
    tail -20 "$WORK/up.log"
    if grep -q 'npm ci' "$WORK/up.log" && ! grep -q 'db:migrate\|starting medusa\|medusa ready' "$WORK/up.log"; then
      reason=$(grep -m1 -iE 'npm (error|ERR!) (code|network|request)|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT' \
        "$LAB_DIR/npm.log" 2>/dev/null | tr -s ' ' | cut -c1-160)
      skip "npm ci failed: ${reason:-see $LAB_DIR/npm.log}"
    fi
    skip "the lab did not start, for a reason other than Headroom: see the lines above"
  fi
  grep -E 'medusa ready|already running' "$WORK/up.log" | tail -1 || true
}

# At exit: restarts the lab as it was before lab_start_for_agent, or stops
# it when it was not running.
lab_restore() {
  [ "$LAB_STARTED" = 1 ] || return 0
  if [ ${#LAB_RESTORE[@]} -gt 0 ]; then
    log "restarting the lab as it was before"
    env "${LAB_RESTORE[@]}" "$LAB/up.sh" restart >"$WORK/up-restore.log" 2>&1 ||
      { log "could not restore the lab:"; tail -5 "$WORK/up-restore.log"; }
  else
    "$LAB/up.sh" stop >"$WORK/up-stop.log" 2>&1 || tail -5 "$WORK/up-stop.log"
  fi
}
