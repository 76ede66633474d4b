/*
 * chorus member: the membership half of a peer (see peer_int.h): the failure
 * detector's decisions carried out, and view changes proposed by the
 * coordinator and installed by every member (docs/PROTOCOL.md, "Failure
 * detection and view changes").
 */
#include <string.h>

#include "peer_int.h"

/* VIEW control message: type 1 | view 4 | ranks 4 | reason 1 | joiner epoch 4 |
 * joiner rank 1 (0xFF unless reason is JOIN; MERGE: the absorbed side's
 * coordinator) | joiner's first count 4 (see
 * chorus_room_join_first; 0 unless reason is JOIN) | coordinator rank 1 |
 * coordinator epoch 4 | proposal number 4 (the coordinator's count of its
 * proposals; 0 for MERGE, which is relayed but told apart by its `view`) |
 * view_id 4. `view` is the room's ordering epoch the change leads to (a
 * JOIN's is the current one plus one, unused: a join keeps the epoch);
 * view_id is the membership number of the new view (docs/PROTOCOL.md,
 * "View numbers"), never 0. */

/* How long a member that left gracefully still gets ACKs (and so can
 * finish sending its last frames and stop at once). */
#define FAREWELL_US 3000000
#define CUT_SETTLE_US 2500000u /* a member cut here and still in the view then,
                                  another coordinating: go on alone */
#define NO_JOINER 0xFF
/* admitted_by[]: the incarnation that admitted it was removed since (a
 * member's next incarnation has no cut of it to give). */
#define ADMITTER_GONE (CHORUS_MEMBERS_MAX + 1)

static uint32_t view_members(const chorus_peer *p) {
  uint32_t mask = 0;
  for (size_t i = 0; i < p->count; i++)
    if (!(p->removed & (1u << i))) mask |= 1u << i;
  return mask;
}

int chorus_peer_in_view(const chorus_peer *p, size_t member) {
  return member < p->count && !(p->removed & (1u << member));
}

uint32_t chorus_peer_held_epoch(const chorus_peer *p, size_t member) {
  if (!chorus_peer_in_view(p, member)) return 0;
  return p->room.epoch[p->rank_of[member]];
}

int chorus_peer_cut_taken(const chorus_peer *p) { return p->room.cut_taken; }

/* The number this node installs its next view under: one above its
 * current one, or the number the change was announced with if that is
 * higher (so every member installs a change under the coordinator's
 * number, and its own numbers still only grow). */
static uint32_t view_id_next(const chorus_peer *p, uint32_t announced) {
  uint32_t next = p->room.view_id + 1;
  return announced > next ? announced : next;
}

/* Tell the user: `member` (incarnation `epoch`) changed the view for `why`;
 * `members` is the new view (bit per member index). A full event ring drops
 * it, counted. */
static void view_event(chorus_peer *p, size_t member, uint32_t epoch,
                       enum chorus_view_reason why, uint32_t members) {
  if (p->ev_count == CHORUS_EVENTS_MAX) {
    p->stats.events_dropped++;
    return;
  }
  chorus_peer_event_push(p, CHORUS_OUT_VIEW, member, epoch, 0);
  chorus_output *e = &p->events[(p->ev_head + p->ev_count - 1) % CHORUS_EVENTS_MAX];
  e->view = p->room.view_id; /* the events of one change share it */
  e->reason = why;
  e->members = members;
  e->installed_us = p->now_us;
}

static void merge_hist_orphaned(chorus_peer *p);
static void views_held_flush(chorus_peer *p, uint32_t gone);
static void views_held_cut(chorus_peer *p, uint32_t cut_view_id);

static void merge_done_lost(chorus_peer *p, size_t member);

/* Watch member i afresh from `at_us`. One in the view without a name (a
 * JOIN let it in before the server told us who sits there) is not judged
 * until a datagram of its boot comes (chorus_member_unnamed_heard): it may
 * not know us yet and send us nothing, so its silence says nothing (a
 * verdict of dead would remove a member that is up once this node
 * coordinates). chorus_peer_set_member watches it once it is named. */
static void fd_watch_member(chorus_peer *p, size_t i, uint64_t at_us) {
  if (!p->fd_on) return;
  chorus_fd_watch(&p->fd, i, at_us);
  if (!p->names[i][0]) chorus_fd_forget(&p->fd, i);
}

/* A datagram of boot `epoch` from a sender no name here matches: if the
 * view holds that boot at a seat this node cannot name yet, the seat is
 * alive, and judged from now on by its datagrams (refused, yet proof of
 * life). Else a crash of it would wait for the server to name it, and its
 * detection would start only then (sweep: regress-wide-via-crash6-
 * detection). The others' gossip about it names an id we lack, and we
 * gossip nothing about it (fdq_push): our own hearing judges it. */
int chorus_member_unnamed_heard(chorus_peer *p, uint32_t epoch, uint64_t now_us) {
  if (epoch == 0) return -1;
  for (size_t i = 0; i < p->count; i++) {
    if (i == p->self || p->names[i][0] || !chorus_peer_in_view(p, i) ||
        p->room.epoch[p->rank_of[i]] != epoch)
      continue;
    if (p->fd_on && !chorus_fd_watching(&p->fd, i)) chorus_fd_watch(&p->fd, i, now_us);
    if (p->fd_on) chorus_fd_heard(&p->fd, i, now_us);
    return (int)i;
  }
  return -1;
}

/* Take one member out: the room flushes, the detector stops watching. */
static int remove_one(chorus_peer *p, size_t member, enum chorus_view_reason why) {
  int rc = chorus_room_remove(&p->room, p->rank_of[member]);
  if (rc < 0) return rc;
  p->removed |= 1u << member;
  p->cut &= ~(1u << member);
  p->unlisted &= ~(1u << member);
  p->told_dead &= ~(1u << member);
  p->joining &= ~(1u << member);
  p->admitted_by[member] = 0;
  for (size_t i = 0; i < p->count; i++) /* its cuts may never leave now */
    if (p->admitted_by[i] == member + 1) p->admitted_by[i] = ADMITTER_GONE;
  p->beacon_due_us[member] = 0; /* first BEACON a period from now */
  if (why == CHORUS_VIEW_LEAVE) p->farewell_until_us[member] = p->now_us + FAREWELL_US;
  if (p->fd_on) chorus_fd_forget(&p->fd, member);
  if (p->merge_hist_from == member + 1) merge_hist_orphaned(p);
  merge_done_lost(p, member);
  /* A newcomer's first view is the one its cut brings (a change it saw
   * before, from a coordinator other than its crashed admitter, is not
   * one the user was in). */
  if (!p->room.awaiting_cut) view_event(p, member, 0, why, view_members(p));
  return CHORUS_OK;
}

/* An outside detector's verdict, carried out like the peers' own: by the
 * coordinator's VIEW, so that every member installs removals and joins in
 * one order (each member removing on its own could not be ordered with a
 * join the coordinator announces meanwhile). */
int chorus_peer_remove_member(chorus_peer *p, uint64_t now_us, size_t member) {
  (void)now_us;
  if (!p || member >= p->count || member == p->self ||
      (p->removed & (1u << member)))
    return CHORUS_ERR_INVAL;
  p->told_dead |= 1u << member; /* the next pump acts on it */
  p->told_dead_epoch[member] = p->links[member].peer_epoch;
  p->told_dead_room_epoch[member] = p->room.epoch[p->rank_of[member]];
  return CHORUS_OK;
}

/* Let `member` (incarnation `epoch`, numbering from `first`) into the view;
 * the coordinator also hands it the history and its state. */
static void admit(chorus_peer *p, size_t member, uint32_t epoch, uint32_t first,
                  int coordinator, size_t from) {
  if (chorus_peer_in_view(p, member)) return;
  uint32_t ack_to = coordinator ? 0 : 1u << p->rank_of[from];
  if (chorus_room_join(&p->room, p->rank_of[member], epoch, first, coordinator, ack_to) < 0)
    return;
  p->restarted &= ~(1u << member);
  p->rejoin &= ~(1u << member);
  p->removed &= ~(1u << member);
  p->unadmitted &= ~(1u << member);
  p->leavers &= ~(1u << member); /* a new incarnation or occupant */
  p->admitted_by[member] = from + 1;
  p->told_dead &= ~(1u << member); /* the verdict was on an older boot */
  chorus_link_on_epoch(&p->links[member], epoch, 0); /* a new stream if it restarted */
  fd_watch_member(p, member, p->now_us);
  if (!p->room.awaiting_cut) /* see remove_one */
    view_event(p, member, epoch, CHORUS_VIEW_JOIN, view_members(p));
}

static int view_changes(const chorus_peer *p, size_t i, uint32_t keep,
                        enum chorus_view_reason why, uint8_t joiner) {
  /* Only a JOIN adds members: a view that still lists one we removed is
   * an older proposal, not a re-admission; and a JOIN adds its joiner only
   * (other members it lists may be ones we already removed). */
  if (chorus_peer_in_view(p, i)) return !(keep & (1u << i));
  return why == CHORUS_VIEW_JOIN && p->rank_of[i] == joiner && (keep & (1u << i));
}

/* The members a VIEW for `keep` moves here (bit per member index); a view
 * that leaves this node out becomes one of itself alone (partition). */
