# Shared helpers for the integration tests: start a group of real
# `chorus peer --json` processes on loopback, feed them commands, wait for
# conditions (never fixed sleeps for correctness), and clean up.
# POSIX sh; source it with `. tests/integration/lib/peers.sh`.
#
# Each peer NAME gets, in $GRP_DIR: NAME.in (a FIFO kept open by a holder
# process, so the peer's stdin stays open until grp_close), NAME.out (its
# JSON transcript), NAME.err (stderr), NAME.pid and NAME.hold (pids).

CHORUS=${CHORUS:-./chorus}
GRP_NAMES_ALL="alice bob carol dave erin frank grace heidi ivan judy"
GRP_READY_TIMEOUT=${GRP_READY_TIMEOUT:-15}
GRP_DIR=
GRP_NAMES=
GRP_BASE=

# nap: a short pause between polls (fractional sleep where supported).
nap() { sleep 0.05 2>/dev/null || sleep 1; }

now_s() { date +%s; }

# now_ms: wall-clock milliseconds since the Unix epoch, the clock of the
# "time_ms" field of view events. date +%s%N (GNU, busybox) where it works;
# elsewhere whole seconds, so a measured interval may be up to 1 s short.
now_ms() {
  _nm=$(date +%s%N 2>/dev/null)
  case $_nm in
    ''|*[!0-9]*) echo $(( $(date +%s) * 1000 )) ;;
    *) echo $(( _nm / 1000000 )) ;;
  esac
}

# wait_until SECONDS CMD...: run CMD until it succeeds; 1 on timeout.
wait_until() {
  _wu_end=$(( $(now_s) + $1 )); shift
  while ! "$@"; do
    [ "$(now_s)" -ge "$_wu_end" ] && return 1
    nap
  done
  return 0
}

# grp_names N: the first N names.
grp_names() {
  echo "$GRP_NAMES_ALL" | awk -v n="$1" '{ for (i = 1; i <= n; i++) printf "%s%s", $i, (i < n ? " " : "\n") }'
}

# grp_port NAME: the port of NAME in the current group.
grp_port() {
  _gp_i=0
  for _gp_n in $GRP_NAMES; do
    [ "$_gp_n" = "$1" ] && { echo $((GRP_BASE + _gp_i)); return 0; }
    _gp_i=$((_gp_i + 1))
  done
  return 1
}

grp_alive() { kill -0 "$(cat "$GRP_DIR/$1.pid")" 2>/dev/null; }

grp_has_ready() { grep -q '"event":"ready"' "$GRP_DIR/$1.out" 2>/dev/null; }

# grp_launch NAME OPTS...: start one peer (and its stdin holder).
grp_launch() {
  _gl_name=$1; shift
  _gl_args="--name $_gl_name --listen 127.0.0.1:$(grp_port "$_gl_name") --json"
  # With GRP_SERVER (HOST:PORT) the peers find each other through a chorus
  # server; the password is in $GRP_DIR/pw.
  if [ -n "${GRP_SERVER:-}" ]; then
    _gl_args="$_gl_args --server $GRP_SERVER --password-file $GRP_DIR/pw"
  else
    for _gl_p in $GRP_NAMES; do
      [ "$_gl_p" = "$_gl_name" ] || _gl_args="$_gl_args --peer $_gl_p@127.0.0.1:$(grp_port "$_gl_p")"
    done
  fi
  _gl_wrap=
  [ "$_gl_name" = "${GRP_WRAP_NAME:-}" ] && _gl_wrap=$GRP_WRAP_CMD
  rm -f "$GRP_DIR/$_gl_name.in" "$GRP_DIR/$_gl_name.out" "$GRP_DIR/$_gl_name.err"
  mkfifo "$GRP_DIR/$_gl_name.in"
  # shellcheck disable=SC2086  # word splitting of the option lists is intended
  $_gl_wrap "$CHORUS" peer $_gl_args "$@" <"$GRP_DIR/$_gl_name.in" \
    >"$GRP_DIR/$_gl_name.out" 2>"$GRP_DIR/$_gl_name.err" &
  echo $! >"$GRP_DIR/$_gl_name.pid"
  sleep 100000 >"$GRP_DIR/$_gl_name.in" &
  echo $! >"$GRP_DIR/$_gl_name.hold"
}

# All peers have either printed ready or exited.
grp_settled() {
  for _gs_n in $GRP_NAMES; do
    grp_has_ready "$_gs_n" || ! grp_alive "$_gs_n" || return 1
  done
  return 0
}

