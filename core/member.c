/*
 * chorus member: the membership half of a peer (see peer_int.h): the failure
 * detector's decisions carried out, and view changes proposed by the
 * coordinator and installed by every member (docs/PROTOCOL.md, "Failure
 * detection and view changes").
 */
#include <string.h>

#include "peer_int.h"

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

/* Install the view whose members are `keep` (bit per member index). If this
 * node is not in it, the others are unreachable: it goes on alone. */
static void view_apply(chorus_peer *p, uint32_t keep, enum chorus_view_reason why) {
  if (!(keep & (1u << p->self))) {
    keep = 1u << p->self;
    why = CHORUS_VIEW_PARTITION;
  }
  for (size_t i = 0; i < p->count; i++)
    if (chorus_peer_in_view(p, i) && !(keep & (1u << i))) remove_one(p, i, why);
}

/* The member that proposes views: the lowest rank in the view that this
 * node does not believe dead and that is not leaving. */
static size_t coordinator(const chorus_peer *p) {
  for (size_t r = 0; r < p->count; r++) {
    size_t i = p->idx_of[r];
    if (!chorus_peer_in_view(p, i) || (p->leavers & (1u << i))) continue;
    if (i == p->self || !p->fd_on || chorus_fd_state_of(&p->fd, i) != CHORUS_FD_DEAD)
      return i;
  }
  return p->self;
}

/* Coordinator: announce the view without `drop` and install it. */
static void view_propose(chorus_peer *p, uint32_t drop, enum chorus_view_reason why) {
  uint32_t keep = view_members(p) & ~drop;
  uint8_t c[10];
  uint32_t ranks = 0, to = 0;
  for (size_t i = 0; i < p->count; i++) {
    if (!(keep & (1u << i))) continue;
    ranks |= 1u << p->rank_of[i];
    if (i != p->self) to |= 1u << p->rank_of[i];
  }
  c[0] = CHORUS_ROOM_CTRL_VIEW;
  chorus_wire_put_u32(c + 1, p->room.view + 1);
  chorus_wire_put_u32(c + 5, ranks);
  c[9] = (uint8_t)why;
  chorus_room_push_control(&p->room, to, c, sizeof c);
  view_apply(p, keep, why);
}

/* Members this node's detector holds dead, plus those that said LEAVE. */
static void view_check(chorus_peer *p) {
  if (coordinator(p) != p->self) return;
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

/* VIEW and LEAVE control messages (FLUSH_DONE belongs to the room). */
void chorus_member_control(chorus_peer *p, size_t from, const uint8_t *m, size_t len) {
  if (m[0] == CHORUS_ROOM_CTRL_LEAVE && len == CHORUS_ROOM_CTRL_BYTES) {
    p->leavers |= 1u << from;
    view_check(p);
    return;
  }
  if (m[0] != CHORUS_ROOM_CTRL_VIEW || len != 10 || m[9] > CHORUS_VIEW_MERGE) {
    p->stats.rx_bad_frame++;
    return;
  }
  uint32_t ranks = chorus_wire_get_u32(m + 5), keep = 0;
  for (size_t i = 0; i < p->count; i++)
    if (ranks & (1u << p->rank_of[i])) keep |= 1u << i;
  view_apply(p, keep, (enum chorus_view_reason)m[9]);
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
  else if (type == CHORUS_FRAME_VOUCH) chorus_fd_on_vouch(&p->fd, from, (size_t)m, now_us);
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

/* Carry out what the detector decided. */
void chorus_member_pump(chorus_peer *p, uint64_t now_us) {
  if (!p->fd_on) return;
  chorus_fd_action a;
  for (chorus_fd_next(&p->fd, now_us, &a); a.kind != CHORUS_FD_NONE;
       chorus_fd_next(&p->fd, now_us, &a)) {
    switch (a.kind) {
    case CHORUS_FD_SEND_PROBE: fdq_push(p, a.helper, CHORUS_FRAME_PROBE, a.member, 0); break;
    case CHORUS_FD_SEND_VOUCH: fdq_push(p, a.helper, CHORUS_FRAME_VOUCH, a.member, 0); break;
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

