#!/bin/sh
# A private Docker Engine for airlock's tests and CI: its own socket, data root and exec root under
# /tmp/airlock-docker, so it never touches (or depends on) a system dockerd.
#
#   .ci/dockerd.sh start    start it (no-op when already answering); prints the DOCKER_HOST export line
#   .ci/dockerd.sh stop     stop it and wait until it has exited
#   .ci/dockerd.sh status   exit 0 when it answers
#
# Runs dockerd as root (it needs mounts, cgroups and iptables). The default bridge with iptables is used so
# that `-p 127.0.0.1:PORT:8000` reaches containers (checked on Debian 12, docker.io 20.10, kernel 6.x).
# Extra dockerd flags may be passed in AIRLOCK_DOCKERD_ARGS (e.g. "--iptables=false" where iptables is absent;
# published ports then go through docker-proxy, which still serves 127.0.0.1).
set -eu

BASE=${AIRLOCK_DOCKER_DIR:-/tmp/airlock-docker}
SOCK="$BASE/docker.sock"
PIDFILE="$BASE/docker.pid"
LOG="$BASE/dockerd.log"
HOST="unix://$SOCK"
DOCKERD=${DOCKERD:-$(command -v dockerd || echo /usr/sbin/dockerd)}

answers() {
  docker -H "$HOST" info >/dev/null 2>&1
}

running_pid() {
  [ -f "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE" 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start() {
  if answers; then
    echo "export DOCKER_HOST=$HOST"
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "dockerd.sh: must run as root to start dockerd" >&2
    exit 1
  fi
  [ -x "$DOCKERD" ] || { echo "dockerd.sh: dockerd not found (apt-get install docker.io)" >&2; exit 1; }
  mkdir -p "$BASE/data" "$BASE/exec"
  # A pid file left by a killed engine would make dockerd refuse to start.
  if ! running_pid >/dev/null; then rm -f "$PIDFILE" "$SOCK"; fi
  if ! running_pid >/dev/null; then
    # setsid: the engine must outlive this shell and not receive the caller's signals.
    # shellcheck disable=SC2086
    setsid "$DOCKERD" \
      --host "$HOST" \
      --data-root "$BASE/data" \
      --exec-root "$BASE/exec" \
      --pidfile "$PIDFILE" \
      ${AIRLOCK_DOCKERD_ARGS:-} \
      >>"$LOG" 2>&1 </dev/null &
  fi
  i=0
  until answers; do
    i=$((i + 1))
    if [ "$i" -gt 120 ]; then
      echo "dockerd.sh: dockerd did not answer within 60 s; last log lines:" >&2
      tail -n 20 "$LOG" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  echo "export DOCKER_HOST=$HOST"
}

stop() {
  pid=$(running_pid || true)
  if [ -z "$pid" ]; then
    rm -f "$PIDFILE"
    echo "dockerd.sh: not running"
    return 0
  fi
  kill "$pid"
  i=0
  while kill -0 "$pid" 2>/dev/null; do
    i=$((i + 1))
    if [ "$i" -gt 60 ]; then
      echo "dockerd.sh: dockerd ($pid) did not exit within 30 s" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "dockerd.sh: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) answers ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
