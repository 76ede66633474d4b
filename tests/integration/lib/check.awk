# Transcript checker for `chorus peer --json` outputs (POSIX awk; mawk-safe).
#
#   awk -f check.awk [-v need_bye=1] [-v allow_errors=1] [-v same_order=1] DIR/*.out
#
# Each file is one peer's stdout. The first "ready" event names the peer.
# For every receiver R and every sender S (R itself included: a sender
# delivers its own room messages at their place in the room's order) it
# checks that the room messages R delivered from S are exactly S's "sent"
# room messages, in send order (nothing lost, no duplicate, FIFO, ids and
# text byte-identical), and the same for the private messages S sent to R.
# Also: sender epochs match their ready event, no unexpected "error" events,
# (need_bye) every peer said bye, and (same_order, for total/safe order)
# every transcript delivered the room messages in one and the same order.
# Prints FAIL lines and a summary; exits 1 on any failure.

# jstr(line, key): the raw (still JSON-escaped) string value of "key".
# Keys are matched as "key":" so escaped text (\"key\":) never matches.
function jstr(line, key,    pat, i, n, c, out) {
  pat = "\"" key "\":\""
  i = index(line, pat)
  if (i == 0) return ""
  i += length(pat)
  n = length(line)
  out = ""
  for (; i <= n; i++) {
    c = substr(line, i, 1)
    if (c == "\\") { out = out c substr(line, i + 1, 1); i++; continue }
    if (c == "\"") break
    out = out c
  }
  return out
}

# jnum(line, key): the unsigned integer value of "key", or -1.
function jnum(line, key,    pat, i, rest) {
  pat = "\"" key "\":"
  i = index(line, pat)
  if (i == 0) return -1
  rest = substr(line, i + length(pat))
  if (!match(rest, /^[0-9]+/)) return -1
  return substr(rest, 1, RLENGTH) + 0
}

function fail(msg) {
  failures++
  if (failures <= 40) print "FAIL: " msg
}

FNR == 1 { who = "" }

{
  ev = jstr($0, "event")
  if (ev == "ready") {
    who = jstr($0, "name")
    if (who in epoch) fail("two transcripts for " who)
    epoch[who] = jnum($0, "epoch")
    npeers++
    peer[npeers] = who
    file_of[who] = FILENAME
    next
  }
  if (who == "") {
    if (!(FILENAME in noready)) fail(FILENAME ": no ready event before other output")
    noready[FILENAME] = 1
    next
  }
  if (ev == "sent") on_sent()
  else if (ev == "msg") on_msg()
  else if (ev == "bye") bye[who] = 1
  else if (ev == "error" && !allow_errors) fail(who ": error event: " $0)
}

function on_sent(    kind, to, rec) {
  kind = jstr($0, "kind")
  rec = jnum($0, "id") " " jstr($0, "text")
  if (kind == "room") {
    sroom[who, ++nsroom[who]] = rec
  } else {
    to = jstr($0, "to")
    spriv[who, to, ++nspriv[who, to]] = rec
  }
}

function on_msg(    kind, from, rec) {
  kind = jstr($0, "kind")
  from = jstr($0, "from")
  rec = jnum($0, "id") " " jstr($0, "text")
  msgs_from[from] = 1
  last_epoch[who, from] = jnum($0, "epoch")
  if (kind == "room") {
    groom[who, from, ++ngroom[who, from]] = rec
    order_of[who] = order_of[who] from ":" jnum($0, "id") " "
    room_total++
  } else {
    gpriv[who, from, ++ngpriv[who, from]] = rec
    priv_total++
  }
}

# compare(R, S, what, nsent, ngot, sent array prefix via getters)
function check_seq(r, s, what, ns, ng, isroom,    k, want, got) {
  for (k = 1; k <= ns && k <= ng; k++) {
    want = isroom ? sroom[s, k] : spriv[s, r, k]
    got = isroom ? groom[r, s, k] : gpriv[r, s, k]
    if (want != got) {
      fail(r ": " what " from " s ": delivery #" k " should be [" want "] but is [" got "]")
      return
    }
  }
  if (ng < ns) fail(r ": " what " from " s ": got " ng " of " ns " (lost " ns - ng ")")
  if (ng > ns) fail(r ": " what " from " s ": got " ng " but only " ns " were sent (duplicates)")
}

# check_order(a, b): a and b delivered the room messages in the same order.
function check_order(a, b,    na, nb, x, y, k) {
  if (order_of[a] == order_of[b]) return
  na = split(order_of[a], x, " ")
  nb = split(order_of[b], y, " ")
  for (k = 1; k <= na && k <= nb; k++)
    if (x[k] != y[k]) {
      fail("total order: room delivery #" k " is " x[k] " at " a " but " y[k] " at " b)
      return
    }
  fail("total order: " a " delivered " na " room messages, " b " delivered " nb)
}

END {
  if (npeers == 0) { print "FAIL: no transcripts"; exit 1 }
  for (f in msgs_from) if (!(f in epoch)) fail("message from unknown sender " f)
  for (i = 1; i <= npeers; i++) {
    r = peer[i]
    if (need_bye && !(r in bye)) fail(r ": no bye event (did not exit cleanly)")
    for (j = 1; j <= npeers; j++) {
      s = peer[j]
      if (((r, s) in last_epoch) && last_epoch[r, s] != epoch[s])
        fail(r ": messages from " s " carry epoch " last_epoch[r, s] ", its ready said " epoch[s])
      check_seq(r, s, "room messages", nsroom[s] + 0, ngroom[r, s] + 0, 1)
      if (s == r && ngpriv[r, s] + 0 > 0) fail(r ": delivered a private message from itself")
      if (s != r) check_seq(r, s, "private messages", nspriv[s, r] + 0, ngpriv[r, s] + 0, 0)
    }
    if (same_order && i > 1) check_order(peer[1], r)
  }
  if (failures > 40) print "FAIL: ... " failures - 40 " more failures not shown"
  if (failures) {
    print "transcripts: FAILED (" failures " problems)"
    exit 1
  }
  printf "transcripts: OK: %d peers, %d room and %d private deliveries, " \
         "none lost, no duplicates, FIFO per sender%s\n", npeers, room_total, priv_total,
         same_order ? ", one room order everywhere" : ""
}