static uint32_t view_change_of(const chorus_peer *p, uint32_t *keep,
                               enum chorus_view_reason *why, uint8_t joiner) {
  if (!(*keep & (1u << p->self))) {
    *keep = 1u << p->self;
    *why = CHORUS_VIEW_PARTITION;
  }
  uint32_t change = 0;
  for (size_t i = 0; i < p->count; i++)
    if (view_changes(p, i, *keep, *why, joiner)) change |= 1u << i;
  return change;
}

/* The number a VIEW announced as `view_id` is installed under here: that of
 * the current view if it changes nothing (or this node waits for its cut). */
static uint32_t view_id_of(const chorus_peer *p, uint32_t keep, enum chorus_view_reason why,
                           uint8_t joiner, uint32_t view_id) {
  if (p->room.awaiting_cut || !view_change_of(p, &keep, &why, joiner)) return view_id;
  return view_id_next(p, view_id);
}

/* Why a VIEW for `why` takes member i out. A JOIN (or MERGE) that omits
 * a member carries a removal this node missed (a newcomer replaying views
 * held since before its cut, say); reporting it as a JOIN would tell the
 * user a member joined with no incarnation. */
static enum chorus_view_reason removal_reason(const chorus_peer *p, size_t i,
                                              enum chorus_view_reason why) {
  if (why != CHORUS_VIEW_JOIN && why != CHORUS_VIEW_MERGE) return why;
  return (p->leavers & (1u << i)) ? CHORUS_VIEW_LEAVE : CHORUS_VIEW_CRASH;
}

/* Install the view whose members are `keep` (bit per member index),
 * announced as number `view_id` (0: none). If this node is not in it, the
 * others are unreachable: it goes on alone. */
static void view_apply(chorus_peer *p, uint32_t keep, enum chorus_view_reason why,
                       uint32_t epoch, uint8_t joiner, uint32_t first, size_t from,
                       uint32_t view_id) {
  if ((keep & (1u << p->self)) && !p->room.awaiting_cut) /* else the cut decides */
    views_held_flush(p, view_members(p) & ~keep);       /* (views_held_cut) */
  uint32_t change = view_change_of(p, &keep, &why, joiner);
  /* One number for the whole change, however many members it moves; a
   * newcomer numbers nothing before its cut (which brings its number). */
  if (change && !p->room.awaiting_cut) p->room.view_id = view_id_next(p, view_id);
  int removed = 0;
  for (size_t i = 0; i < p->count; i++) {
    if (!(change & (1u << i))) continue;
    if (!chorus_peer_in_view(p, i)) {
      admit(p, i, epoch, first, 0, from);
      continue;
    }
    p->room.flush_same_change = removed; /* one change: one FLUSH_CUTLESS */
    removed |= remove_one(p, i, removal_reason(p, i, why)) == CHORUS_OK;
  }
  p->room.flush_same_change = 0;
}

/* The current view is the one VIEW (coordinator rank, epoch, proposal n)
 * made; n 0: a cut or a merge made it. */
static void view_key_set(chorus_peer *p, uint32_t coord, uint32_t epoch, uint32_t n) {
  p->view_key_coord = coord;
  p->view_key_epoch = epoch;
  p->view_key_n = n;
}

/* The member that proposes views: the sequencer, unless this node believes
 * it dead or it is leaving; then the lowest rank in the view that is not. */
static int cut_in_doubt(const chorus_peer *p, size_t i);

static int coordinates(const chorus_peer *p, size_t i) {
  /* A member seen restarted is not its old incarnation: it cannot remove
   * that one, nor admit itself; a newcomer whose cut may never come cannot
   * act until the next coordinator sends one. */
  return chorus_peer_in_view(p, i) && !(p->leavers & (1u << i)) &&
         !(i == p->self && p->leaving && !p->leave_owed) && /* the others skip it */
         !(p->unadmitted & (1u << i)) && !cut_in_doubt(p, i) &&
         (i == p->self || !((p->cut | p->unlisted | p->told_dead) & (1u << i))) &&
         (i == p->self || !p->fd_on || chorus_fd_state_of(&p->fd, i) != CHORUS_FD_DEAD);
}

static size_t coordinator(const chorus_peer *p) {
  size_t seq = p->idx_of[chorus_room_sequencer(&p->room)];
  if (coordinates(p, seq)) return seq;
  for (size_t r = 0; r < p->count; r++)
    if (coordinates(p, p->idx_of[r])) return p->idx_of[r];
  return p->self;
}

/* Coordinator: announce the view `keep` (bit per member index) to its
 * members except `skip`, and install it. */
static void view_announce(chorus_peer *p, uint32_t keep, uint32_t skip,
                          enum chorus_view_reason why, uint32_t epoch, uint8_t joiner,
                          uint32_t first) {
  uint8_t c[CHORUS_VIEW_CTRL_BYTES];
  uint32_t ranks = 0, to = 0;
  for (size_t i = 0; i < p->count; i++) {
    if (!(keep & (1u << i))) continue;
    ranks |= 1u << p->rank_of[i];
    if (i != p->self && !(skip & (1u << i))) to |= 1u << p->rank_of[i];
  }
  c[0] = CHORUS_ROOM_CTRL_VIEW;
  chorus_wire_put_u32(c + 1, p->room.view + 1);
  chorus_wire_put_u32(c + 5, ranks);
  c[9] = (uint8_t)why;
  chorus_wire_put_u32(c + 10, epoch);
  c[14] = joiner;
  chorus_wire_put_u32(c + 15, first);
  c[19] = (uint8_t)p->rank_of[p->self];
  chorus_wire_put_u32(c + 20, p->epoch);
  chorus_wire_put_u32(c + 24, ++p->views_proposed);
  chorus_wire_put_u32(c + 28, view_id_next(p, 0));
  chorus_room_push_control(&p->room, to, c, sizeof c);
}

static void view_propose(chorus_peer *p, uint32_t drop, enum chorus_view_reason why) {
  views_held_flush(p, drop); /* changes the view the proposal starts from */
  uint32_t keep = view_members(p) & ~drop;
  view_announce(p, keep, 0, why, 0, NO_JOINER, 0);
  view_apply(p, keep, why, 0, NO_JOINER, 0, p->self, 0);
  view_key_set(p, (uint32_t)p->rank_of[p->self], p->epoch, p->views_proposed);
}

/* Coordinator: admit `member` again. The others hear VIEW; the newcomer
 * hears the history and JOIN_STATE instead. */
static void view_propose_join(chorus_peer *p, size_t member, uint32_t epoch) {
  uint32_t keep = view_members(p) | (1u << member);
  uint32_t first = chorus_room_join_first(&p->room, p->rank_of[member]);
  view_announce(p, keep, 1u << member, CHORUS_VIEW_JOIN, epoch,
                (uint8_t)p->rank_of[member], first);
  /* Numbered before the admission: the cut it queues carries the number.
   * Kept even if the admission fails here: the others install the VIEW
   * under it, so it is never given to another change. */
  p->room.view_id = view_id_next(p, 0);
  view_key_set(p, (uint32_t)p->rank_of[p->self], p->epoch, p->views_proposed);
  admit(p, member, epoch, first, 1, p->self);
  p->stats.admissions++;
}

/* 1 if member i is in the view but still waits for its cut (JOINING) and
 * the coordinator whose JOIN let it in here is gone, held dead or seen
 * restarted (its new incarnation has no cut to give): that cut may never
 * leave. (One in the view since we booted was not let in here: a fresh
 * boot has no cut to give, it is told it joins soon enough. One already in
 * the view our own cut brought was let in by a coordinator unknown here:
 * in doubt, a second cut is harmless.) */
static int cut_in_doubt(const chorus_peer *p, size_t i) {
  if (i == p->self || !(p->joining & (1u << i)) || !chorus_peer_in_view(p, i))
    return 0;
  if (p->admitted_by[i] == 0) return p->room.cut_taken;
  if (p->admitted_by[i] == ADMITTER_GONE) return 1;
  size_t a = p->admitted_by[i] - 1;
  if (a == p->self) return 0; /* ours is in the link */
  return !chorus_peer_in_view(p, a) ||
         ((p->cut | p->unadmitted | p->told_dead) & (1u << a)) ||
         (p->fd_on && chorus_fd_state_of(&p->fd, a) == CHORUS_FD_DEAD);
}

/* Coordinator: newcomers whose cut may never come get the history and a
 * cut from here (once no flush is under way: the cut is a settled state).
 * Checked after view_check: the verdict that puts a cut in doubt (on its
 * admitter) is a removal owed too, and a cut sent before it would bring
 * the newcomer a view, and its number, this node is about to leave. Not
 * by a newcomer that has not settled itself: it has delivered none of its
 * own history yet, so the history it would send is what its ring holds,
 * maybe only the end of the room's (a causal gap at the newcomer). Nor
 * before the messages its own cut numbered have come: the newcomer would
 * never learn those numbers, and its sequencer numbers them again. */
