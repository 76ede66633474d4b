# Shared helpers of the portability scripts (tests/port/musl.sh,
# tests/port/s390x.sh). POSIX sh; sourced, never run. The caller has done
# `cd` to the repository root.
#
#   port_build DIR CC [MAKE VAR=VALUE...]  build chorus and the unit tests in
#                                   DIR with the project Makefile (its warning
#                                   flags, -Werror included); log in DIR.log
#   port_check_static FILE          FILE is a statically linked executable
#   port_sim_cases CHORUS           the `chorus sim` argument lists compared
#                                   across builds, one per line
#   port_compare_sims NAME RUN...   run every case with the native build and
#                                   with RUN... (e.g. qemu-s390x-static
#                                   build-port/s390x/chorus); print the hashes
#                                   side by side; 1 if any differ
#   port_units NAME DIR RUN...      run every DIR/test_* through RUN...
#   port_chat NAME T CHORUS_WRAPPER peers on loopback (lib/peers.sh), every
#                                   transcript checked by check.awk

PORT_JOBS=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
PORT_NATIVE_DIR=${PORT_NATIVE_DIR:-build-port/native}
PORT_NATIVE=$PORT_NATIVE_DIR/chorus
PORT_OPT=${PORT_OPT:--O2 -g}

port_build() {
  _pb_dir=$1; _pb_cc=$2; shift 2
  mkdir -p "$_pb_dir" || return 1
  echo "port: building $_pb_dir with $_pb_cc $*"
  if ! make -j"$PORT_JOBS" CC="$_pb_cc" OPT="$PORT_OPT" B="$_pb_dir" BIN="$_pb_dir/chorus" \
       "$@" all >"$_pb_dir.log" 2>&1; then
    echo "port: FAIL: the build in $_pb_dir failed; the end of $_pb_dir.log:"
    tail -n 25 "$_pb_dir.log" | sed 's/^/  | /'
    return 1
  fi
  # The linker's notes (glibc's static getaddrinfo) are worth seeing once.
  grep -i 'warning' "$_pb_dir.log" | sort -u | sed 's/^/  note: /' | head -n 5
  return 0
}

# Native reference build (the host compiler, dynamic, same flags).
port_build_native() { port_build "$PORT_NATIVE_DIR" "${CC:-cc}"; }

port_check_static() {
  _pc_ok=1
  if command -v file >/dev/null 2>&1; then
    _pc_f=$(file -b "$1")
    echo "port: file $1: $_pc_f" | sed 's/, BuildID[^,]*//'
    case $_pc_f in
      *"statically linked"* | *"static-pie linked"*) ;;
      *) echo "port: FAIL: file(1) does not call $1 statically linked: $_pc_f"; _pc_ok=0 ;;
    esac
  else
    echo "port: note: file(1) is not installed (apt-get install file); checking with ldd only"
  fi
  if command -v ldd >/dev/null 2>&1; then
    _pc_l=$(ldd "$1" 2>&1)
    case $_pc_l in
      *"not a dynamic executable"* | *"statically linked"*) echo "port: ldd: $_pc_l" ;;
      *) echo "port: FAIL: ldd lists libraries for $1:"; echo "$_pc_l" | sed 's/^/  | /'; _pc_ok=0 ;;
    esac
  fi
  [ $_pc_ok = 1 ]
}

# The cases. Options that only newer simulators know are added when the
# native build's --help lists them.
port_sim_cases() {
  cat <<'EOF'
--seed 1
--seed 2
--seed 3 --loss 0.3 --dup 0.2 --reorder 0.3
--seed 4 --nodes 10 --duration 3 --rate 200 --loss 0.2 --dup 0.2 --reorder 0.2
--seed 5 --order fifo --loss 0.1 --dup 0.1 --reorder 0.1
--seed 6 --order causal --loss 0.1 --dup 0.1 --reorder 0.1
--seed 7 --order safe --loss 0.1 --dup 0.1 --reorder 0.1
--seed 8 --nodes 2 --rate 500 --duration 2 --loss 0.3 --delay 0:0
EOF
  _ps_help=$("$1" sim --help 2>&1)
  case $_ps_help in *--swarm*) printf '%s\n' "--seed 9 --swarm" "--seed 10 --swarm" ;; esac
  case $_ps_help in *--crashes*) printf '%s\n' "--seed 11 --nodes 6 --crashes 2 --loss 0.1 --dup 0.1" ;; esac
  return 0
}

