# Transcript checker for `chorus peer --json` outputs (POSIX awk; mawk-safe).
#
#   awk -f check.awk [-v need_bye=1] [-v allow_errors=1] [-v same_order=1]
#                    [-v crashed="NAME ..."] [-v left="NAME ..."] [-v same_views=1]
#                    [-v views_until=EVENT] [-v ignore="NAME ..."] DIR/*.out
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
#
# Members that did not stay to the end change what can be asked of them:
#   crashed  (killed with kill -9): as a receiver, what it delivered from each
#            sender is a prefix of what that sender sent (integrity, FIFO, no
#            duplicate) and its order is not checked (a sequencer may have
#            delivered its own last message alone); as a sender, every peer
#            that stayed delivered the same prefix of its messages
#            (agreement: all of a crashed sender's messages or none reach
#            the survivors), and need_bye does not apply.
#   left     (/quit): as a receiver, prefixes as above, and its room order is
#            a prefix of the others' (same_order); as a sender, everything it
#            sent before leaving was delivered to the peers that stayed.
#   same_views: every peer that stayed saw the same view changes (view number,
#            reason, member, members), and a peer that left saw a prefix of
#            them before its own "leaving" event. With views_until=EVENT
#            (e.g. stats), only the view events before a transcript's first
#            EVENT count: the script asks for it, and waits for it, before it
#            closes every input, and the leaves that follow (everyone at
#            once) are a race of who sees whose first.
#   ignore   messages sent by these members are not checked at all (a member
#            that restarted: its boots have transcripts of their own).
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

BEGIN {
  ncr = split(crashed, tmp, " ")
  for (i = 1; i <= ncr; i++) is_crashed[tmp[i]] = 1
  nlf = split(left, tmp, " ")
  for (i = 1; i <= nlf; i++) is_left[tmp[i]] = 1
  nig = split(ignore, tmp, " ")
  for (i = 1; i <= nig; i++) is_ignored[tmp[i]] = 1
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
    if (ev == "server") next  # logging in and joining come first
    if (!(FILENAME in noready)) fail(FILENAME ": no ready event before other output")
    noready[FILENAME] = 1
    next
  }
  if (ev == "sent") on_sent()
  else if (ev == "msg") on_msg()
  else if (ev == "bye") bye[who] = 1
  else if (ev == "leaving" || (views_until != "" && ev == views_until)) gone_out[who] = 1
  else if (ev == "view" && !(who in gone_out)) on_view()
  else if (ev == "error" && !allow_errors) fail(who ": error event: " $0)
}