static void cut_resend_check(chorus_peer *p) {
  if (p->room.awaiting_cut || p->leaving || !chorus_room_settled(&p->room) ||
      !chorus_room_numbers_held(&p->room))
    return;
  if (p->room.flushing || coordinator(p) != p->self) return;
  for (size_t i = 0; i < p->count; i++) {
    if (!cut_in_doubt(p, i)) continue;
    if (chorus_room_join_resend(&p->room, p->rank_of[i]) < 0) return; /* next pump */
    p->admitted_by[i] = p->self + 1;
    p->stats.cuts_resent++;
  }
}

/* Coordinator: members that came back. One still in the view as its old
 * incarnation is removed first, so its unstable messages are settled; the
 * admission waits until that view change has completed here. */
static void rejoin_check(chorus_peer *p) {
  uint32_t back = (p->restarted | p->rejoin) & ~(1u << p->self);
  if (p->room.awaiting_cut) return; /* not in the view itself yet */
  /* A member that is not the coordinator remembers what it saw: it may
   * become the coordinator before the member is admitted. */
  if (!back || coordinator(p) != p->self) return;
  if (p->leaving) { /* it admits nobody: a newcomer's cut and views would
                       hang on it; but an old incarnation left in the view
                       would hold its own leave (its messages never get
                       stable), so that one is removed */
    for (size_t i = 0; i < p->count; i++)
      if ((back & (1u << i)) && chorus_peer_in_view(p, i))
        view_propose(p, 1u << i, CHORUS_VIEW_CRASH);
    return;
  }
  p->restarted = 0;
  for (size_t i = 0; i < p->count; i++) {
    if (!(back & (1u << i))) continue;
    if (p->links[i].peer_epoch > p->rejoin_epoch[i])
      p->rejoin_epoch[i] = p->links[i].peer_epoch;
    if (chorus_peer_in_view(p, i)) view_propose(p, 1u << i, CHORUS_VIEW_CRASH);
  }
  p->rejoin = back;
  if (p->room.flushing) return;
  for (size_t i = 0; i < p->count; i++) {
    if (!(back & (1u << i))) continue;
    view_propose_join(p, i, p->rejoin_epoch[i]);
    p->rejoin &= ~(1u << i);
    /* A newcomer that outranks this node coordinates from its cut on, and
     * admits the rest itself (it heard them, join_state): admitting them
     * here too would race it with a second, rival cut. */
    if (coordinator(p) != p->self) return;
  }
}

/* Members this node's detector holds dead, plus those that said LEAVE. */
static void view_check(chorus_peer *p) {
  /* A member that joins holds the view it booted with, not the room's. */
  if (p->room.awaiting_cut || coordinator(p) != p->self) return;
  uint32_t dead = 0, gone = p->leavers & view_members(p);
  for (size_t i = 0; i < p->count; i++)
    if (p->fd_on && i != p->self && chorus_peer_in_view(p, i) &&
        chorus_fd_state_of(&p->fd, i) == CHORUS_FD_DEAD)
      dead |= 1u << i;
  dead |= (p->cut | p->told_dead) & view_members(p) & ~(1u << p->self);
  dead &= ~gone;
  if (gone) view_propose(p, gone, CHORUS_VIEW_LEAVE);
  if (dead) {
    int several = (dead & (dead - 1)) != 0;
    view_propose(p, dead, several ? CHORUS_VIEW_PARTITION : CHORUS_VIEW_CRASH);
  }
}

uint32_t chorus_member_cut_removing(const chorus_peer *p) {
  if (p->room.awaiting_cut || coordinator(p) != p->self) return 0;
  return p->cut & view_members(p) & ~(1u << p->self);
}

/* The cut lists member i with the boot this node has heard from (one it
 * took for a newcomer, e.g. a seat's new occupant that greeted it before
 * its own admission): that boot is admitted, its room traffic flows. A
 * newer boot than the cut's stays unadmitted. */
static void cut_admits(chorus_peer *p, size_t i) {
  uint32_t epoch = p->room.epoch[p->rank_of[i]];
  if (epoch == 0) return;
  if (p->links[i].peer_epoch > epoch || p->rejoin_epoch[i] > epoch) {
    /* Heard first as that newer boot (seed 2281 of the quick restarts),
     * the link saw no restart: it is one, for the coordinator to remove
     * the old boot and admit this one (rejoin_check). */
    if (p->links[i].peer_epoch > epoch) {
      p->restarted |= 1u << i;
      p->unadmitted |= 1u << i;
    }
    return;
  }
  p->unadmitted &= ~(1u << i);
  /* A verdict on an older boot than the cut's: the cut's coordinator
   * already removed that one and let this one in. */
  if (p->told_dead_epoch[i] != 0 && epoch > p->told_dead_epoch[i])
    p->told_dead &= ~(1u << i);
  p->rejoin &= ~(1u << i);
  p->restarted &= ~(1u << i);
  chorus_link_on_epoch(&p->links[i], epoch, 0);
}

/* The cut lists member i, which this node's detector held dead while it
 * waited for the cut: the room ignores a boot until it is named and
 * admitted, so that silence says nothing (the cut says i was in the
 * view). It is watched afresh from now. */
static void cut_revives(chorus_peer *p, size_t i) {
  if (p->fd_on && chorus_fd_state_of(&p->fd, i) == CHORUS_FD_DEAD)
    fd_watch_member(p, i, p->now_us);
}

/* The cut leaves out member i, which this node held in its view (as named
 * when it booted) and whose boot it may have heard from meanwhile: a boot
 * newer than any the room admitted is a newcomer, or a restart, still to
 * admit. It is remembered as if heard after a removal (member_by_id in
 * peer.c), else this node would never admit it once it coordinates: that
 * boot's datagrams are no news on the link. */
static void cut_leaves_out(chorus_peer *p, size_t i) {
  uint32_t heard = p->links[i].peer_epoch;
  if (heard == 0) p->unadmitted &= ~(1u << i); /* greeted, never heard: the
                                                   coordinator admits it */
  if (heard == 0 || heard <= p->room.epoch[p->rank_of[i]]) return;
  p->rejoin |= 1u << i;
  p->unadmitted |= 1u << i;
  if (heard > p->rejoin_epoch[i]) p->rejoin_epoch[i] = heard;
}

/* 1 if cut m[0..len) was taken before a VIEW this node installed while it
 * waited (a removal its admitter did not live to see, or left before): the
 * cut would bring back a member the room has removed, and the numbering of
 * a view the others have flushed. The next coordinator sends a new one. */
static int cut_stale(const chorus_peer *p, const uint8_t *m, size_t len) {
  return len >= 5 && chorus_wire_get_u32(m + 1) < p->cut_floor;
}


/* The coordinator `from` admitted us: adopt its view and cut. */
static void join_state(chorus_peer *p, size_t from, const uint8_t *m, size_t len) {
  /* A second cut: the first one stands (a resend), unless `from` admitted
   * us afresh (its history came as a first one, peer.c history_output),
   * or the cut lists a newer boot of a member of our view. Then the coordinator that admitted us crashed before anyone else
   * heard of it, and `from` never held the view of our first cut (its
   * removals would never reach us). */
  if (!p->room.cut_taken && (p->history_dropped & (1u << from))) {
    /* The end of a history this node replaced: the cut of the one held
     * follows it. `from` may send another history and cut later. */
    p->history_dropped &= ~(1u << from);
    p->stats.cuts_stale++;
    return;
  }
  int afresh = p->cut_again_from == from + 1;
  p->cut_again_from = 0;
  if (p->room.cut_taken && !afresh && !chorus_room_cut_differs(&p->room, m, len)) return;
  if (cut_stale(p, m, len)) {
    p->stats.cuts_stale++;
    return;
  }
  uint32_t before = p->room.view_id;
  if (chorus_room_on_join_state(&p->room, m, len) < 0) {
    p->stats.rx_bad_frame++;
    return;
  }
  uint32_t cut_view_id = p->room.view_id;
  p->history_dropped = 0;
  /* The view the cut brings, under the number it was installed with. */
  if (p->room.view_id <= before) p->room.view_id = before + 1;
  view_key_set(p, 0, 0, 0);
  for (size_t i = 0; i < p->count; i++) {
    int in = (p->room.alive >> p->rank_of[i]) & 1;
    if (in && i != p->self) {
      cut_admits(p, i);
      cut_revives(p, i);
    }
    if (i == p->self || in == !(p->removed & (1u << i))) continue;
    if (in) { /* one this node had removed on its own, or held as a
                 vacant seat, before it was let in */
      p->removed &= ~(1u << i);
      fd_watch_member(p, i, p->now_us);
      continue;
    }
    p->removed |= 1u << i;
    if (p->fd_on) chorus_fd_forget(&p->fd, i);
    cut_leaves_out(p, i);
  }
  chorus_room_settle_begin(&p->room, p->rank_of[from], afresh);
  if (!p->join_held) p->ev_before_join = p->ev_count;
  p->join_held = 1; /* the history comes first (peer.c, poll_event) */
  view_event(p, p->self, p->epoch, CHORUS_VIEW_JOIN, view_members(p));
  p->cut_view_id = cut_view_id;
  views_held_cut(p, cut_view_id);
}