# grp_start DIR "NAMES" OPTS...: start the group, retrying with other ports
# when a port is taken. Per-peer options: define grp_opts NAME (prints them).
grp_start() {
  GRP_DIR=$1; GRP_NAMES=$2; shift 2
  mkdir -p "$GRP_DIR"
  GRP_BASE=$(( 20000 + ($$ * 37) % 30000 ))
  for _gs_try in 1 2 3 4 5 6; do
    for _gs_n in $GRP_NAMES; do
      # shellcheck disable=SC2046
      grp_launch "$_gs_n" "$@" $(grp_opts "$_gs_n" 2>/dev/null)
    done
    if ! wait_until "$GRP_READY_TIMEOUT" grp_settled; then
      echo "peers did not start within ${GRP_READY_TIMEOUT}s" >&2
      return 1
    fi
    _gs_ok=1
    for _gs_n in $GRP_NAMES; do grp_has_ready "$_gs_n" || _gs_ok=0; done
    [ $_gs_ok = 1 ] && return 0
    if ! grep -q "cannot bind" "$GRP_DIR"/*.err 2>/dev/null; then
      echo "a peer failed to start:" >&2
      cat "$GRP_DIR"/*.err >&2
      return 1
    fi
    grp_kill
    GRP_BASE=$(( GRP_BASE + 101 ))
  done
  echo "no free ports found" >&2
  return 1
}

# grp_send NAME LINE...: write command lines to NAME's stdin.
grp_send() {
  _gsd_n=$1; shift
  grp_alive "$_gsd_n" || { echo "grp_send: $_gsd_n is not running" >&2; return 1; }
  printf '%s\n' "$@" >"$GRP_DIR/$_gsd_n.in"
}

# grp_send_file NAME FILE: write a file of commands to NAME's stdin.
grp_send_file() {
  grp_alive "$1" || { echo "grp_send_file: $1 is not running" >&2; return 1; }
  cat "$2" >"$GRP_DIR/$1.in"
}

# grp_count NAME PATTERN: lines of NAME's transcript containing PATTERN.
grp_count() { grep -c -F -- "$2" "$GRP_DIR/$1.out" 2>/dev/null || true; }

# grp_close NAME...: close stdin (end of input: the peer flushes and exits).
grp_close() {
  for _gc_n in "$@"; do
    [ -f "$GRP_DIR/$_gc_n.hold" ] && kill "$(cat "$GRP_DIR/$_gc_n.hold")" 2>/dev/null
  done
  return 0
}

grp_all_exited() {
  for _ge_n in $GRP_NAMES; do grp_alive "$_ge_n" && return 1; done
  return 0
}

# grp_wait_exit SECONDS: wait for every peer to exit; 1 if some did not or
# exited non-zero (reported on stderr).
grp_wait_exit() {
  wait_until "$1" grp_all_exited || { echo "peers still running after $1 s" >&2; return 1; }
  _gw_rc=0
  for _gw_n in $GRP_NAMES; do
    wait "$(cat "$GRP_DIR/$_gw_n.pid")" 2>/dev/null
    _gw_s=$?
    if [ $_gw_s -ne 0 ]; then
      echo "$_gw_n exited with status $_gw_s" >&2
      _gw_rc=1
    fi
  done
  return $_gw_rc
}

grp_drop_name() {
  GRP_NAMES=$(echo "$GRP_NAMES" | tr ' ' '\n' | grep -v -x -F "$1" | tr '\n' ' ' | sed 's/ $//')
}

# grp_crash NAME: kill -9 one peer (no goodbye: a crash) and forget it, so
# the group's exit checks and cleanup skip it. Sets GRP_CRASH_MS to the time
# of the kill (now_ms). Run it in the main shell, not in $(...).
grp_crash() {
  _gcr_pid=$(cat "$GRP_DIR/$1.pid")
  _gcr_ms=$(now_ms)
  kill -9 "$_gcr_pid" 2>/dev/null
  kill "$(cat "$GRP_DIR/$1.hold")" 2>/dev/null
  wait "$_gcr_pid" 2>/dev/null
  rm -f "$GRP_DIR/$1.pid" "$GRP_DIR/$1.hold"
  grp_drop_name "$1"
  GRP_CRASH_MS=$_gcr_ms
}

# grp_forget NAME: drop a peer that exited by itself (after /quit) from the
# group and stop its stdin holder, once the caller has checked its exit.
grp_forget() {
  [ -f "$GRP_DIR/$1.hold" ] && kill "$(cat "$GRP_DIR/$1.hold")" 2>/dev/null
  rm -f "$GRP_DIR/$1.pid" "$GRP_DIR/$1.hold"
  grp_drop_name "$1"
}

# grp_kill: stop everything this group started (by pid, never by name).
grp_kill() {
  [ -n "$GRP_DIR" ] || return 0
  for _gk_f in "$GRP_DIR"/*.hold "$GRP_DIR"/*.pid; do
    [ -f "$_gk_f" ] && kill "$(cat "$_gk_f")" 2>/dev/null
  done
  for _gk_f in "$GRP_DIR"/*.pid; do
    [ -f "$_gk_f" ] || continue
    _gk_p=$(cat "$_gk_f")
    _gk_end=$(( $(now_s) + 5 ))
    while kill -0 "$_gk_p" 2>/dev/null && [ "$(now_s)" -lt "$_gk_end" ]; do nap; done
    kill -9 "$_gk_p" 2>/dev/null
  done
  rm -f "$GRP_DIR"/*.hold "$GRP_DIR"/*.pid
  return 0
}
