/*
 * chorus member: the membership half of a peer (see peer_int.h): the failure
 * detector's decisions carried out, and view changes proposed by the
 * coordinator and installed by every member (docs/PROTOCOL.md, "Failure
 * detection and view changes").
 */
#include <string.h>

#include "peer_int.h"

/* VIEW control message: type 1 | view 4 | ranks 4 | reason 1 | joiner epoch 4 |
 * joiner rank 1 (0xFF unless reason is JOIN) | joiner's first count 4 (see
 * chorus_room_join_first; 0 unless reason is JOIN) */

/* How long a member that left gracefully still gets ACKs (and so can
 * finish sending its last frames and stop at once). */
#define FAREWELL_US 3000000
#define CHORUS_VIEW_CTRL_BYTES 19
#define NO_JOINER 0xFF

static uint32_t view_members(const chorus_peer *p) {
  uint32_t mask = 0;
  for (size_t i = 0; i < p->count; i++)
    if (!(p->removed & (1u << i))) mask |= 1u << i;
  return mask;
}

int chorus_peer_in_view(const chorus_peer *p, size_t member) {
  return member < p->count && !(p->removed & (1u << member));
}

/* Take one member out: the room flushes, the detector stops watching. */
static int remove_one(chorus_peer *p, size_t member, enum chorus_view_reason why) {
  int rc = chorus_room_remove(&p->room, p->rank_of[member]);
  if (rc < 0) return rc;
  p->removed |= 1u << member;
  if (why == CHORUS_VIEW_LEAVE) p->farewell_until_us[member] = p->now_us + FAREWELL_US;
  if (p->fd_on) chorus_fd_forget(&p->fd, member);
  if (p->ev_count < CHORUS_EVENTS_MAX) {
    chorus_peer_event_push(p, CHORUS_OUT_VIEW, member, 0, 0);
    chorus_output *e = &p->events[(p->ev_head + p->ev_count - 1) % CHORUS_EVENTS_MAX];
    e->view = p->room.view;
    e->reason = why;
    e->members = view_members(p);
  } else {
    p->stats.events_dropped++;
  }
  return CHORUS_OK;
}

int chorus_peer_remove_member(chorus_peer *p, uint64_t now_us, size_t member) {
  (void)now_us;
  if (!p || member >= p->count || member == p->self ||
      (p->removed & (1u << member)))
    return CHORUS_ERR_INVAL;
  return remove_one(p, member, CHORUS_VIEW_CRASH);
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
  chorus_link_on_epoch(&p->links[member], epoch, 0); /* a new stream if it restarted */
  if (p->fd_on) chorus_fd_watch(&p->fd, member, p->now_us);
  if (p->ev_count < CHORUS_EVENTS_MAX) {
    chorus_peer_event_push(p, CHORUS_OUT_VIEW, member, epoch, 0);
    chorus_output *e = &p->events[(p->ev_head + p->ev_count - 1) % CHORUS_EVENTS_MAX];
    e->view = p->room.view;
    e->reason = CHORUS_VIEW_JOIN;
    e->members = view_members(p);
  } else {
    p->stats.events_dropped++;
  }
}

/* Install the view whose members are `keep` (bit per member index). If this
 * node is not in it, the others are unreachable: it goes on alone. */
static void view_apply(chorus_peer *p, uint32_t keep, enum chorus_view_reason why,
                       uint32_t epoch, uint8_t joiner, uint32_t first, size_t from) {
  if (!(keep & (1u << p->self))) {
    keep = 1u << p->self;
    why = CHORUS_VIEW_PARTITION;
  }
  /* Only a JOIN adds members: a view that still lists one we removed is
   * an older proposal, not a re-admission; and a JOIN adds its joiner only
   * (other members it lists may be ones we already removed). */
  for (size_t i = 0; i < p->count; i++) {
    if (chorus_peer_in_view(p, i) && !(keep & (1u << i))) remove_one(p, i, why);
    else if (why == CHORUS_VIEW_JOIN && p->rank_of[i] == joiner &&
             !chorus_peer_in_view(p, i) && (keep & (1u << i)))
      admit(p, i, epoch, first, 0, from);
  }
}

/* The member that proposes views: the sequencer, unless this node believes
 * it dead or it is leaving; then the lowest rank in the view that is not. */
static int coordinates(const chorus_peer *p, size_t i) {
  /* A member seen restarted is not its old incarnation: it cannot remove
   * that one, nor admit itself. */
  return chorus_peer_in_view(p, i) && !(p->leavers & (1u << i)) &&
         !(p->unadmitted & (1u << i)) &&
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
  chorus_room_push_control(&p->room, to, c, sizeof c);
}

static void view_propose(chorus_peer *p, uint32_t drop, enum chorus_view_reason why) {
  uint32_t keep = view_members(p) & ~drop;
  view_announce(p, keep, 0, why, 0, NO_JOINER, 0);
  view_apply(p, keep, why, 0, NO_JOINER, 0, p->self);
}

/* Coordinator: admit `member` again. The others hear VIEW; the newcomer
 * hears the history and JOIN_STATE instead. */