/* ---- merge: views that parted in a partition come together again --------
 * (docs/PROTOCOL.md, "Merging views"; docs/ORDERING.md, "Partitions").
 * Every member sends a BEACON now and then to each member it removed for a
 * crash or a partition. When the partition heals, the coordinator of the
 * side whose coordinator has the lower rank (X) absorbs the other side (Y):
 * it hears a BEACON from a member of Y naming Y's members and coordinator,
 * adds them to its view (MERGE), sends the VIEW to X's members, and to each
 * member of Y its history (MERGE_HIST) and its cut (MERGE_STATE). Y's
 * coordinator then sends its history to every member of X. Each member
 * delivers, marked merge, the history entries it lacks, in the order of
 * the side that sent them. */

#define BEACON_US 1000000u      /* to each removed member */
#define BEACON_FAST_US 200000u  /* to an absorbed member not heard from yet */
#define ABSORB_WAIT_US 5000000u /* an absorber that sends no MERGE_STATE */
#define HEARD_RECENTLY_US 1500000u /* a removed member that beaconed since is up */
#define ABSORB_SETTLE_US 1500000u  /* its BEACONs heard that long before a merge:
                                      time for it to hear (and name, in `low`)
                                      every coordinator that beacons it */
#define STALE_BEACON_US 2000000u /* a BEACON this soon after the merge that added
                                    its sender may predate it */

static uint32_t ranks_of(const chorus_peer *p, uint32_t members) {
  uint32_t ranks = 0;
  for (size_t i = 0; i < p->count; i++)
    if (members & (1u << i)) ranks |= 1u << p->rank_of[i];
  return ranks;
}

static uint32_t members_of(const chorus_peer *p, uint32_t ranks) {
  uint32_t members = 0;
  for (size_t i = 0; i < p->count; i++)
    if (ranks & (1u << p->rank_of[i])) members |= 1u << i;
  return members;
}

/* One VIEW event per member a merge adds, each naming the members with the
 * ones added so far (as a series of joins would). */
static void merge_event(chorus_peer *p, size_t member, uint32_t members) {
  view_event(p, member, p->links[member].peer_epoch, CHORUS_VIEW_MERGE, members);
}

/* Where the detector starts on merged member i: its latest BEACON, the
 * news the merge was based on, not the merge itself. A grace counted from
 * the merge put a member that crashed just before it (the absorber takes
 * one heard up to HEARD_RECENTLY_US back) past the detection bound; a live
 * one needs none: it beacons us every BEACON_US until it installs the
 * merge, and talks at once after. Older than the absorber's window (a
 * BEACON to this member of X lost) counts as that window's start. */
static uint64_t merge_heard_us(const chorus_peer *p, size_t i) {
  uint64_t h = p->beacon_heard_us[i];
  if (!h || h > p->now_us) return p->now_us;
  if (p->now_us - h > HEARD_RECENTLY_US) return p->now_us - HEARD_RECENTLY_US;
  return h;
}

/* Member i is in the view again, watched by the detector. Its link resumes
 * where both ends froze it at the removal: neither end took anything from
 * the other since, so what was unacknowledged is retransmitted and
 * duplicates are recognised (what was queued then for the old view is
 * harmless: older VIEWs fall below view_floor, room messages are
 * recognised by their numbers). */
static void merge_add(chorus_peer *p, size_t i) {
  uint32_t b = 1u << i;
  p->removed &= ~b;
  p->cut &= ~b;
  p->unlisted &= ~b;
  p->rejoin &= ~b;
  p->beacon_due_us[i] = 0;
  p->merged_at_us[i] = p->now_us;
  p->merge_resume |= b;
  fd_watch_member(p, i, merge_heard_us(p, i));
}

static void view_event_crash(chorus_peer *p, size_t member) {
  view_event(p, member, 0, CHORUS_VIEW_CRASH, view_members(p));
}

static void merge_events(chorus_peer *p, uint32_t add) {
  uint32_t members = view_members(p) & ~add;
  for (size_t i = 0; i < p->count; i++)
    if (add & (1u << i)) {
      members |= 1u << i;
      merge_event(p, i, members);
    }
}

/* Removed members that sent a BEACON lately: the ones a merge takes (a
 * member of the other side's view may have crashed since). */
static uint32_t heard_lately(const chorus_peer *p) {
  uint32_t up = 0;
  for (size_t i = 0; i < p->count; i++)
    if (p->beacon_heard_us[i] && p->now_us - p->beacon_heard_us[i] <= HEARD_RECENTLY_US)
      up |= 1u << i;
  return up;
}

/* Coordinator of X: absorb the side a BEACON describes once every member
 * of it was heard lately (one that crashed is first removed by its side). */
static void absorb(chorus_peer *p, const chorus_wire_beacon *b) {
  uint32_t add = members_of(p, b->ranks), old = view_members(p);
  if ((add & heard_lately(p)) != add) return;
  /* Every member of it names the same side: views a heal left asymmetric
   * (one lists a member that went on in another view) would merge that
   * member without the history of its own view; they settle first. */
  for (size_t i = 0; i < p->count; i++)
    if ((add & (1u << i)) && p->beacon_ranks[i] != b->ranks) return;
  uint32_t view = (b->view > p->room.view ? b->view : p->room.view) + 1;
  /* Numbered above both sides' views: the cut to the other side carries
   * it, the VIEW to this side too. */
  uint32_t before = p->room.view_id;
  p->room.view_id = view_id_next(p, b->view_id + 1);
  view_key_set(p, 0, 0, 0);
  if (chorus_room_merge(&p->room, ranks_of(p, add), view,
                        CHORUS_ROOM_MERGE_HIST | CHORUS_ROOM_MERGE_STATE, b->coord) < 0) {
    p->room.view_id = before;
    return; /* no outbox room now: the next BEACON tries again */
  }
  uint8_t c[CHORUS_VIEW_CTRL_BYTES];
  c[0] = CHORUS_ROOM_CTRL_VIEW;
  chorus_wire_put_u32(c + 1, view);
  chorus_wire_put_u32(c + 5, ranks_of(p, old | add));
  c[9] = CHORUS_VIEW_MERGE;
  chorus_wire_put_u32(c + 10, 0);
  c[14] = b->coord;
  chorus_wire_put_u32(c + 15, 0); /* no first count: nobody restarted */
  c[19] = (uint8_t)p->rank_of[p->self];
  chorus_wire_put_u32(c + 20, p->epoch);
  chorus_wire_put_u32(c + 24, 0);
  chorus_wire_put_u32(c + 28, p->room.view_id);
  chorus_room_push_control(&p->room, ranks_of(p, old & ~(1u << p->self)), c, sizeof c);
  for (size_t i = 0; i < p->count; i++)
    if (add & (1u << i)) merge_add(p, i);
  p->merge_wait |= add;
  p->merge_taken = add;
  p->merge_taken_coord = p->idx_of[b->coord] + 1;
  p->merge_done_wait = 1u << p->idx_of[b->coord];
  p->merge_done_until_us = p->now_us + ABSORB_WAIT_US; /* merge_hold waits longer */
  p->view_floor = view;
  p->stats.merges++;
  merge_events(p, add);
}

/* A member of X: the coordinator's MERGE view m from `from`, the
 * coordinator or a member that relays it. Relayed like any VIEW, before
 * installing: the coordinator may crash while announcing it, and the
 * members it missed would go on without Y while the others hold Y (their
 * next removal VIEW would then make different views). A copy (its
 * ordering view not above ours: installed already) is dropped. */
static void merge_view(chorus_peer *p, size_t from, const uint8_t *m, uint32_t keep,
                       uint32_t view, uint32_t view_id) {
  if (view <= p->room.view) return;
  uint32_t add = keep & ~view_members(p) & ~(1u << p->self);
  if (!(keep & (1u << p->self)) || !add || m[19] >= p->count) {
    p->stats.rx_bad_frame++;
    return;
  }
  uint32_t to = view_members(p) & ~((1u << p->self) | (1u << from) | (1u << p->idx_of[m[19]]));
  if (to && chorus_room_push_control(&p->room, ranks_of(p, to), m, CHORUS_VIEW_CTRL_BYTES) < 0)
    p->room.outbox_full++;
  if (chorus_room_merge(&p->room, ranks_of(p, add), view, 0, 0) < 0) {
    p->stats.rx_bad_frame++;
    return;
  }
  p->room.view_id = view_id_next(p, view_id);
  view_key_set(p, 0, 0, 0);
  for (size_t i = 0; i < p->count; i++)
    if (add & (1u << i)) merge_add(p, i);
  p->view_floor = view;
  p->stats.merges++;
  merge_events(p, add);
}

/* A member of Y: the absorber's cut. Y's coordinator sends Y's history to
 * every member of X. */