# A sweep compared line by line (stops at the first failing seed on both).
PORT_SWEEP="--seeds 1..${PORT_SWEEP_SEEDS:-100} --loss 0.2 --dup 0.1 --reorder 0.2"

# field LINE KEY: the value of KEY=VALUE in a summary line.
port_field() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }

# port_compare_sims NAME RUN...: compare every case; prints a table.
port_compare_sims() {
  _pcs_name=$1; shift
  _pcs_bad=0
  _pcs_tmp=$(mktemp -d "${TMPDIR:-/tmp}/chorus-port.XXXXXX") || return 1
  printf '%-16s  %-16s  %-5s %-9s %s\n' "x86-64 hash" "$_pcs_name hash" match verdict "chorus sim ..."
  port_sim_cases "$PORT_NATIVE" >"$_pcs_tmp/cases"
  while IFS= read -r _pcs_args; do
    # shellcheck disable=SC2086  # the argument list is split on purpose
    _pcs_a=$("$PORT_NATIVE" sim $_pcs_args 2>&1 </dev/null | head -n 1)
    # shellcheck disable=SC2086
    _pcs_b=$("$@" sim $_pcs_args 2>&1 </dev/null | head -n 1)
    _pcs_ha=$(port_field "$_pcs_a" hash)
    _pcs_hb=$(port_field "$_pcs_b" hash)
    _pcs_v=$(port_field "$_pcs_a" verdict)
    _pcs_mark=same
    if [ -z "$_pcs_ha" ] || [ "$_pcs_ha" != "$_pcs_hb" ] || [ "$_pcs_a" != "$_pcs_b" ]; then
      _pcs_mark=DIFFERENT; _pcs_bad=1
    fi
    printf '%-16s  %-16s  %-5s %-9s %s\n' "${_pcs_ha:-none}" "${_pcs_hb:-none}" \
      "$([ "$_pcs_mark" = same ] && echo yes || echo NO)" "${_pcs_v:-?}" "$_pcs_args"
    if [ "$_pcs_mark" != same ]; then
      echo "    native: $_pcs_a"
      echo "    $_pcs_name: $_pcs_b"
    fi
  done <"$_pcs_tmp/cases"

  # Whole traces, byte for byte, for two cases.
  for _pcs_args in "--seed 1" "--seed 4 --nodes 10 --duration 3 --rate 200 --loss 0.2 --dup 0.2 --reorder 0.2"; do
    # shellcheck disable=SC2086
    "$PORT_NATIVE" sim $_pcs_args --trace "$_pcs_tmp/a.trace" >/dev/null 2>&1 </dev/null
    # shellcheck disable=SC2086
    "$@" sim $_pcs_args --trace "$_pcs_tmp/b.trace" >/dev/null 2>&1 </dev/null
    if [ -s "$_pcs_tmp/a.trace" ] && cmp -s "$_pcs_tmp/a.trace" "$_pcs_tmp/b.trace"; then
      echo "trace of '$_pcs_args': byte-identical ($(wc -l <"$_pcs_tmp/a.trace" | tr -d ' ') lines, $(wc -c <"$_pcs_tmp/a.trace" | tr -d ' ') bytes)"
    else
      echo "trace of '$_pcs_args': DIFFERENT ($(cmp "$_pcs_tmp/a.trace" "$_pcs_tmp/b.trace" 2>&1 | head -n 1))"
      _pcs_bad=1
    fi
  done

  # A sweep: every per-seed summary line equal.
  # shellcheck disable=SC2086
  "$PORT_NATIVE" sim $PORT_SWEEP 2>&1 </dev/null | grep '^seed=' >"$_pcs_tmp/a.sweep"
  # shellcheck disable=SC2086
  "$@" sim $PORT_SWEEP 2>&1 </dev/null | grep '^seed=' >"$_pcs_tmp/b.sweep"
  _pcs_n=$(wc -l <"$_pcs_tmp/a.sweep" | tr -d ' ')
  if [ "$_pcs_n" -gt 0 ] && cmp -s "$_pcs_tmp/a.sweep" "$_pcs_tmp/b.sweep"; then
    echo "sweep '$PORT_SWEEP': $_pcs_n seeds, every summary line identical (digest $(cksum <"$_pcs_tmp/a.sweep" | cut -d' ' -f1))"
  else
    echo "sweep '$PORT_SWEEP': DIFFERENT: $_pcs_n native lines, $(wc -l <"$_pcs_tmp/b.sweep" | tr -d ' ') $_pcs_name lines"
    diff "$_pcs_tmp/a.sweep" "$_pcs_tmp/b.sweep" | head -n 6 | sed 's/^/  | /'
    _pcs_bad=1
  fi
  rm -rf "$_pcs_tmp"
  if [ $_pcs_bad = 0 ]; then
    echo "port: $_pcs_name and x86-64 agree on every trace hash"
  else
    echo "port: FAIL: $_pcs_name and x86-64 disagree (see above)"
  fi
  [ $_pcs_bad = 0 ]
}

