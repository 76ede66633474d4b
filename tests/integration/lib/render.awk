# Render a `chorus peer --json` transcript in the human chat format
# (without timestamps):  <bob> text   *bob* (private) text   -> *bob* ...
# and view changes:  -- carol crashed (view 3: alice bob dave), up to the
# node's own leave (what it sees afterwards is no longer the group's view).
# peer_up events are only counted, and shown with the final bye.
# POSIX awk. Usage: awk -f render.awk FILE

function jstr(line, key,    pat, i, n, c, out) {
  pat = "\"" key "\":\""
  i = index(line, pat)
  if (i == 0) return ""
  i += length(pat)
  n = length(line)
  out = ""
  for (; i <= n; i++) {
    c = substr(line, i, 1)
    if (c == "\\") {
      c = substr(line, ++i, 1)
      if (c == "u") { out = out "?"; i += 4; continue }   # control character
      out = out c
      continue
    }
    if (c == "\"") break
    out = out c
  }
  return out
}

function jnum(line, key,    pat, i, rest) {
  pat = "\"" key "\":"
  i = index(line, pat)
  if (i == 0) return ""
  rest = substr(line, i + length(pat))
  match(rest, /^[0-9]+/)
  return substr(rest, 1, RLENGTH)
}

# The human form of a view event (cli/peer_show.c words it the same way).
function view_line(    r, m, members) {
  r = jstr($0, "reason")
  m = jstr($0, "member")
  members = $0
  sub(/.*"members":\[/, "", members)
  sub(/\].*/, "", members)
  gsub(/"/, "", members)
  gsub(/,/, " ", members)
  if (r == "partition") printf "  -- partition: %s unreachable", m
  else if (r == "merge") printf "  -- merged with %s", m
  else printf "  -- %s %s", m, r == "join" ? "joined" : r == "leave" ? "left" : r == "crash" ? "crashed" : "removed"
  printf " (view %s: %s)\n", jnum($0, "view"), members
}

{
  ev = jstr($0, "event")
  if (ev == "ready") left = 0
  if (ev == "ready") printf "== %s (epoch %s) ==\n", jstr($0, "name"), jnum($0, "epoch")
  else if (ev == "peer_up") ups++
  else if (ev == "msg" && jstr($0, "kind") == "room")
    printf "  <%s> %s\n", jstr($0, "from"), jstr($0, "text")
  else if (ev == "msg") printf "  *%s* (private) %s\n", jstr($0, "from"), jstr($0, "text")
  else if (ev == "sent" && jstr($0, "kind") == "private")
    printf "  -> *%s* (private) %s\n", jstr($0, "to"), jstr($0, "text")
  else if (ev == "error" || ev == "warning") printf "  %s: %s\n", ev, jstr($0, "message")
  else if (ev == "view" && !left) view_line()
  else if (ev == "leaving") { print "  -- leaving the room"; left = 1 }
  else if (ev == "bye") printf "  -- bye (%d peers were seen up)\n", ups
}