static void merge_install(chorus_peer *p, size_t from, const uint8_t *m, size_t len) {
  uint32_t added, old = view_members(p);
  size_t y_coord;
  int led = coordinator(p) == p->self;
  uint32_t before = p->room.view_id;
  /* Our side changed its view since the BEACON the absorber numbered the
   * merged view from: its ordering view may be one our side numbers under
   * already (labels of two orderings would clash). The absorber removes us
   * when our BEACONs, not listing it, come, and absorbs us again. */
  if (p->absorber == from + 1 && len == CHORUS_ROOM_MERGE_STATE_BYTES(p->room.n) &&
      chorus_wire_get_u32(m + 1) <= p->room.view) {
    p->stats.merge_stale++;
    p->absorber = 0;
    return;
  }
  if (p->absorber != from + 1 ||
      chorus_room_on_merge_state(&p->room, m, len, &added, &y_coord) < 0) {
    p->stats.rx_bad_frame++;
    return;
  }
  if (p->room.view_id <= before) p->room.view_id = before + 1; /* see join_state */
  view_key_set(p, 0, 0, 0);
  p->absorber = 0;
  for (size_t i = 0; i < p->count; i++) /* ours, not taken: not heard, gone */
    if (chorus_peer_in_view(p, i) && i != p->self &&
        !(p->room.alive & (1u << p->rank_of[i]))) {
      p->removed |= 1u << i;
      if (p->fd_on) chorus_fd_forget(&p->fd, i);
      view_event_crash(p, i);
    }
  uint32_t add = members_of(p, added) & ~(1u << p->self);
  for (size_t i = 0; i < p->count; i++)
    if (add & (1u << i)) merge_add(p, i);
  /* Y's history goes to every other member: the absorbing side, and the
   * members of Y that installed this merge before Y's last messages
   * reached them (each delivers only what it lacks). It goes before the
   * relays: a relay a member of X cannot place yet (its predecessors are
   * in the history) would otherwise block the link the history comes on.
   * A coordinator whose view did not hold Y's (two coordinators absorbed
   * it at once, and it installed the other's merge) led a side nobody else
   * sends the history of: it sends its own too (without MERGE_DONE). */
  uint32_t others = p->room.alive & ~(1u << p->rank_of[p->self]);
  unsigned hist = CHORUS_ROOM_MERGE_SEND_ONLY | CHORUS_ROOM_MERGE_HIST |
                  CHORUS_ROOM_MERGE_NO_RELAY;
  if (p->rank_of[p->self] == y_coord) hist |= CHORUS_ROOM_MERGE_DONE;
  else if (!led || (old & (1u << p->idx_of[y_coord]))) hist = 0;
  p->merge_hist_from = hist ? 0 : p->idx_of[y_coord] + 1;
  p->merge_mates = old & view_members(p) & ~add & ~(1u << p->self);
  p->merge_mates_lag = 0;
  p->merge_mates_view = p->room.view;
  p->merge_mates_by = from + 1;
  p->merge_mates_poke_us = 0;
  if (hist && others && chorus_room_merge(&p->room, others, 0, hist, 0) < 0)
    p->stats.merge_refused++;
  if (added && chorus_room_merge(&p->room, added, 0, CHORUS_ROOM_MERGE_SEND_ONLY, 0) < 0)
    p->stats.merge_refused++;
  p->view_floor = p->room.view;
  p->stats.merges++;
  merge_events(p, add);
}

/* Our side's coordinator, whose history of our side the merge awaited, was
 * removed before its MERGE_DONE came: it may have crashed before sending
 * it, and messages only our side delivered would reach the other side no
 * more. Send ours instead (each member delivers only what it lacks), then
 * MERGE_DONE: the absorber waits for it (merge_done_lost). */
static void merge_hist_orphaned(chorus_peer *p) {
  p->merge_hist_from = 0;
  uint32_t others = p->room.alive & ~(1u << p->rank_of[p->self]);
  unsigned hist = CHORUS_ROOM_MERGE_SEND_ONLY | CHORUS_ROOM_MERGE_HIST |
                  CHORUS_ROOM_MERGE_NO_RELAY | CHORUS_ROOM_MERGE_DONE;
  if (others && chorus_room_merge(&p->room, others, 0, hist, 0) < 0)
    p->stats.merge_refused++;
}

/* Absorber: `member` is removed. If it was the absorbed side's coordinator
 * and its MERGE_DONE had not come, that side's other members send their
 * histories instead (merge_hist_orphaned): wait for those too (for
 * ABSORB_WAIT_US at most: one that had the coordinator's MERGE_DONE sends
 * none). A side absorbed meanwhile would get only this one's history, not
 * what only the absorbed side delivered. */
static void merge_done_lost(chorus_peer *p, size_t member) {
  uint32_t b = 1u << member;
  if (!(p->merge_done_wait & b)) return;
  p->merge_done_wait &= ~b;
  if (p->merge_taken_coord != member + 1) return;
  p->merge_taken_coord = 0;
  p->merge_done_wait |= p->merge_taken & view_members(p) & ~b & ~(1u << p->self);
  p->merge_done_until_us = p->now_us + ABSORB_WAIT_US;
}

/* A side-mate of our merge reported its view: the merged one (or later)
 * settles it, an older one is noted (merge_mates_check). */
void chorus_member_state_view(chorus_peer *p, size_t from, uint32_t view) {
  uint32_t b = 1u << from;
  if (!(p->merge_mates & b)) return;
  if (view >= p->merge_mates_view) {
    p->merge_mates &= ~b; /* it installed the merge */
    p->merge_mates_lag &= ~b;
  } else {
    p->merge_mates_lag |= b;
  }
}

/* Absorbed member: side-mates the merge took that still report an older
 * view once its absorber is gone (crashed before their MERGE_STATE left)
 * never install it: nothing else sends a MERGE_STATE. They beacon only the
 * absorbing side (the rest is still in their view), so only we can cut
 * them; left in, the lowest would coordinate our removals and propose
 * none. Cut, they go on alone and are absorbed anew. Until each reports
 * the merged view, it gets our report every BEACON_US (it answers a report
 * ahead of its own view with its own, chorus_room_on_state); only an
 * answer since the last one counts, so one that installed since is not
 * cut on an older report. */
static void merge_mates_check(chorus_peer *p, uint64_t now_us) {
  p->merge_mates &= view_members(p);
  uint32_t lag = p->merge_mates & p->merge_mates_lag;
  size_t a = p->merge_mates_by - 1; /* set with merge_mates */
  if (lag && (!chorus_peer_in_view(p, a) || ((p->cut | p->told_dead) & (1u << a)) ||
              chorus_fd_state_of(&p->fd, a) == CHORUS_FD_DEAD)) {
    p->cut |= lag;
    p->unlisted |= lag;
    p->merge_mates &= ~lag;
  }
  if (!p->merge_mates || now_us < p->merge_mates_poke_us) return;
  p->merge_mates_lag = 0;
  p->room.state_dirty |= ranks_of(p, p->merge_mates);
  p->merge_mates_poke_us = now_us + BEACON_US;
}

static int merge_done_awaited(const chorus_peer *p) {
  return p->merge_done_wait && p->now_us < p->merge_done_until_us;
}

/* The coordinator `from` (lower than ours) will absorb this side: take its
 * datagrams from now on (its MERGE_STATE comes that way). Of several, the
 * one that lists us (it absorbed us already), else the lowest: that is the
 * one that absorbs (a side waiting to be absorbed absorbs nobody). */
static void expect_absorber(chorus_peer *p, size_t from, int listed) {
  if (p->absorber == from + 1) {
    p->absorb_until_us = p->now_us + ABSORB_WAIT_US;
    return;
  }
  if (p->absorber && !listed && p->rank_of[p->absorber - 1] < p->rank_of[from]) return;
  p->absorber = from + 1;
  p->absorb_until_us = p->now_us + ABSORB_WAIT_US;
  /* Its link brings what it queued for us before the split: nothing of it
   * is numbered here any more (its side will number or merge it). */
  p->room.merge_hold = (uint32_t)((1u << p->count) - 1);
}

void chorus_member_beacon(chorus_peer *p, size_t from, const chorus_wire_beacon *b) {
  /* A boot waiting for its cut is being admitted: no view of its own yet. */
  if (!p->fd_on || from == p->self || from >= p->count || p->room.awaiting_cut) return;
  uint32_t mine = ranks_of(p, view_members(p)), me = 1u << p->rank_of[p->self];
  if (chorus_peer_in_view(p, from)) {
    /* It removed us. A BEACON sent before the merge that added it says
     * nothing (view numbers of two sides do not compare, times here do);
     * one from a member no merge added lately is news, whatever else this
     * node merged meanwhile (an asymmetric view a heal left). So is one
     * whose view is already at the merged view or above: its sender holds
     * that merge's MERGE_STATE stale (merge_install) or removed us after
     * it, and waiting out the 2 s only delays the cut past the heal. */
    uint64_t added = p->merged_at_us[from];
    if (!(b->ranks & me) &&
        (!added || p->now_us - added > STALE_BEACON_US || b->view >= p->view_floor)) {
      if (!(p->cut & (1u << from))) p->cut_since_us[from] = p->now_us;
      p->cut_heard_us[from] = p->now_us;
      p->cut |= 1u << from;
    }
    /* Whether stale or not, it stands in no view with us yet: it does
     * not coordinate ours (a merge whose absorber crashed before its cut
     * left never reaches it, and would hold up our removals). */
    if (!(b->ranks & me)) p->unlisted |= 1u << from;
    return;
  }
  if ((p->leavers & (1u << from)) || b->coord >= p->count) return;
  if (!p->beacon_heard_us[from] || p->now_us - p->beacon_heard_us[from] > HEARD_RECENTLY_US)
    p->beacon_since_us[from] = p->now_us; /* a new run of BEACONs */
  p->beacon_heard_us[from] = p->now_us;
  p->beacon_ranks[from] = b->ranks;
  size_t mycoord = p->rank_of[coordinator(p)];
  if (b->coord == p->rank_of[from]) p->coord_heard_us[b->coord] = p->now_us;
  if (b->coord == p->rank_of[from] && b->coord < mycoord &&
      (!(b->ranks & mine) || (b->ranks & me))) {
    expect_absorber(p, from, (b->ranks & me) != 0);
    return;
  }
  /* One merge at a time: the next side must get this one's history too. */
  /* The lowest coordinator absorbs: a lower one the other side knows of
   * will absorb it (and then us), so this one waits. */
  if (coordinator(p) == p->self && mycoord < b->coord && mycoord <= b->low &&
      !(b->ranks & mine) && !p->room.flushing && !p->absorber && !p->room.merge_hold &&
      !merge_done_awaited(p) &&
      p->now_us - p->beacon_since_us[from] >= ABSORB_SETTLE_US)
    absorb(p, b);
}

