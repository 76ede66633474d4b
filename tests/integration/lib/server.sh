# A chorus server for the integration tests whose peers join through it.
# Sourced after peers.sh. srv_start DIR starts `chorus server` with its data
# in DIR/data on a free loopback port (retrying when a port is taken) and
# sets SRV_PID, SRV_PORT and GRP_SERVER; srv_launch PORT restarts it on
# that port. grp_members NAME and grp_all_in_view N wait helpers follow.

SRV_PID=
SRV_DIR=
srv_ready() { grep -q "listening on" "$SRV_DIR/srv.log" 2>/dev/null || ! kill -0 "$SRV_PID" 2>/dev/null; }

srv_launch() {   # srv_launch PORT
  rm -f "$SRV_DIR/srv.log" # else srv_ready may read the last run's "listening on"
  "$CHORUS" server --listen "127.0.0.1:$1" --data "$SRV_DIR/data" --iterations 1000 \
    >"$SRV_DIR/srv.log" 2>"$SRV_DIR/srv.err" &
  SRV_PID=$!
  wait_until 20 srv_ready
  kill -0 "$SRV_PID" 2>/dev/null
}

srv_start() {   # srv_start DIR
  SRV_DIR=$1
  mkdir -p "$SRV_DIR"
  for _ss_try in 1 2 3 4 5 6; do
    SRV_PORT=$(( 20000 + ($$ * 13 + _ss_try * 977) % 30000 ))
    srv_launch "$SRV_PORT" && { GRP_SERVER=127.0.0.1:$SRV_PORT; return 0; }
    wait "$SRV_PID" 2>/dev/null
    SRV_PID=
    grep -q "cannot bind" "$SRV_DIR/srv.err" || break
  done
  echo "the server did not start: $(cat "$SRV_DIR/srv.err")" >&2
  return 1
}

srv_kill() { [ -n "$SRV_PID" ] && kill -9 "$SRV_PID" 2>/dev/null; SRV_PID=; }

# grp_members NAME: the member count of NAME's last view event (0 if none).
grp_members() {
  grep '"event":"view"' "$GRP_DIR/$1.out" 2>/dev/null | tail -1 |
    sed -n 's/.*"members":\[\([^]]*\)\].*/\1/p' | tr ',' '\n' | grep -c .
}

# grp_all_in_view N: every peer of the group is in a view of N members.
grp_all_in_view() {
  for _gv_n in $GRP_NAMES; do [ "$(grp_members "$_gv_n")" -eq "$1" ] || return 1; done
}