# A view change as comparable text: the members sorted by name.
function on_view(    members, n, m, i, j, t, rec) {
  members = $0
  sub(/.*"members":\[/, "", members)
  sub(/\].*/, "", members)
  gsub(/"/, "", members)
  n = split(members, m, ",")
  for (i = 2; i <= n; i++)
    for (j = i; j > 1 && m[j - 1] > m[j]; j--) { t = m[j]; m[j] = m[j - 1]; m[j - 1] = t }
  rec = jnum($0, "view") " " jstr($0, "reason") " " jstr($0, "member") " ["
  for (i = 1; i <= n; i++) rec = rec (i > 1 ? " " : "") m[i]
  views_of[who] = views_of[who] rec "]\n"
  nviews[who]++
  views_total++
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
  if (from in is_ignored) return
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

# Peers that stayed to the end; the others' transcripts stop early.
function stayed(r) { return !(r in is_crashed) && !(r in is_left) }

# check_seq: what R delivered from S is what S sent, in order. With
# prefix = 1 (R did not stay, or S crashed) fewer deliveries are fine.
function check_seq(r, s, what, ns, ng, isroom, prefix,    k, want, got) {
  for (k = 1; k <= ns && k <= ng; k++) {
    want = isroom ? sroom[s, k] : spriv[s, r, k]
    got = isroom ? groom[r, s, k] : gpriv[r, s, k]
    if (want != got) {
      fail(r ": " what " from " s ": delivery #" k " should be [" want "] but is [" got "]")
      return
    }
  }
  if (ng < ns && !prefix) fail(r ": " what " from " s ": got " ng " of " ns " (lost " ns - ng ")")
  if (ng > ns) fail(r ": " what " from " s ": got " ng " but only " ns " were sent (duplicates)")
}

# check_order(a, b): a and b delivered the room messages in the same order
# (with prefix = 1: b's order is a prefix of a's).
function check_order(a, b, prefix,    na, nb, x, y, k) {
  if (order_of[a] == order_of[b]) return
  na = split(order_of[a], x, " ")
  nb = split(order_of[b], y, " ")
  for (k = 1; k <= na && k <= nb; k++)
    if (x[k] != y[k]) {
      fail("total order: room delivery #" k " is " x[k] " at " a " but " y[k] " at " b)
      return
    }
  if (prefix && nb <= na) return
  fail("total order: " a " delivered " na " room messages, " b " delivered " nb)
}

# Agreement on a crashed sender S: every peer that stayed delivered the
# same number of its room messages (check_seq showed they are prefixes).
function check_agreement(s,    i, r, first, n, nfirst) {
  first = ""
  for (i = 1; i <= npeers; i++) {
    r = peer[i]
    if (!stayed(r)) continue
    n = ngroom[r, s] + 0
    if (first == "") { first = r; nfirst = n; continue }
    if (n != nfirst)
      fail("agreement: " first " delivered " nfirst " room messages of crashed " s ", " r " " n)
  }
  if (first != "") agreed[s] = nfirst
}

# The view changes of a and b: the same (prefix = 1: b's are a prefix).
function check_views(a, b, prefix) {
  if (views_of[a] == views_of[b]) return
  if (prefix && index(views_of[a], views_of[b]) == 1) return
  fail("views: " a " saw\n" views_of[a] "but " b " saw\n" views_of[b])
}

function check_receiver(r,    j, s, partial) {
  for (j = 1; j <= npeers; j++) {
    s = peer[j]
    if (((r, s) in last_epoch) && last_epoch[r, s] != epoch[s])
      fail(r ": messages from " s " carry epoch " last_epoch[r, s] ", its ready said " epoch[s])
    partial = !stayed(r) || (s in is_crashed)
    check_seq(r, s, "room messages", nsroom[s] + 0, ngroom[r, s] + 0, 1, partial)
    if (s == r && ngpriv[r, s] + 0 > 0) fail(r ": delivered a private message from itself")
    if (s != r) check_seq(r, s, "private messages", nspriv[s, r] + 0, ngpriv[r, s] + 0, 0, partial)
  }
}

END {
  if (npeers == 0) { print "FAIL: no transcripts"; exit 1 }
  for (f in msgs_from) if (!(f in epoch)) fail("message from unknown sender " f)
  for (n in is_crashed) if (!(n in epoch)) fail("crashed " n ": no transcript")
  for (n in is_left) if (!(n in epoch)) fail("left " n ": no transcript")
  ref = ""
  for (i = 1; i <= npeers; i++) if (ref == "" && stayed(peer[i])) ref = peer[i]
  for (i = 1; i <= npeers; i++) {
    r = peer[i]
    if (need_bye && !(r in is_crashed) && !(r in bye)) fail(r ": no bye event (did not exit cleanly)")
    check_receiver(r)
    if (ref != "" && r != ref && !(r in is_crashed)) {
      if (same_order) check_order(ref, r, (r in is_left))
      if (same_views) check_views(ref, r, (r in is_left))
    }
  }
  for (n in is_crashed) check_agreement(n)
  if (failures > 40) print "FAIL: ... " failures - 40 " more failures not shown"
  if (failures) {
    print "transcripts: FAILED (" failures " problems)"
    exit 1
  }
  printf "transcripts: OK: %d peers, %d room and %d private deliveries, " \
         "none lost, no duplicates, FIFO per sender%s%s\n", npeers, room_total, priv_total,
         same_order ? ", one room order everywhere" : "",
         same_views ? ", the same " nviews[ref] + 0 " view changes everywhere" : ""
  for (n in agreed)
    printf "transcripts: agreement: every survivor delivered %d of the %d room messages " \
           "crashed %s had sent\n", agreed[n], nsroom[n] + 0, n
}