void chorus_member_flags(chorus_peer *p, size_t from, uint8_t flags) {
  if (flags & CHORUS_WIRE_HDR_JOINING) p->joining |= 1u << from;
  else p->joining &= ~(1u << from);
}

void chorus_member_heard(chorus_peer *p, size_t from) {
  uint32_t b = 1u << from;
  p->merge_wait &= ~b;
  p->unlisted &= ~b;
  if (!(p->merge_resume & b) || !chorus_peer_in_view(p, from)) return;
  /* It takes our frames now: what it ignored goes again at once. */
  p->merge_resume &= ~b;
  chorus_link_resume(&p->links[from]);
}

/* 1 if member i is owed BEACONs: removed for a crash or a partition (a
 * member seen back with a new epoch rejoins instead, one that left is gone),
 * or absorbed and not heard from yet. */
static int beacon_wanted(const chorus_peer *p, size_t i) {
  uint32_t bit = 1u << i;
  if (i == p->self) return 0;
  if (p->merge_wait & bit) return 1;
  return (p->removed & bit) && !(p->leavers & bit) && p->links[i].peer_epoch != 0 &&
         !((p->unadmitted | p->rejoin | p->restarted) & bit);
}

int chorus_member_beacon_next(chorus_peer *p, uint64_t now_us, size_t *to,
                              chorus_wire_beacon *b) {
  if (!p->fd_on) return 0;
  for (size_t i = 0; i < p->count; i++) {
    if (!beacon_wanted(p, i)) continue;
    uint64_t period = (p->merge_wait & (1u << i)) ? BEACON_FAST_US : BEACON_US;
    if (p->beacon_due_us[i] == 0) p->beacon_due_us[i] = now_us + period;
    if (now_us < p->beacon_due_us[i]) continue;
    p->beacon_due_us[i] = now_us + period;
    b->coord = (uint8_t)p->rank_of[coordinator(p)];
    b->view = p->room.view;
    b->ranks = ranks_of(p, view_members(p));
    b->low = b->coord;
    b->view_id = p->room.view_id;
    for (size_t r = 0; r < b->coord; r++)
      if (p->coord_heard_us[r] && now_us - p->coord_heard_us[r] <= HEARD_RECENTLY_US) {
        b->low = (uint8_t)r;
        break;
      }
    *to = i;
    return 1;
  }
  return 0;
}

uint64_t chorus_member_beacon_deadline(const chorus_peer *p) {
  uint64_t due = UINT64_MAX;
  if (!p->fd_on) return due;
  for (size_t i = 0; i < p->count; i++)
    if (p->beacon_due_us[i] && p->beacon_due_us[i] < due && beacon_wanted(p, i))
      due = p->beacon_due_us[i];
  return due;
}

/* 1 if VIEW m (not a MERGE) from `from` is one this node has not had yet
 * (noted now); 0 for a copy, one from an older incarnation of its
 * coordinator, or one relayed to a member still waiting for its cut or its
 * absorber's (the coordinator's own copy follows its cut on their link,
 * and the cut may predate the change). */
static int view_first_copy(chorus_peer *p, size_t from, const uint8_t *m) {
  size_t c = m[19];
  uint32_t epoch = chorus_wire_get_u32(m + 20), n = chorus_wire_get_u32(m + 24);
  if (c >= p->count || n == 0 || epoch < p->view_seen_epoch[c]) return 0;
  /* Our own (installed when proposed): an earlier one than the proposal
   * that made this view, relayed back renumbered, is past. */
  if (c == p->rank_of[p->self] && epoch == p->epoch) return 0;
  if ((p->absorber || p->room.awaiting_cut) && p->idx_of[c] != from) return 0;
  if (epoch > p->view_seen_epoch[c]) {
    p->view_seen_epoch[c] = epoch;
    p->view_seen_n[c] = 0;
  }
  if (n <= p->view_seen_n[c]) return 0;
  p->view_seen_n[c] = n;
  return 1;
}

/* Pass VIEW m on to the members of the new view that this node holds,
 * before installing it (so before anything it sends in that view): if its
 * coordinator crashed while announcing it, the survivors still all get it.
 * A newcomer's admission (JOIN) does not go to the newcomer, which gets
 * its cut instead; a member that waits for its own cut relays nothing (it
 * holds no view of the room yet), and one that waits takes no relay.
 * `back`: m carries a higher number than it came with (this node stood
 * at a view the coordinator had not seen): it goes to the coordinator and
 * the member it came from too, which renumber their view. */
static void view_relay(chorus_peer *p, size_t from, size_t coord, uint32_t keep,
                       const uint8_t *m, int back) {
  if (p->room.awaiting_cut) return;
  uint32_t to = keep & view_members(p) & ~(1u << p->self);
  if (!back) to &= ~((1u << from) | (1u << coord));
  if (m[9] == CHORUS_VIEW_JOIN && m[14] < p->count) to &= ~(1u << p->idx_of[m[14]]);
  if (chorus_room_push_control(&p->room, ranks_of(p, to), m, CHORUS_VIEW_CTRL_BYTES) < 0)
    p->room.outbox_full++; /* counted as any send without an outbox entry */
}

/* 1 if VIEW m, numbered `view_id`, made the view this node stands in (a
 * copy). If another member installed it under a higher number, take that
 * number and pass the copy on to the other members (each raises once, so
 * the copies end; all end at the highest). */
static int view_renumber(chorus_peer *p, size_t from, const uint8_t *m, uint32_t view_id) {
  if (p->room.awaiting_cut || p->absorber || p->view_key_n == 0 ||
      m[19] != p->view_key_coord || chorus_wire_get_u32(m + 20) != p->view_key_epoch ||
      chorus_wire_get_u32(m + 24) != p->view_key_n)
    return 0;
  if (view_id <= p->room.view_id) return 1;
  p->room.view_id = view_id;
  p->stats.views_renumbered++;
  uint32_t to = view_members(p) & ~((1u << p->self) | (1u << from));
  if (chorus_room_push_control(&p->room, ranks_of(p, to), m, CHORUS_VIEW_CTRL_BYTES) < 0)
    p->room.outbox_full++;
  return 1;
}

/* 1 if VIEW m is the JOIN that admitted this boot, once its cut came (the
 * newcomer is not sent the VIEW itself; a renumbered copy comes to it). */
static int own_join(const chorus_peer *p, const uint8_t *m) {
  return !p->room.awaiting_cut && p->view_key_n == 0 && m[9] == CHORUS_VIEW_JOIN &&
         m[14] == p->rank_of[p->self] && chorus_wire_get_u32(m + 10) == p->epoch;
}

/* This node waits for its cut and installs VIEW m, a change numbered
 * `view`: it answers the flush at once with FLUSH_DONE(view) to the VIEW's
 * members (its room numbers its views apart until the cut and says no
 * FLUSH_DONE of its own). It holds nothing the flush must settle (it
 * delivered nothing live), and it will take no cut from before `view`
 * (cut_stale), so the members wait for its answer as for anyone's: one
 * that took its cut after all (a member may still think it joining) takes
 * part with its relays, which may carry a number only it got from a
 * departed sequencer. */
static void flush_answer_cutless(chorus_peer *p, const uint8_t *m, uint32_t view) {
  uint8_t c[CHORUS_ROOM_CTRL_BYTES] = {CHORUS_ROOM_CTRL_FLUSH_CUTLESS};
  uint32_t to = chorus_wire_get_u32(m + 5) & ~(1u << p->rank_of[p->self]);
  chorus_wire_put_u32(c + 1, view);
  if (to && chorus_room_push_control(&p->room, to, c, sizeof c) < 0) p->room.outbox_full++;
}

/* The members a VIEW of coordinator `coord` keeps here beyond those it
 * lists: all of this node's view if this node removed `coord` (the VIEW
 * came late, relayed). That VIEW predates the removal, so it omits the
 * members admitted here since, and it cannot tell those from ones its
 * coordinator removed: it removes none (a crash is detected here, a LEAVE
 * was heard here too) and adds only its joiner, one this node missed. */
static uint32_t stale_keeps(const chorus_peer *p, size_t coord) {
  if (p->room.awaiting_cut || p->absorber || chorus_peer_in_view(p, coord)) return 0;
  return view_members(p);
}