static void view_propose_join(chorus_peer *p, size_t member, uint32_t epoch) {
  uint32_t keep = view_members(p) | (1u << member);
  uint32_t first = chorus_room_join_first(&p->room, p->rank_of[member]);
  view_announce(p, keep, 1u << member, CHORUS_VIEW_JOIN, epoch,
                (uint8_t)p->rank_of[member], first);
  admit(p, member, epoch, first, 1, p->self);
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
  p->restarted = 0;
  for (size_t i = 0; i < p->count; i++) {
    if (!(back & (1u << i))) continue;
    if (p->links[i].peer_epoch > p->rejoin_epoch[i])
      p->rejoin_epoch[i] = p->links[i].peer_epoch;
    if (chorus_peer_in_view(p, i)) view_propose(p, 1u << i, CHORUS_VIEW_CRASH);
  }
  p->rejoin = back;
  if (p->room.flushing) return;
  for (size_t i = 0; i < p->count; i++)
    if (back & (1u << i)) view_propose_join(p, i, p->rejoin_epoch[i]);
  p->rejoin = 0;
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
  dead &= ~gone;
  if (gone) view_propose(p, gone, CHORUS_VIEW_LEAVE);
  if (dead) {
    int several = (dead & (dead - 1)) != 0;
    view_propose(p, dead, several ? CHORUS_VIEW_PARTITION : CHORUS_VIEW_CRASH);
  }
}

/* The cut lists member i with the boot this node has heard from (one it
 * took for a newcomer, e.g. a seat's new occupant that greeted it before
 * its own admission): that boot is admitted, its room traffic flows. A
 * newer boot than the cut's stays unadmitted. */
static void cut_admits(chorus_peer *p, size_t i) {
  uint32_t epoch = p->room.epoch[p->rank_of[i]];
  if (epoch == 0 || p->links[i].peer_epoch > epoch || p->rejoin_epoch[i] > epoch) return;
  p->unadmitted &= ~(1u << i);
  p->rejoin &= ~(1u << i);
  p->restarted &= ~(1u << i);
  chorus_link_on_epoch(&p->links[i], epoch, 0);
}

/* The coordinator admitted us: adopt its view and cut. */
static void join_state(chorus_peer *p, const uint8_t *m, size_t len) {
  if (chorus_room_on_join_state(&p->room, m, len) < 0) {
    p->stats.rx_bad_frame++;
    return;
  }
  for (size_t i = 0; i < p->count; i++) {
    int in = (p->room.alive >> p->rank_of[i]) & 1;
    if (in && i != p->self) cut_admits(p, i);
    if (i == p->self || in == !(p->removed & (1u << i))) continue;
    if (in) { /* one this node had removed on its own, or held as a
                 vacant seat, before it was let in */
      p->removed &= ~(1u << i);
      if (p->fd_on) chorus_fd_watch(&p->fd, i, p->now_us);
      continue;
    }
    p->removed |= 1u << i;
    if (p->fd_on) chorus_fd_forget(&p->fd, i);
  }
  if (p->ev_count < CHORUS_EVENTS_MAX) {
    chorus_peer_event_push(p, CHORUS_OUT_VIEW, p->self, p->epoch, 0);
    chorus_output *e = &p->events[(p->ev_head + p->ev_count - 1) % CHORUS_EVENTS_MAX];
    e->view = p->room.view;
    e->reason = CHORUS_VIEW_JOIN;
    e->members = view_members(p);
  }
}

/* VIEW, LEAVE and JOIN_STATE control messages (FLUSH_DONE belongs to the
 * room, HISTORY to peer.c). */
void chorus_member_control(chorus_peer *p, size_t from, const uint8_t *m, size_t len) {
  if (m[0] == CHORUS_ROOM_CTRL_LEAVE && len == CHORUS_ROOM_CTRL_BYTES) {
    p->leavers |= 1u << from;
    view_check(p);
    return;
  }
  if (m[0] == CHORUS_ROOM_CTRL_JOIN_STATE) {
    join_state(p, m, len);
    return;
  }
  if (m[0] != CHORUS_ROOM_CTRL_VIEW || len != CHORUS_VIEW_CTRL_BYTES ||
      m[9] > CHORUS_VIEW_MERGE) {
    p->stats.rx_bad_frame++;
    return;
  }
  uint32_t ranks = chorus_wire_get_u32(m + 5), keep = 0;
  for (size_t i = 0; i < p->count; i++)
    if (ranks & (1u << p->rank_of[i])) keep |= 1u << i;
  view_apply(p, keep, (enum chorus_view_reason)m[9], chorus_wire_get_u32(m + 10), m[14],
             chorus_wire_get_u32(m + 15), from);
}

int chorus_peer_leave(chorus_peer *p, uint64_t now_us) {
  (void)now_us;
  if (!p) return CHORUS_ERR_INVAL;
  uint8_t c[CHORUS_ROOM_CTRL_BYTES] = {CHORUS_ROOM_CTRL_LEAVE};
  chorus_wire_put_u32(c + 1, p->room.view);
  int rc = chorus_room_push_control(&p->room, p->room.alive & ~(1u << p->rank_of[p->self]),
                                    c, sizeof c);
  if (rc == CHORUS_OK) p->leaving = 1;
  return rc;
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
  if (p->fdq_len[to] == CHORUS_WIRE_FD_FRAMES_MAX) {
    p->stats.fd_frames_dropped++;
    return;
  }
  chorus_wire_member w = {p->ids[about], incarnation};
  chorus_wire_member_encode(p->fdq[to][p->fdq_len[to]++], CHORUS_WIRE_MEMBER_BYTES,
                            type, &w);
}

/* Carry out what the detector decided; admit members that came back. */
void chorus_member_pump(chorus_peer *p, uint64_t now_us) {
  p->now_us = now_us;
  rejoin_check(p);
  if (!p->fd_on) return;
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
  view_check(p);
}