# port_units NAME DIR RUN...: every unit test of DIR through RUN... (which
# may be empty). PORT_SKIP_UNITS="test_x test_y" skips some, said aloud.
port_units() {
  _pu_name=$1; _pu_dir=$2; shift 2
  _pu_bad=0; _pu_n=0
  for _pu_t in "$_pu_dir"/test_*; do
    [ -f "$_pu_t" ] && [ -x "$_pu_t" ] || continue
    _pu_b=$(basename "$_pu_t")
    case " ${PORT_SKIP_UNITS:-} " in
      *" $_pu_b "*) echo "  SKIP  $_pu_b (PORT_SKIP_UNITS)"; continue ;;
    esac
    _pu_n=$((_pu_n + 1))
    if "$@" "$_pu_t" >"$_pu_t.out" 2>&1 </dev/null; then
      echo "  PASS  $_pu_b ($(tail -n 1 "$_pu_t.out"))"
    else
      echo "  FAIL  $_pu_b:"; tail -n 15 "$_pu_t.out" | sed 's/^/      | /'
      _pu_bad=1
    fi
  done
  [ $_pu_n -gt 0 ] || { echo "port: FAIL: no unit tests in $_pu_dir"; return 1; }
  [ $_pu_bad = 0 ] && echo "port: $_pu_n $_pu_name unit tests passed"
  [ $_pu_bad = 0 ]
}

# port_chat T CHORUS NAMES: real peers on loopback (CHORUS may be a wrapper
# that picks the binary by --name), each sends room and private messages;
# check.awk checks every transcript. Needs tests/integration/lib/peers.sh
# sourced by the caller.
port_chat() {
  # shellcheck disable=SC2034  # CHORUS is read by lib/peers.sh
  CHORUS=$2
  _pch_names=$3
  _pch_n=$(echo "$_pch_names" | wc -w | tr -d ' ')
  GRP_READY_TIMEOUT=${GRP_READY_TIMEOUT:-30}
  grp_start "$1" "$_pch_names" --drop 0.1 --seed 5 || return 1
  for _pch_me in $_pch_names; do
    : >"$1/$_pch_me.cmds"
    for _pch_k in 1 2 3 4 5 6 7 8 9 10; do
      printf 'room %s %d h\303\251llo\n' "$_pch_me" "$_pch_k" >>"$1/$_pch_me.cmds"
      for _pch_to in $_pch_names; do
        [ "$_pch_to" = "$_pch_me" ] || [ $((_pch_k % 5)) -ne 0 ] ||
          echo "/msg $_pch_to dm $_pch_me->$_pch_to $_pch_k" >>"$1/$_pch_me.cmds"
      done
    done
  done
  for _pch_me in $_pch_names; do grp_send_file "$_pch_me" "$1/$_pch_me.cmds" || return 1; done
  _pch_want=$((_pch_n * 10 + 2 * (_pch_n - 1)))
  port_chat_done() {
    for _pcd in $_pch_names; do [ "$(grp_count "$_pcd" '"event":"msg"')" -ge "$_pch_want" ] || return 1; done
  }
  wait_until 60 port_chat_done || echo "port: not every message delivered within 60 s"
  grp_close $_pch_names
  _pch_ok=1
  grp_wait_exit 30 || _pch_ok=0
  awk -v need_bye=1 -v same_order=1 -f tests/integration/lib/check.awk "$1"/*.out || _pch_ok=0
  [ $_pch_ok = 1 ]
}