/* VIEW m (checked, not a MERGE) from `from`: renumbers the view if it is a
 * copy of the one that made it, else relayed and installed unless it is a
 * copy. */
static void view_take(chorus_peer *p, size_t from, const uint8_t *m) {
  uint32_t view = chorus_wire_get_u32(m + 1), view_id = chorus_wire_get_u32(m + 28);
  uint32_t keep = members_of(p, chorus_wire_get_u32(m + 5));
  /* A copy of the VIEW that made this view (our own proposal included,
   * which view_first_copy does not know) */
  if (view_renumber(p, from, m, view_id) || !view_first_copy(p, from, m)) return;
  /* (A JOIN's number does not advance the room's view: not compared.) */
  int cutless = p->room.awaiting_cut && m[9] != CHORUS_VIEW_JOIN && view > p->cut_floor;
  if (cutless) p->cut_floor = view;
  size_t coord = p->idx_of[m[19]]; /* in range: checked there */
  if (own_join(p, m)) { /* a renumbered copy of the JOIN our cut came with */
    view_key_set(p, m[19], chorus_wire_get_u32(m + 20), chorus_wire_get_u32(m + 24));
    view_renumber(p, from, m, view_id);
    return;
  }
  /* Older than the cut this node took (views_held_cut's rule): replaying
   * it would undo changes the cut already holds. */
  if (!p->room.awaiting_cut && view_id != 0 && view_id <= p->cut_view_id) return;
  enum chorus_view_reason why = (enum chorus_view_reason)m[9];
  uint32_t here = keep | stale_keeps(p, coord);
  /* Relayed with the number installed here: a member behind takes it. */
  uint8_t c[CHORUS_VIEW_CTRL_BYTES];
  memcpy(c, m, sizeof c);
  uint32_t installs = view_id_of(p, here, why, m[14], view_id);
  chorus_wire_put_u32(c + 28, installs);
  view_relay(p, from, coord, keep, c, installs > view_id);
  uint32_t before = p->room.view_id;
  view_apply(p, here, why, chorus_wire_get_u32(m + 10), m[14], chorus_wire_get_u32(m + 15),
             coord, view_id);
  if (p->room.view_id != before)
    view_key_set(p, m[19], chorus_wire_get_u32(m + 20), chorus_wire_get_u32(m + 24));
  if (cutless) flush_answer_cutless(p, m, view);
}

/* 1 if VIEW m is one this node has had (or is older than one it had). */
static int view_had(const chorus_peer *p, const uint8_t *m) {
  size_t c = m[19];
  uint32_t epoch = chorus_wire_get_u32(m + 20), n = chorus_wire_get_u32(m + 24);
  return epoch < p->view_seen_epoch[c] ||
         (epoch == p->view_seen_epoch[c] && n <= p->view_seen_n[c]);
}

static void view_held_drop(chorus_peer *p, size_t k) {
  size_t rest = --p->views_held_count - k;
  memmove(p->views_held[k], p->views_held[k + 1], rest * CHORUS_VIEW_CTRL_BYTES);
  memmove(&p->views_held_from[k], &p->views_held_from[k + 1], rest * sizeof(size_t));
}

/* 1 if a VIEW held here, not had since, is an earlier proposal of m's
 * coordinator (same incarnation). */
static int view_held_before(const chorus_peer *p, const uint8_t *m) {
  for (size_t k = 0; k < p->views_held_count; k++) {
    const uint8_t *h = p->views_held[k];
    if (h[19] == m[19] && memcmp(h + 20, m + 20, 4) == 0 &&
        chorus_wire_get_u32(h + 24) < chorus_wire_get_u32(m + 24) && !view_had(p, h))
      return 1;
  }
  return 0;
}

/* 1 if VIEW m, a relay, skips a proposal of its coordinator (in the view)
 * after one this node had: a relayer's link can outrun the coordinator's
 * (a loss there), and the relayer may never have relayed the one between
 * (it came in its cut). Installed first, it would make the earlier one a
 * copy when it comes (view_first_copy): a join lost here for good. With
 * none had (this node joined after them, its own JOIN was not sent to it)
 * a gap says nothing. */
static int view_gap(const chorus_peer *p, const uint8_t *m) {
  size_t c = m[19];
  uint32_t epoch = chorus_wire_get_u32(m + 20), n = chorus_wire_get_u32(m + 24);
  return epoch == p->view_seen_epoch[c] && p->view_seen_n[c] > 0 &&
         n > p->view_seen_n[c] + 1 && chorus_peer_in_view(p, p->idx_of[c]);
}

/* 1 if VIEW m, a JOIN of a coordinator in the view, leaves out a member
 * of this node's view: a removal this node has not had, or its coordinator
 * admitted this node afresh and that cut is still on its way (a relayer's
 * link can outrun it). Either way the coordinator's own copy comes. */
static int view_omits(const chorus_peer *p, const uint8_t *m) {
  uint32_t keep = members_of(p, chorus_wire_get_u32(m + 5));
  return m[9] == CHORUS_VIEW_JOIN && chorus_peer_in_view(p, p->idx_of[m[19]]) &&
         (view_members(p) & ~keep) != 0;
}

/* 1 if VIEW m from `from` is a relay to this node while it waits for its
 * cut: kept (or, the store full, dropped and counted). Its coordinator's
 * own copy follows its cut on their link, and the cut may predate the
 * change or not; if that coordinator is removed before its copy came,
 * the relay is the only copy left (views_held_flush). After the cut, a
 * relay of a later proposal of a coordinator whose earlier one is still
 * held waits too (a relayer's link can outrun the coordinator's, busy
 * with the history): installed first, it would make the earlier one look
 * like a copy (view_first_copy), and that change would be lost here.
 * So does a relay that skips a proposal of its coordinator this node has
 * not had (view_gap). */
static int view_hold(chorus_peer *p, size_t from, const uint8_t *m) {
  if (p->absorber || m[19] >= p->count || p->idx_of[m[19]] == from) return 0;
  if (!p->room.awaiting_cut && !view_held_before(p, m) && !view_gap(p, m) &&
      !view_omits(p, m))
    return 0;
  for (size_t k = 0; k < p->views_held_count; k++)
    if (memcmp(p->views_held[k] + 19, m + 19, 9) == 0) return 1; /* a copy */
  if (p->views_held_count == CHORUS_VIEWS_HELD_MAX) {
    p->stats.views_held_dropped++;
    return 1;
  }
  memcpy(p->views_held[p->views_held_count], m, CHORUS_VIEW_CTRL_BYTES);
  p->views_held_from[p->views_held_count++] = from;
  return 1;
}

/* The cut numbered `cut_view_id` is installed: a held VIEW numbered at
 * most that is in it (its coordinator numbers every change it installs
 * above the last, and the cut takes the latest), and one whose
 * coordinator the cut does not list will never be installed by the
 * others; the rest wait for their coordinator's copy. */
static void views_held_cut(chorus_peer *p, uint32_t cut_view_id) {
  for (size_t k = p->views_held_count; k-- > 0;) {
    const uint8_t *m = p->views_held[k];
    if (chorus_wire_get_u32(m + 28) <= cut_view_id ||
        !chorus_peer_in_view(p, p->idx_of[m[19]]) || view_had(p, m))
      view_held_drop(p, k);
  }
}

/* Before a change removes the members `gone`: the held VIEWs their
 * coordinator among them announced, whose own copy never came, are
 * installed first, lowest proposal first (as the coordinator sent
 * them); the ones this node had since are dropped. */
static void views_held_flush(chorus_peer *p, uint32_t gone) {
  for (;;) {
    for (size_t k = p->views_held_count; k-- > 0;)
      if (view_had(p, p->views_held[k])) view_held_drop(p, k);
    size_t best = CHORUS_VIEWS_HELD_MAX;
    for (size_t k = 0; k < p->views_held_count; k++) {
      const uint8_t *m = p->views_held[k];
      if (!(gone & (1u << p->idx_of[m[19]]))) continue;
      if (best == CHORUS_VIEWS_HELD_MAX ||
          chorus_wire_get_u32(m + 24) < chorus_wire_get_u32(p->views_held[best] + 24))
        best = k;
    }
    if (best == CHORUS_VIEWS_HELD_MAX) return;
    uint8_t m[CHORUS_VIEW_CTRL_BYTES];
    size_t from = p->views_held_from[best];
    memcpy(m, p->views_held[best], sizeof m);
    view_held_drop(p, best);
    view_take(p, from, m);
  }
}

/* VIEW, LEAVE and JOIN_STATE control messages (FLUSH_DONE belongs to the
 * room, HISTORY to peer.c). */
