#!/usr/bin/env bash
# The local AWS: a moto server on 127.0.0.1, started and stopped by the project itself.
#   local-aws.sh up | down | status | reset
#   local-aws.sh run -- CMD...   run CMD with the local AWS up; stop it afterwards if we started it
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
HOST=127.0.0.1
PORT=${MOTO_PORT:-5000}
STATE=$ROOT/.local
PIDFILE=$STATE/moto.pid
LOG=$STATE/moto.log
URL="http://$HOST:$PORT"

listening() { "$VENV/bin/python" -c "import socket,sys; s=socket.socket(); s.settimeout(0.5); sys.exit(s.connect_ex(('$HOST', $PORT)))"; }

up() {
  if listening; then
    echo "local AWS: already listening at $URL"
    return 0
  fi
  [[ -x $VENV/bin/moto_server ]] || { echo "local AWS: $VENV/bin/moto_server is missing; run 'make venv'" >&2; exit 1; }
  mkdir -p "$STATE"
  nohup "$VENV/bin/moto_server" -H "$HOST" -p "$PORT" >"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 100); do
    if listening; then echo "local AWS: moto server up at $URL (pid $(cat "$PIDFILE"), log $LOG)"; return 0; fi
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break
    sleep 0.2
  done
  echo "local AWS: moto server did not start; last lines of $LOG:" >&2
  tail -20 "$LOG" >&2 || true
  exit 1
}

down() {
  if [[ -f $PIDFILE ]]; then
    local pid; pid=$(cat "$PIDFILE")
    if kill "$pid" 2>/dev/null; then echo "local AWS: stopped (pid $pid)"; fi
    rm -f "$PIDFILE"
  else
    echo "local AWS: not started by this project (nothing to stop)"
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) if listening; then echo "local AWS: up at $URL"; else echo "local AWS: down"; exit 1; fi ;;
  reset) "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen(urllib.request.Request('$URL/moto-api/reset', method='POST'))" && echo "local AWS: state wiped" ;;
  run)
    shift; [[ ${1:-} == -- ]] && shift
    started=0
    if ! listening; then up; started=1; fi
    if [[ $started == 1 ]]; then trap down EXIT; fi
    "$@"
    ;;
  *) echo "usage: $0 up|down|status|reset|run -- CMD..." >&2; exit 2 ;;
esac