void chorus_member_control(chorus_peer *p, size_t from, const uint8_t *m, size_t len) {
  /* From an absorber before its MERGE_STATE: what it queued for us before
   * the split, stale now. */
  if (p->absorber == from + 1 && m[0] != CHORUS_ROOM_CTRL_MERGE_STATE) return;
  if (m[0] == CHORUS_ROOM_CTRL_LEAVE && len == CHORUS_ROOM_CTRL_BYTES) {
    p->leavers |= 1u << from;
    view_check(p);
    return;
  }
  if (m[0] == CHORUS_ROOM_CTRL_JOIN_STATE) {
    join_state(p, from, m, len);
    return;
  }
  if (m[0] == CHORUS_ROOM_CTRL_MERGE_STATE) {
    merge_install(p, from, m, len);
    return;
  }
  if (m[0] == CHORUS_ROOM_CTRL_MERGE_DONE) {
    if (p->merge_hist_from == from + 1) p->merge_hist_from = 0;
    p->merge_done_wait &= ~(1u << from);
    if (chorus_room_on_merge_done(&p->room, p->rank_of[from], m, len) < 0)
      p->stats.rx_bad_frame++;
    return;
  }
  if (m[0] != CHORUS_ROOM_CTRL_VIEW || len != CHORUS_VIEW_CTRL_BYTES ||
      m[9] > CHORUS_VIEW_MERGE || chorus_wire_get_u32(m + 28) == 0) {
    p->stats.rx_bad_frame++;
    return;
  }
  uint32_t view = chorus_wire_get_u32(m + 1);
  if (view < p->view_floor) return; /* sent before a merge, on a resumed link */
  uint32_t keep = members_of(p, chorus_wire_get_u32(m + 5));
  uint32_t view_id = chorus_wire_get_u32(m + 28);
  if (m[9] == CHORUS_VIEW_MERGE) {
    merge_view(p, from, m, keep, view, view_id);
    return;
  }
  if (view_hold(p, from, m)) return;
  view_take(p, from, m);
}

/* Ranks of the newcomers in the view whose cut may never come. */
static uint32_t stranded_ranks(const chorus_peer *p) {
  uint32_t ranks = 0;
  for (size_t i = 0; i < p->count; i++)
    if (cut_in_doubt(p, i)) ranks |= 1u << p->rank_of[i];
  return ranks;
}

/* 1 once every room message this node sent is held by every member (its
 * leave must not take one with it), a newcomer whose cut may never come
 * aside: that one holds nothing until a cut comes, and none comes from a
 * leaving coordinator (it admits nobody); the next one sends it once this
 * node's LEAVE is out, with these messages in its history. Waiting for it
 * would hold both the leave and that cut until the leaver gives up (3 s),
 * while the room's history outgrows what the newcomer missed (via-server
 * 13956). */
static int own_stable(const chorus_peer *p) {
  size_t k = p->rank_of[p->self];
  if (p->room.stable[k] >= p->room.sent) return 1;
  uint32_t stranded = stranded_ranks(p);
  return stranded && chorus_room_held_by_all_but(&p->room, k, stranded) >= p->room.sent;
}

/* LEAVE to every member, once every own message is stable (held by every
 * member of the view): behind the LEAVE on the links, one a view change
 * holds back would arrive once the member is removed, and be dropped; and
 * one only this member holds (its sequencer crashed before numbering it)
 * would be relayed by nobody after it is gone. */
static int leave_push(chorus_peer *p) {
  if (p->room.own_pending || !own_stable(p)) {
    p->leave_owed = 1; /* chorus_member_pump sends it */
    return CHORUS_OK;
  }
  uint8_t c[CHORUS_ROOM_CTRL_BYTES] = {CHORUS_ROOM_CTRL_LEAVE};
  chorus_wire_put_u32(c + 1, p->room.view);
  int rc = chorus_room_push_control(&p->room, p->room.alive & ~(1u << p->rank_of[p->self]),
                                    c, sizeof c);
  if (rc == CHORUS_OK) p->leave_owed = 0;
  return rc;
}

int chorus_peer_leave(chorus_peer *p, uint64_t now_us) {
  (void)now_us;
  if (!p) return CHORUS_ERR_INVAL;
  int rc = leave_push(p);
  if (rc == CHORUS_OK) p->leaving = 1;
  return rc;
}

int chorus_peer_leaving_done(const chorus_peer *p) {
  if (!p || !p->leaving || p->leave_owed || chorus_room_outbox_count(&p->room)) return 0;
  for (size_t i = 0; i < p->count; i++) {
    chorus_link_stats ls;
    if (i == p->self || !chorus_peer_in_view(p, i)) continue;
    chorus_link_stats_get(&p->links[i], &ls);
    if (ls.in_flight + ls.queued > 0) return 0;
  }
  return 1;
}

static int member_any_by_id(const chorus_peer *p, uint32_t id) {
  for (size_t i = 0; i < p->count; i++)
    if (p->ids[i] == id) return (int)i;
  return -1;
}

void chorus_member_frame(chorus_peer *p, size_t from, enum chorus_frame_type type,
                         const chorus_wire_member *w, uint64_t now_us) {
  int m = member_any_by_id(p, w->id);
  if (!p->fd_on || m < 0) return;
  /* Id 0 (a sender's unnamed seat) names no member in our view. */
  if (!p->names[m][0] && chorus_peer_in_view(p, (size_t)m)) return;
  if (type == CHORUS_FRAME_PROBE) chorus_fd_on_probe(&p->fd, from, (size_t)m, now_us);
  else if (type == CHORUS_FRAME_VOUCH)
    chorus_fd_on_vouch(&p->fd, from, (size_t)m, w->incarnation, now_us);
  else {
    uint32_t before = p->fd.self_incarnation;
    chorus_fd_on_gossip(&p->fd, (size_t)m, w->incarnation, type == CHORUS_FRAME_ALIVE,
                        now_us);
    if (p->fd.self_incarnation != before) p->stats.fd_refutations++;
  }
}

static void fdq_push(chorus_peer *p, size_t to, uint8_t type, size_t about,
                     uint32_t incarnation) {
  if (!chorus_peer_in_view(p, to) || to == p->self) return;
  /* A seat in the view not named yet has no id to name it by (one heard
   * is watched: chorus_member_unnamed_heard). */
  if (!p->names[about][0] && chorus_peer_in_view(p, about)) return;
  if (p->fdq_len[to] == CHORUS_WIRE_FD_FRAMES_MAX) {
    p->stats.fd_frames_dropped++;
    return;
  }
  chorus_wire_member w = {p->ids[about], incarnation};
  chorus_wire_member_encode(p->fdq[to][p->fdq_len[to]++], CHORUS_WIRE_MEMBER_BYTES,
                            type, &w);
}

/* A member cut here (its BEACON says it removed us) that our coordinator
 * leaves in the view: a coordinator before ours removed us, the VIEW
 * reached that member, and ours took over without it (it ignores the
 * removals of a coordinator it removed itself, relayed late). Only its
 * coordinator can settle a view, and ours hears nothing of it (the cut
 * member beacons only us), so the view stays asymmetric: the flushes wait
 * for each other's FLUSH_DONE and no merge takes either side. We go on
 * alone instead, as a member a VIEW leaves out: our coordinator cuts us on
 * our BEACONs and removes us, and a merge takes us back. */
static void cut_settle(chorus_peer *p) {
  if (p->room.awaiting_cut || coordinator(p) == p->self) return;
  uint32_t stuck = 0;
  for (size_t i = 0; i < p->count; i++)
    if ((p->cut & (1u << i)) && chorus_peer_in_view(p, i) &&
        p->now_us - p->cut_since_us[i] >= CUT_SETTLE_US &&
        p->now_us - p->cut_heard_us[i] <= HEARD_RECENTLY_US)
      stuck |= 1u << i;
  if (!stuck) return;
  p->stats.cut_settled++;
  view_apply(p, 1u << p->self, CHORUS_VIEW_PARTITION, 0, NO_JOINER, 0, p->self, 0);
}

/* Carry out what the detector decided; admit members that came back. */
void chorus_member_pump(chorus_peer *p, uint64_t now_us) {
  p->now_us = now_us;
  if (p->absorber && now_us >= p->absorb_until_us) { /* gave up */
    p->absorber = 0;
    p->room.merge_hold = 0;
  }
  if (p->leave_owed) (void)leave_push(p); /* full outbox: the next pump */
  rejoin_check(p);
  if (!p->fd_on) {
    view_check(p); /* chorus_peer_remove_member's verdicts */
    cut_resend_check(p); /* after the removals: see there */
    return;
  }
  chorus_fd_action a;
  for (chorus_fd_next(&p->fd, now_us, &a); a.kind != CHORUS_FD_NONE;
       chorus_fd_next(&p->fd, now_us, &a)) {
    switch (a.kind) {
    case CHORUS_FD_SEND_PROBE: fdq_push(p, a.helper, CHORUS_FRAME_PROBE, a.member, 0); break;
    case CHORUS_FD_SEND_VOUCH:
      fdq_push(p, a.helper, CHORUS_FRAME_VOUCH, a.member, a.incarnation);
      break;
    case CHORUS_FD_SEND_SUSPECT:
      fdq_push(p, a.helper, CHORUS_FRAME_SUSPECT, a.member, a.incarnation);
      break;
    case CHORUS_FD_SEND_ALIVE: fdq_push(p, a.helper, CHORUS_FRAME_ALIVE, a.member, a.incarnation); break;
    case CHORUS_FD_DECLARE_DEAD: break;
    default: break;
    }
  }
  merge_mates_check(p, now_us);
  view_check(p);
  cut_settle(p);
  cut_resend_check(p);
}

