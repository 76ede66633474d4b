#include "peer.h"

#include <stdlib.h>
#include <string.h>

#include "peer_int.h"
#include "utf8.h"

static size_t link_msg_bytes_max(size_t msg_bytes_max) {
  return msg_bytes_max + CHORUS_ROOM_HDR_BYTES_MAX;
}

void chorus_peer_config_default(chorus_peer_config *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->msg_bytes_max = CHORUS_MSG_BYTES_DEFAULT;
  cfg->window_frames = CHORUS_WINDOW_FRAMES_DEFAULT;
  cfg->rto_us_initial = 200000;
  cfg->rto_us_min = 10000;
  cfg->rto_us_max = 2000000;
  cfg->ack_delay_us = 5000;
  cfg->order = CHORUS_ORDER_TOTAL;
  cfg->retain_msgs = CHORUS_RETAIN_MSGS_DEFAULT;
  cfg->state_lazy_us = 200000;
  cfg->state_early_us = 0;
  cfg->history_msgs = CHORUS_HISTORY_MSGS_DEFAULT;
}

static size_t frags_for(size_t len) {
  return (len + CHORUS_WIRE_FRAG_BYTES_MAX - 1) / CHORUS_WIRE_FRAG_BYTES_MAX;
}

static int config_check(const chorus_peer_config *cfg) {
  if (cfg->epoch == 0 || cfg->msg_bytes_max == 0 ||
      cfg->msg_bytes_max > CHORUS_MSG_BYTES_MAX ||
      cfg->window_frames < frags_for(link_msg_bytes_max(cfg->msg_bytes_max)) ||
      cfg->order > CHORUS_ORDER_SAFE || cfg->retain_msgs < 2 ||
      cfg->retain_msgs > CHORUS_RETAIN_MSGS_MAX || cfg->fd_mode > CHORUS_FD_MODE_FAST ||
      cfg->window_frames > CHORUS_WINDOW_FRAMES_MAX || cfg->rto_us_min == 0 ||
      cfg->rto_us_min > cfg->rto_us_initial ||
      cfg->rto_us_initial > cfg->rto_us_max)
    return CHORUS_ERR_CONFIG;
  if (cfg->member_count == 0 || cfg->member_count > CHORUS_MEMBERS_MAX)
    return CHORUS_ERR_INVAL;
  return CHORUS_OK;
}

static int name_ok(const char *n) {
  size_t len = n ? strlen(n) : 0;
  return len > 0 && len <= CHORUS_NAME_BYTES_MAX && chorus_utf8_valid((const uint8_t *)n, len);
}

/* Another slot than `except` holds a name with wire id `id`. */
static int id_taken(const chorus_peer *p, uint32_t id, size_t except) {
  for (size_t j = 0; j < p->count; j++)
    if (j != except && p->names[j][0] && p->ids[j] == id) return 1;
  return 0;
}

/* Copy and check the member names; find self. */
static int members_init(chorus_peer *p, const chorus_peer_config *cfg) {
  if (!cfg->self_name) return CHORUS_ERR_INVAL;
  p->count = cfg->member_count;
  p->self = CHORUS_MEMBERS_MAX;
  p->slots = cfg->slots != 0;
  for (size_t i = 0; i < p->count; i++) {
    const char *n = cfg->member_names[i];
    if (!n && p->slots) {
      p->removed |= 1u << i; /* vacant */
      continue;
    }
    if (!name_ok(n)) return CHORUS_ERR_INVAL;
    memcpy(p->names[i], n, strlen(n) + 1);
    p->ids[i] = chorus_wire_name_id(n);
    if (id_taken(p, p->ids[i], i)) return CHORUS_ERR_INVAL; /* same name or hash */
    if (strcmp(n, cfg->self_name) == 0) p->self = i;
  }
  if (p->self >= p->count) return CHORUS_ERR_INVAL;
  /* Rank = slot, or position in byte-wise name order: the same at every
   * member either way. */
  for (size_t i = 0; i < p->count; i++) {
    size_t rank = 0;
    for (size_t j = 0; j < p->count && !p->slots; j++)
      if (strcmp(p->names[j], p->names[i]) < 0) rank++;
    p->rank_of[i] = p->slots ? i : rank;
    p->idx_of[p->rank_of[i]] = i;
  }
  return CHORUS_OK;
}

static int links_init(chorus_peer *p, const chorus_peer_config *cfg) {
  chorus_link_config lc = {cfg->window_frames,
                           (uint32_t)link_msg_bytes_max(cfg->msg_bytes_max),
                           cfg->rto_us_initial, cfg->rto_us_min,
                           cfg->rto_us_max, cfg->ack_delay_us};
  for (size_t i = 0; i < p->count; i++) {
    if (i == p->self) continue;
    int rc = chorus_link_init(&p->links[i], &lc, 0);
    if (rc != CHORUS_OK) return rc;
  }
  return CHORUS_OK;
}

int chorus_peer_new(const chorus_peer_config *cfg, chorus_peer **out) {
  if (!cfg || !out) return CHORUS_ERR_INVAL;
  int rc = config_check(cfg);
  if (rc != CHORUS_OK) return rc;
  chorus_peer *p = calloc(1, sizeof(*p));
  if (!p) return CHORUS_ERR_NOMEM;
  rc = members_init(p, cfg);
  if (rc == CHORUS_OK) rc = links_init(p, cfg);
  if (rc == CHORUS_OK)
    rc = chorus_room_init(&p->room, p->count, p->rank_of[p->self],
                          cfg->retain_msgs, cfg->msg_bytes_max, cfg->history_msgs);
  if (rc == CHORUS_OK && p->removed) chorus_room_set_members(&p->room, ~p->removed);
  /* A boot into a running room holds its starting view as a guess: the
   * coordinator's cut is the view it gets. */
  if (rc == CHORUS_OK && cfg->joining) chorus_room_expect_cut(&p->room);
  p->scratch = malloc(link_msg_bytes_max(cfg->msg_bytes_max));
  if (rc == CHORUS_OK && !p->scratch) rc = CHORUS_ERR_NOMEM;
  if (rc != CHORUS_OK) {
    chorus_peer_free(p);
    return rc;
  }
  p->epoch = cfg->epoch;
  chorus_room_set_epoch(&p->room, cfg->epoch);
  p->msg_bytes_max = cfg->msg_bytes_max;
  p->order = cfg->order;
  p->report_held = cfg->report_held;
  p->ack_delay_us = cfg->ack_delay_us;
  p->state_lazy_us = cfg->state_lazy_us;
  p->state_early_us = cfg->state_early_us;
  chorus_prng_init(&p->prng, cfg->seed);
  if (cfg->fd_mode != CHORUS_FD_MODE_OFF) {
    chorus_fd_config fc;
    if (cfg->fd_mode == CHORUS_FD_MODE_FAST) chorus_fd_profile_fast(&fc);
    else chorus_fd_profile_default(&fc);
    chorus_fd_init(&p->fd, &fc, p->count, p->self, 0, &p->prng); /* clock: fd_start */
    for (size_t i = 0; i < p->count; i++)
      if (p->removed & (1u << i)) chorus_fd_forget(&p->fd, i);
    p->fd_on = 1;
  }
  *out = p;
  return CHORUS_OK;
}

void chorus_peer_free(chorus_peer *p) {
  if (!p) return;
  for (size_t i = 0; i < CHORUS_MEMBERS_MAX; i++) chorus_link_free(&p->links[i]);
  chorus_room_free(&p->room);
  free(p->scratch);
  free(p);
}

void chorus_peer_event_push(chorus_peer *p, enum chorus_out_kind kind, size_t member,
                            uint32_t epoch, uint32_t dropped) {
  /* recv() refuses datagrams while the ring is full, so this always fits. */
  chorus_output *e = &p->events[(p->ev_head + p->ev_count++) % CHORUS_EVENTS_MAX];
  memset(e, 0, sizeof(*e));
  e->kind = kind;
  e->member = member;
  e->epoch = epoch;
  e->dropped = dropped;
}

static void count_rx_error(chorus_peer *p, int rc) {
  switch (rc) {
  case CHORUS_ERR_TOO_BIG: p->stats.rx_too_big++; break;
  case CHORUS_ERR_TRUNCATED: p->stats.rx_truncated++; break;
  case CHORUS_ERR_BAD_MAGIC: p->stats.rx_bad_magic++; break;
  case CHORUS_ERR_BAD_VERSION: p->stats.rx_bad_version++; break;
  case CHORUS_ERR_UNKNOWN_SENDER: p->stats.rx_unknown_sender++; break;
  case CHORUS_ERR_STALE_EPOCH: p->stats.rx_stale_epoch++; break;
  case CHORUS_ERR_QUEUE_FULL: p->stats.events_dropped++; break;
  default: p->stats.rx_bad_frame++; break;
  }
}

/* Walk every frame once without acting, so a datagram is taken whole or not
 * at all. Sets *has_data when a DATA frame is present, *has_beacon when a
 * BEACON is. */
static int frames_check(const uint8_t *buf, size_t len, int *has_data, int *has_beacon) {
  *has_data = *has_beacon = 0;
  while (len > 0) {
    chorus_wire_frame f;
    int n = chorus_wire_frame_decode(buf, len, &f);
    if (n < 0) return n;
    if (f.type == CHORUS_FRAME_DATA || f.type == CHORUS_FRAME_ACK) *has_data = 1;
    if (f.type == CHORUS_FRAME_BEACON) *has_beacon = 1;
    buf += n;
    len -= (size_t)n;
  }
  return CHORUS_OK;
}


static void frames_apply(chorus_peer *p, size_t m, const uint8_t *buf,
                         size_t len, uint64_t now_us) {
  chorus_link *l = &p->links[m];
  while (len > 0) {
    chorus_wire_frame f;
    int n = chorus_wire_frame_decode(buf, len, &f);
    if (f.type == CHORUS_FRAME_DATA) {
      chorus_link_on_data(l, &f.u.data, now_us);
    } else if (f.type == CHORUS_FRAME_ACK) {
      if (chorus_link_on_ack(l, &f.u.ack, now_us) < 0) p->stats.rx_bad_frame++;
    } else if (f.type == CHORUS_FRAME_STATE) {
      const chorus_wire_state *st = &f.u.state;
      if (!(p->unadmitted & (1u << m))) { /* else: not a state the room knows */
        chorus_room_on_state(&p->room, p->rank_of[m], st->view, st->held,
                           st->stable, st->n);
        chorus_member_state_view(p, m, st->view);
      }
    } else if (f.type == CHORUS_FRAME_HELLO) {
      chorus_link_on_hello(l);
    } else if (f.type == CHORUS_FRAME_BEACON) {
      chorus_member_beacon(p, m, &f.u.beacon);
    } else {
      chorus_member_frame(p, m, f.type, &f.u.member, now_us);
    }
    buf += n;
    len -= (size_t)n;
  }
}

/* A removed member that speaks with a newer epoch has restarted: remember
 * it so the coordinator admits it again. Until then its link carries only
 * datagrams (heartbeats, so that its detector stays calm, and the
 * UNADMITTED flag) and private messages. */
static int member_by_id(chorus_peer *p, const chorus_wire_header *h) {
  for (size_t i = 0; i < p->count; i++) {
    if (p->ids[i] != h->src_id || i == p->self || !p->names[i][0]) continue;
    if (chorus_peer_linked(p, i) && h->src_epoch <= p->links[i].peer_epoch) return (int)i;
    if (!(p->removed & (1u << i))) return (int)i;
    if (h->src_epoch > p->links[i].peer_epoch) {
      p->rejoin |= 1u << i;
      p->unadmitted |= 1u << i;
      if (h->src_epoch > p->rejoin_epoch[i]) p->rejoin_epoch[i] = h->src_epoch;
      return (int)i;
    }
  }
  return CHORUS_ERR_UNKNOWN_SENDER;
}

/* A datagram from a member this node removed, same incarnation: only its
 * BEACONs act (merging views); 1 if it was one of those. */
static int from_removed(chorus_peer *p, const chorus_wire_header *h,
                        const uint8_t *buf, size_t len) {
  for (size_t i = 0; i < p->count; i++) {
    if (p->ids[i] != h->src_id || i == p->self || !(p->removed & (1u << i)) ||
        h->src_epoch != p->links[i].peer_epoch || h->dst_epoch != p->epoch)
      continue;
    int has_data, has_beacon;
    if (frames_check(buf, len, &has_data, &has_beacon) < 0 || !has_beacon) return 0;
    while (len > 0) {
      chorus_wire_frame f;
      int n = chorus_wire_frame_decode(buf, len, &f);
      if (f.type == CHORUS_FRAME_BEACON) chorus_member_beacon(p, i, &f.u.beacon);
      buf += n;
      len -= (size_t)n;
    }
    return 1;
  }
  return 0;
}

/* The ACKs in a datagram of the boot the view holds at unnamed seat m
 * (refused until its name comes): they are about our own frames, and need
 * no name. Refused too, the link to it backs off to the RTO cap, and a
 * frame lost meanwhile (a VIEW) goes again only that late (via-server
 * 13808). Its other frames wait for its name. */
static void unnamed_acks(chorus_peer *p, size_t m, const chorus_wire_header *h,
                         const uint8_t *buf, size_t len, uint64_t now_us) {
  chorus_link *l = &p->links[m];
  int has_data, has_beacon;
  if (h->dst_epoch != p->epoch || h->src_epoch != l->peer_epoch ||
      frames_check(buf, len, &has_data, &has_beacon) < 0)
    return;
  while (len > 0) {
    chorus_wire_frame f;
    int n = chorus_wire_frame_decode(buf, len, &f);
    if (f.type == CHORUS_FRAME_ACK && chorus_link_on_ack(l, &f.u.ack, now_us) < 0)
      p->stats.rx_bad_frame++;
    buf += n;
    len -= (size_t)n;
  }
}

static int recv_checked(chorus_peer *p, uint64_t now_us, const uint8_t *data,
                        size_t len) {
  chorus_wire_header h;
  int rc = chorus_wire_header_decode(data, len, &h);
  if (rc < 0) return rc;
  int m = member_by_id(p, &h);
  if (m < 0 && from_removed(p, &h, data + CHORUS_WIRE_HEADER_BYTES,
                            len - CHORUS_WIRE_HEADER_BYTES))
    return CHORUS_OK;
  if (m < 0) {
    int seat = chorus_member_unnamed_heard(p, h.src_epoch, now_us);
    if (seat >= 0)
      unnamed_acks(p, (size_t)seat, &h, data + CHORUS_WIRE_HEADER_BYTES,
                   len - CHORUS_WIRE_HEADER_BYTES, now_us);
    return m;
  }
  int has_data, has_beacon;
  rc = frames_check(data + rc, len - CHORUS_WIRE_HEADER_BYTES, &has_data, &has_beacon);
  if (rc < 0) return rc;
  if (p->ev_count == CHORUS_EVENTS_MAX) return CHORUS_ERR_QUEUE_FULL;
  chorus_link *l = &p->links[m];
  rc = chorus_link_on_epoch(l, h.src_epoch, now_us);
  if (rc < 0) return rc;
  if (rc == 1) chorus_peer_event_push(p, CHORUS_OUT_PEER_UP, (size_t)m, h.src_epoch, 0);
  if (rc == 2) {
    chorus_peer_event_push(p, CHORUS_OUT_PEER_RESTARTED, (size_t)m, h.src_epoch,
               l->stats.abandoned);
    /* The room keeps the old incarnation until the view change that
     * removes it; the new one gets room traffic once admitted. */
    p->restarted |= 1u << m;
    p->unadmitted |= 1u << m;
  }
  l->stats.datagrams_recv++;
  if (p->fd_on) chorus_fd_heard(&p->fd, (size_t)m, now_us);
  if (h.dst_epoch == p->epoch) chorus_link_named(l);
  if (h.dst_epoch != p->epoch) {
    /* It does not know this incarnation yet: ignore its frames, tell it. */
    if (has_data) p->stats.rx_wrong_dest++;
    chorus_link_request_reply(l);
    return CHORUS_OK;
  }
  /* The room runs without this incarnation: it joins, it does not start. */
  if (h.flags & CHORUS_WIRE_HDR_UNADMITTED) chorus_room_expect_cut(&p->room);
  chorus_member_flags(p, (size_t)m, h.flags);
  frames_apply(p, (size_t)m, data + CHORUS_WIRE_HEADER_BYTES,
               len - CHORUS_WIRE_HEADER_BYTES, now_us);
  if (!has_beacon) chorus_member_heard(p, (size_t)m);
  if (has_data) chorus_link_on_data_datagram(l, now_us);
  return CHORUS_OK;
}

/* The detector's clock starts with the first input, not at time 0: a
 * driver's clock has any origin. */
static void fd_start(chorus_peer *p, uint64_t now_us) {
  p->now_us = now_us;
  if (!p->greet_late_us) p->greet_late_us = now_us + CHORUS_GREET_LATE_US;
  if (!p->fd_on || p->fd_started) return;
  p->fd_started = 1;
  for (size_t i = 0; i < p->count; i++) chorus_fd_watch(&p->fd, i, now_us);
}

int chorus_peer_recv(chorus_peer *p, uint64_t now_us, const uint8_t *data,
                     size_t len) {
  if (!p || (!data && len)) return CHORUS_ERR_INVAL;
  fd_start(p, now_us);
  p->stats.datagrams_recv++;
  int rc = recv_checked(p, now_us, data, len);
  if (rc < 0) count_rx_error(p, rc);
  return rc;
}

/* Members we exchange datagrams with: not self, not removed. */
int chorus_peer_linked(const chorus_peer *p, size_t i) {
  if (i == p->self) return 0;
  return !(p->removed & (1u << i)) || p->now_us < p->farewell_until_us[i] ||
         (p->unadmitted & (1u << i)) || p->absorber == i + 1;
}

static void greet_named(chorus_peer *p, size_t member);

/* A newcomer greets the members listed when it got its seat. If its cut
 * has not come CHORUS_GREET_LATE_US after its start, it greets the seats
 * named since, too (greet_named). */
static void greet_late(chorus_peer *p, uint64_t now_us) {
  if (!p->room.awaiting_cut || now_us < p->greet_late_us) return;
  for (size_t i = 0; i < p->count; i++)
    if (i != p->self && p->names[i][0] && p->links[i].peer_epoch == 0) greet_named(p, i);
}

void chorus_peer_tick(chorus_peer *p, uint64_t now_us) {
  fd_start(p, now_us);
  greet_late(p, now_us);
  for (size_t i = 0; i < p->count; i++)
    if (chorus_peer_linked(p, i)) chorus_link_tick(&p->links[i], now_us);
  chorus_member_pump(p, now_us);
}

static int text_check(const chorus_peer *p, const uint8_t *text, size_t len) {
  if (len == 0) return CHORUS_ERR_EMPTY;
  if (len > p->msg_bytes_max) return CHORUS_ERR_MSG_TOO_LONG;
  if (!text || !chorus_utf8_valid(text, len)) return CHORUS_ERR_BAD_UTF8;
  return CHORUS_OK;
}

/* Split a message into fragments on one link; the caller checked the space. */
static void queue_message(chorus_link *l, enum chorus_wire_kind kind,
                          uint32_t msg_id, const uint8_t *text, size_t len) {
  for (size_t off = 0; off < len; off += CHORUS_WIRE_FRAG_BYTES_MAX) {
    size_t n = len - off;
    if (n > CHORUS_WIRE_FRAG_BYTES_MAX) n = CHORUS_WIRE_FRAG_BYTES_MAX;
    uint8_t flags = (uint8_t)((off == 0 ? CHORUS_DATA_FIRST : 0) |
                              (off + n == len ? CHORUS_DATA_LAST : 0));
    chorus_link_frag f = {(uint8_t)kind, CHORUS_ORDER_FIFO, flags, msg_id,
                          (uint32_t)len, (uint16_t)n, text + off};
    chorus_link_queue(l, &f);
  }
}

int chorus_peer_send_room(chorus_peer *p, uint64_t now_us,
                          enum chorus_order order, const uint8_t *text,
                          size_t len, uint32_t *msg_id) {
  if (!p || order > CHORUS_ORDER_SAFE || p->leaving) return CHORUS_ERR_INVAL;
  int rc = text_check(p, text, len);
  if (rc < 0) return rc;
  uint32_t count;
  rc = chorus_room_submit(&p->room, now_us, (uint8_t)order, text, len, p->epoch,
                          &count);
  if (rc < 0) {
    p->stats.tx_window_full++;
    return rc;
  }
  p->stats.sent_room++;
  if (msg_id) *msg_id = count;
  return CHORUS_OK;
}

int chorus_peer_broadcast(chorus_peer *p, uint64_t now_us, const uint8_t *text,
                          size_t len, uint32_t *msg_id) {
  if (!p) return CHORUS_ERR_INVAL;
  return chorus_peer_send_room(p, now_us, p->order, text, len, msg_id);
}

int chorus_peer_send_private(chorus_peer *p, uint64_t now_us, size_t member,
                             const uint8_t *text, size_t len, uint32_t *msg_id) {
  (void)now_us;
  if (member >= p->count || (p->removed & (1u << member)))
    return CHORUS_ERR_UNKNOWN_USER;
  if (member == p->self) return CHORUS_ERR_SELF;
  int rc = text_check(p, text, len);
  if (rc < 0) return rc;
  if (chorus_link_space(&p->links[member]) < frags_for(len)) {
    p->stats.tx_window_full++;
    return CHORUS_ERR_WINDOW_FULL;
  }
  uint32_t id = ++p->next_private_id;
  queue_message(&p->links[member], CHORUS_WIRE_KIND_PRIVATE, id, text, len);
  p->stats.sent_private++;
  if (msg_id) *msg_id = id;
  return CHORUS_OK;
}

/* 1 once this newcomer's held JOIN event may go: the room is settled and
 * its history delivered (the user sees the history, then the JOIN, then
 * the live messages). Held events never fill the queue: past half of it
 * they go (the datagrams that settle the room must still be taken). */
static int join_release(chorus_peer *p) {
  if ((!chorus_room_settled(&p->room) || p->room.hist_unsent > 0) &&
      p->ev_count < CHORUS_EVENTS_MAX / 2)
    return 0;
  p->join_held = 0;
  return 1;
}

/* An afresh cut replaces the first: the view events since the first cut's
 * JOIN (held, never given) describe a view this node never stood in. */
static void join_events_drop(chorus_peer *p) {
  if (!p->join_held) return;
  size_t keep = p->ev_before_join;
  for (size_t k = p->ev_before_join; k < p->ev_count; k++) {
    const chorus_output *e = &p->events[(p->ev_head + k) % CHORUS_EVENTS_MAX];
    if (e->kind != CHORUS_OUT_VIEW)
      p->events[(p->ev_head + keep++) % CHORUS_EVENTS_MAX] = *e;
  }
  p->ev_count = keep;
  p->join_held = 0;
}

static int poll_event(chorus_peer *p, chorus_output *out) {
  if (p->ev_count == 0) return 0;
  if (p->join_held && p->ev_before_join == 0 && !join_release(p)) return 0;
  if (p->join_held) p->ev_before_join--;
  *out = p->events[p->ev_head];
  p->ev_head = (p->ev_head + 1) % CHORUS_EVENTS_MAX;
  p->ev_count--;
  return 1;
}

/* A room message for the user: text copied into the caller's buffer. */
static void room_output(const chorus_peer *p, const chorus_room_delivery *d,
                        chorus_output *out, uint8_t *buf) {
  memcpy(buf, d->text, d->len);
  memset(out, 0, sizeof(*out));
  out->kind = CHORUS_OUT_DELIVER;
  out->member = p->idx_of[d->origin];
  out->data = buf;
  out->len = d->len;
  out->msg_kind = CHORUS_MSG_ROOM;
  out->order = (enum chorus_order)d->order;
  out->epoch = d->origin_epoch;
  out->msg_id = d->count;
  out->view = d->view;
  out->seq = d->seq;
}

/* A message of the room's history sent by the coordinator that admitted us:
 * kept, to be delivered to the user as history, outside the live order,
 * once the room is settled (history_next). */
static void history_take(chorus_peer *p, size_t from, size_t len) {
  chorus_room_delivery d;
  if (chorus_room_history_decode(&p->room, p->scratch, len, &d) < 0 ||
      !chorus_utf8_valid(d.text, d.len)) {
    p->stats.rx_bad_frame++;
    return;
  }
  /* Once a cut is taken, or for what it delivered already: a second cut
   * (its admitter crashed before the first was out) repeats the history.
   * A first history to a node that took a cut comes from a coordinator
   * that never held the view of that cut (its admitter crashed before
   * anyone heard the JOIN): the cut that follows replaces ours, and its
   * history is what we lack of that coordinator's view (member.c,
   * join_state). */
  if (p->room.cut_taken) {
    if (p->scratch[0] == CHORUS_ROOM_CTRL_HISTORY_AGAIN) return;
    if (p->cut_again_from != from + 1 && !chorus_room_settled(&p->room)) {
      /* Nothing of the first cut was delivered: take this one whole. */
      chorus_room_cut_rollback(&p->room);
      memset(p->history_upto, 0, sizeof p->history_upto);
      join_events_drop(p);
    }
    p->cut_again_from = from + 1;
    if (d.count <= p->room.delivered[d.origin]) return;
  } else if (p->history_from != from + 1) {
    /* The rest of a history replaced by another's, still coming on its
     * link: taken again, it would replace that one in turn, and the two
     * interleaved would leave the start of both out (via-mix7 13301). */
    if (p->history_dropped & (1u << from)) return;
    /* Another coordinator's history (that one left or crashed before its
     * cut): its cut follows this history, which replaces the one held. */
    if (p->history_from != 0) p->history_dropped |= 1u << (p->history_from - 1);
    chorus_room_history_forget(&p->room);
    memset(p->history_upto, 0, sizeof p->history_upto);
  }
  p->history_from = from + 1;
  if (d.count <= p->history_upto[d.origin]) return;
  p->history_upto[d.origin] = d.count;
  /* Delivered once the room is settled (poll_room), in the order it came. */
  if (chorus_room_history_hold(&p->room, &d) < 0) p->stats.history_dropped++;
}

/* The next history entry held for delivery, once the room is settled. */
static int history_next(chorus_peer *p, chorus_output *out, uint8_t *buf) {
  chorus_room_delivery d;
  if (!chorus_room_history_next(&p->room, &d)) return 0;
  room_output(p, &d, out, buf);
  out->history = 1;
  p->stats.delivered_history++;
  return 1;
}

/* A message of the other side's history after a partition (MERGE_HIST):
 * delivered, marked merge, if this member lacks it. */
static int merge_output(chorus_peer *p, size_t from, chorus_output *out, uint8_t *buf,
                        size_t len) {
  chorus_room_delivery d;
  if (chorus_room_history_decode(&p->room, p->scratch, len, &d) < 0 ||
      !chorus_utf8_valid(d.text, d.len)) {
    p->stats.rx_bad_frame++;
    return 0;
  }
  if (!chorus_room_merge_take(&p->room, &d)) return 0;
  room_output(p, &d, out, buf);
  out->merge = 1;
  out->merge_from = from;
  p->stats.delivered_merge++;
  return 1;
}

/* 1 if member i left and is out of the view: its link still takes (and
 * acknowledges) what it sends for a farewell while, but the view change
 * that removed it settled the room without it: room and control messages
 * from it now (a number it gave as sequencer after the others moved on)
 * would reach some members and not others. */
static int farewell_only(const chorus_peer *p, size_t i) {
  return !chorus_peer_in_view(p, i) && (p->leavers & (1u << i));
}

/* Hand one link message to the room; a private one becomes an output. */
static int take_link_message(chorus_peer *p, uint64_t now_us, size_t i,
                             chorus_output *out, uint8_t *buf,
                             const chorus_link_msg *m) {
  size_t rank = p->rank_of[i];
  if (m->kind != CHORUS_WIRE_KIND_PRIVATE && farewell_only(p, i)) return 0;
  if (m->kind == CHORUS_WIRE_KIND_ROOM) {
    if (chorus_room_on_message(&p->room, now_us, rank, p->scratch, m->len) < 0)
      p->stats.rx_bad_frame++;
    return 0;
  }
  if (m->kind == CHORUS_WIRE_KIND_CONTROL && m->len > 0 &&
      (p->scratch[0] == CHORUS_ROOM_CTRL_HISTORY ||
       p->scratch[0] == CHORUS_ROOM_CTRL_HISTORY_AGAIN)) {
    history_take(p, i, m->len);
    return 0;
  }
  if (m->kind == CHORUS_WIRE_KIND_CONTROL && m->len > 0 &&
      p->scratch[0] == CHORUS_ROOM_CTRL_MERGE_HIST)
    return merge_output(p, i, out, buf, m->len);
  if (m->kind == CHORUS_WIRE_KIND_CONTROL) {
    if (m->len > 0 && p->scratch[0] != CHORUS_ROOM_CTRL_FLUSH_DONE &&
        p->scratch[0] != CHORUS_ROOM_CTRL_FLUSH_CUTLESS &&
        p->scratch[0] != CHORUS_ROOM_CTRL_JOINED && p->scratch[0] != CHORUS_ROOM_CTRL_HOLDS &&
        p->scratch[0] != CHORUS_ROOM_CTRL_ORDER && p->scratch[0] != CHORUS_ROOM_CTRL_STABLE)
      chorus_member_control(p, i, p->scratch, m->len);
    else if (chorus_room_on_control(&p->room, rank, p->scratch, m->len) < 0)
      p->stats.rx_bad_frame++;
    return 0;
  }
  if (m->len > p->msg_bytes_max || !chorus_utf8_valid(p->scratch, m->len)) {
    p->stats.rx_bad_frame++;
    return 0;
  }
  memcpy(buf, p->scratch, m->len);
  memset(out, 0, sizeof(*out));
  out->kind = CHORUS_OUT_DELIVER;
  out->member = i;
  out->data = buf;
  out->len = m->len;
  out->msg_kind = CHORUS_MSG_PRIVATE;
  out->order = CHORUS_ORDER_FIFO;
  out->epoch = p->links[i].peer_epoch;
  out->msg_id = m->msg_id;
  p->stats.delivered_private++;
  return 1;
}

/* 1 if the message just peeked from member i's link can be taken now. A
 * new incarnation not admitted here yet sends room and control messages
 * from a state the room has not placed: they wait in the link. Not to a
 * node still waiting for its cut: it cannot tell whether the room admitted
 * that boot (its cut says so), and the history and cut may come from it (a
 * member seen restarting, admitted since, that coordinates now; or one
 * that resends the cut of an admitter gone, behind the room messages it
 * sent this node meanwhile): held back, they would never come. Its room
 * holds what it takes until the cut, which frees what it covers. */
static int can_take(const chorus_peer *p, size_t i, const chorus_link_msg *m) {
  if (p->ev_count + CHORUS_MEMBERS_MAX > CHORUS_EVENTS_MAX) return 0;
  if (m->kind == CHORUS_WIRE_KIND_PRIVATE || farewell_only(p, i)) return 1;
  if ((p->unadmitted & (1u << i)) && !p->room.awaiting_cut) return 0;
  if (m->kind != CHORUS_WIRE_KIND_ROOM) return 1;
  return chorus_room_wants(&p->room, p->rank_of[i], p->scratch, m->len);
}

/* Pull complete messages out of the links while the room can take them;
 * what it cannot take yet stays in the link (back-pressure). */
static int poll_links(chorus_peer *p, uint64_t now_us, chorus_output *out,
                      uint8_t *buf) {
  for (size_t k = 0; k < p->count; k++) {
    size_t i = (p->rr_deliver + k) % p->count;
    if (!chorus_peer_linked(p, i)) continue;
    chorus_link *l = &p->links[i];
    chorus_link_msg m;
    uint64_t bad = 0;
    while (chorus_link_peek(l, p->scratch, link_msg_bytes_max(p->msg_bytes_max), &m,
                            &bad) == 1) {
      if (!can_take(p, i, &m)) {
        p->stats.rx_room_refused++;
        break;
      }
      chorus_link_consume(l);
      if (take_link_message(p, now_us, i, out, buf, &m)) {
        p->stats.rx_bad_frame += bad;
        p->rr_deliver = (i + 1) % p->count;
        return 1;
      }
    }
    p->stats.rx_bad_frame += bad;
  }
  return 0;
}

/* Ranks of the members an outside detector's verdict holds crashed, not
 * removed yet (chorus_peer_remove_member): certain to be removed. Only
 * while the room still holds the boot the verdict was on and the link has
 * heard no later one: a restarted member is unadmitted (a node awaiting
 * its cut still answers it), or admitted afresh. */
static uint32_t told_dead_ranks(const chorus_peer *p) {
  uint32_t mask = 0;
  for (size_t i = 0; i < p->count; i++) {
    uint32_t epoch = p->room.epoch[p->rank_of[i]];
    if ((p->told_dead & (1u << i)) && epoch == p->told_dead_room_epoch[i] &&
        epoch == p->links[i].peer_epoch)
      mask |= 1u << p->rank_of[i];
  }
  return mask;
}

/* Held reports first: a message is then still in its slot (a delivery may
 * free it), which names the incarnation that sent it. */
static int poll_room(chorus_peer *p, uint64_t now_us, chorus_output *out,
                     uint8_t *buf) {
  size_t origin;
  uint32_t count, epoch;
  if (p->report_held && chorus_room_held_next(&p->room, &origin, &count, &epoch)) {
    memset(out, 0, sizeof(*out));
    out->kind = CHORUS_OUT_HELD;
    out->member = p->idx_of[origin];
    out->msg_id = count;
    out->epoch = epoch;
    return 1;
  }
  if (history_next(p, out, buf)) return 1;
  chorus_room_set_dead(&p->room, told_dead_ranks(p));
  chorus_room_delivery d;
  if (chorus_room_deliver(&p->room, now_us, &d) == 1) {
    room_output(p, &d, out, buf);
    p->stats.delivered_room++;
    return 1;
  }
  return 0;
}

/* Ranks of members seen with an epoch not admitted here: what the room
 * queued for them was meant for the previous incarnation. */
static uint32_t unadmitted_ranks(const chorus_peer *p) {
  uint32_t mask = 0;
  for (size_t i = 0; i < p->count; i++)
    if (p->unadmitted & (1u << i)) mask |= 1u << p->rank_of[i];
  return mask;
}

/* 1 if outbox entry s is a FLUSH_CUTLESS: a node still waiting for its cut
 * holds the members of the VIEW it answers unadmitted (its cut says which
 * boots the room admitted), yet that answer is meant for those very boots,
 * and their flush waits for it. */
static int cutless_answer(const chorus_room_send *s) {
  return s->slot < 0 && s->ctrl_len > 0 && s->ctrl[0] == CHORUS_ROOM_CTRL_FLUSH_CUTLESS;
}

/* Ranks of the members cut here that this node, coordinating, removes:
 * they take none of its frames (a merge relays anew what they lack). (A
 * cut at another member may be stale: a side-mate that installed a merge
 * late beaconed it meanwhile.) */
static uint32_t cut_ranks(const chorus_peer *p) {
  uint32_t cut = chorus_member_cut_removing(p), mask = 0;
  for (size_t i = 0; i < p->count; i++)
    if (cut & (1u << i)) mask |= 1u << p->rank_of[i];
  return mask;
}

/* Move the room's pending sends onto the links, in order, while they fit.
 * In a flush, those to a member held crashed or cut are dropped: its link
 * no longer drains, and the relays they name would hold their slots (and
 * the outbox) until its removal, whose VIEW may wait for those very slots
 * (or for room in the outbox). */
static void pump_outbox(chorus_peer *p) {
  uint32_t blocked = 0; /* ranks whose link is full: later sends wait too */
  uint32_t gone = unadmitted_ranks(p), dead = told_dead_ranks(p) | cut_ranks(p);
  size_t total = chorus_room_outbox_count(&p->room);
  for (size_t e = 0; e < total; e++) {
    const chorus_room_send *s = chorus_room_outbox_peek(&p->room, e);
    if ((s->mask & gone) && !cutless_answer(s)) chorus_room_sent(&p->room, e, s->mask & gone);
    if ((s->mask & dead) && p->room.flushing) chorus_room_sent(&p->room, e, s->mask & dead);
    uint32_t todo = s->mask & ~blocked, done = 0;
    if (todo == 0) continue;
    int n = chorus_room_encode(&p->room, s, p->scratch,
                               link_msg_bytes_max(p->msg_bytes_max));
    if (n <= 0) continue;
    enum chorus_wire_kind kind = s->slot < 0 ? CHORUS_WIRE_KIND_CONTROL
                                             : CHORUS_WIRE_KIND_ROOM;
    for (size_t rank = 0; rank < p->count; rank++) {
      if (!(todo & (1u << rank))) continue;
      chorus_link *l = &p->links[p->idx_of[rank]];
      if (chorus_link_space(l) < frags_for((size_t)n)) {
        blocked |= 1u << rank;
        continue;
      }
      queue_message(l, kind, ++p->next_frame_msg_id, p->scratch, (size_t)n);
      done |= 1u << rank;
    }
    chorus_room_sent(&p->room, e, done);
  }
  chorus_room_outbox_compact(&p->room);
}

/* Members a report can go to now: in the view and already contacted. */
static uint32_t report_ready(const chorus_peer *p) {
  uint32_t ready = 0;
  for (size_t i = 0; i < p->count; i++)
    if (chorus_peer_linked(p, i) && p->links[i].peer_epoch != 0 &&
        !(p->unadmitted & (1u << i)))
      ready |= 1u << p->rank_of[i];
  return ready & p->room.alive;
}

/* How soon a report that becomes dirty now must leave: state_early_us
 * under slot pressure, the ACK delay when a safe message waits for it,
 * else state_lazy_us (it mostly rides on other traffic meanwhile). */
static uint64_t state_delay_us(const chorus_peer *p) {
  if (chorus_room_pressed(&p->room)) return p->state_early_us;
  if (chorus_room_safe_waiting(&p->room)) return p->ack_delay_us;
  return p->state_lazy_us;
}

/* Stability reports: dirty ones leave by state_due_us (state_delay_us; a
 * due that is later is brought forward once the slots fill up). They
 * travel unreliably, so while something here is not yet stable the repeat
 * timer marks them dirty again every state_lazy_us. */
static void state_schedule(chorus_peer *p, uint64_t now_us) {
  uint32_t ready = report_ready(p);
  if (!chorus_room_unsettled(&p->room)) {
    p->repeat_due_us = 0;
  } else if (p->repeat_due_us == 0) {
    p->repeat_due_us = now_us + p->state_lazy_us;
  } else if (now_us >= p->repeat_due_us) {
    p->room.state_dirty |= chorus_room_report_mask(&p->room) & ready;
    p->repeat_due_us = now_us + p->state_lazy_us;
  }
  if (!(p->room.state_dirty & ready)) {
    p->state_due_us = 0;
  } else if (p->state_due_us == 0) {
    p->state_due_us = now_us + state_delay_us(p);
  } else if (p->state_due_us > now_us + p->state_early_us && chorus_room_pressed(&p->room)) {
    p->state_due_us = now_us + p->state_early_us;
  }
}

static size_t state_write(chorus_peer *p, size_t rank, uint8_t *buf, size_t cap) {
  chorus_wire_state st;
  st.view = p->room.view;
  st.n = (uint8_t)p->count;
  chorus_room_held_closed_all(&p->room, st.held);
  for (size_t k = 0; k < p->count; k++)
    st.stable[k] = chorus_room_stable_safe(&p->room, k); /* lags: announce again */
  int n = chorus_wire_state_encode(buf, cap, &st);
  if (n <= 0) return 0;
  chorus_room_announced(&p->room, st.stable);
  p->room.state_dirty &= ~(1u << rank);
  return (size_t)n;
}

/* With failure detection on, an idle link still carries a datagram every
 * heartbeat_us, so silence means trouble. */
static int heartbeat_due(const chorus_peer *p, size_t i, uint64_t now_us) {
  return p->fd_on && p->links[i].peer_epoch != 0 &&
         now_us >= p->last_sent_us[i] + p->fd.cfg.heartbeat_us;
}

/* A BEACON to a member removed here (or absorbed, not yet heard), alone in
 * its datagram: the link to a removed member carries nothing else. */
static int poll_beacon(chorus_peer *p, uint64_t now_us, chorus_output *out,
                       uint8_t *buf) {
  size_t i;
  chorus_wire_beacon b;
  if (!chorus_member_beacon_next(p, now_us, &i, &b)) return 0;
  chorus_wire_header h = {p->ids[p->self], p->epoch, p->links[i].peer_epoch, 0};
  chorus_wire_header_encode(buf, CHORUS_DATAGRAM_BYTES_MAX, &h);
  int n = chorus_wire_beacon_encode(buf + CHORUS_WIRE_HEADER_BYTES,
                                    CHORUS_DATAGRAM_BYTES_MAX - CHORUS_WIRE_HEADER_BYTES, &b);
  p->stats.beacons_sent++;
  p->stats.datagrams_sent++;
  memset(out, 0, sizeof(*out));
  out->kind = CHORUS_OUT_DATAGRAM;
  out->member = i;
  out->data = buf;
  out->len = CHORUS_WIRE_HEADER_BYTES + (size_t)n;
  return 1;
}

/* Bytes of a datagram to link l kept from its link frames for `extra`
 * bytes of detector frames and, if `report`, a STATE frame. A report that
 * is not yet due gives way to a fragment too long to share the datagram
 * with it (it rides on a later one); a due report, or the detector's
 * frames, make that fragment wait for the next datagram instead. */
static size_t frames_reserve(const chorus_peer *p, const chorus_link *l, int report,
                             int state_due, size_t extra) {
  const size_t frames_bytes = CHORUS_DATAGRAM_BYTES_MAX - CHORUS_WIRE_HEADER_BYTES;
  size_t state_bytes = CHORUS_WIRE_STATE_BYTES(p->count);
  if (!report) return extra;
  if (state_due || extra + state_bytes + CHORUS_WIRE_ACK_BYTES_MAX +
                           chorus_link_next_frame_bytes(l) <= frames_bytes)
    return extra + state_bytes;
  return extra;
}

static int poll_datagram(chorus_peer *p, uint64_t now_us, chorus_output *out,
                         uint8_t *buf) {
  const size_t frames_bytes = CHORUS_DATAGRAM_BYTES_MAX - CHORUS_WIRE_HEADER_BYTES;
  const size_t state_bytes = CHORUS_WIRE_STATE_BYTES(p->count);
  int state_due = p->state_due_us != 0 && now_us >= p->state_due_us;
  for (size_t k = 0; k < p->count; k++) {
    size_t i = (p->rr_send + k) % p->count;
    if (!chorus_peer_linked(p, i)) continue;
    chorus_link *l = &p->links[i];
    size_t rank = p->rank_of[i];
    int report = (p->room.state_dirty >> rank) & 1 && l->peer_epoch != 0 &&
                 !(p->unadmitted & (1u << i));
    uint8_t flags = (p->unadmitted >> i) & 1 ? CHORUS_WIRE_HDR_UNADMITTED : 0;
    if (p->room.awaiting_cut) flags |= CHORUS_WIRE_HDR_JOINING;
    chorus_wire_header h = {p->ids[p->self], p->epoch, l->peer_epoch, flags};
    chorus_wire_header_encode(buf, CHORUS_DATAGRAM_BYTES_MAX, &h);
    int must_send = 0;
    size_t fd_bytes = p->fdq_len[i] * CHORUS_WIRE_MEMBER_BYTES;
    size_t n = chorus_link_write(l, now_us, buf + CHORUS_WIRE_HEADER_BYTES,
                                 frames_bytes - frames_reserve(p, l, report, state_due, fd_bytes),
                                 &must_send);
    int beat = heartbeat_due(p, i, now_us);
    if (n == 0 && !must_send && !(report && state_due) && !p->fdq_len[i] && !beat)
      continue;
    if (report && n + state_bytes + fd_bytes <= frames_bytes)
      n += state_write(p, rank, buf + CHORUS_WIRE_HEADER_BYTES + n, state_bytes);
    for (size_t k = 0; k < p->fdq_len[i]; k++, n += CHORUS_WIRE_MEMBER_BYTES)
      memcpy(buf + CHORUS_WIRE_HEADER_BYTES + n, p->fdq[i][k], CHORUS_WIRE_MEMBER_BYTES);
    p->fdq_len[i] = 0;
    if (n == 0 && beat) p->stats.heartbeats_sent++;
    p->last_sent_us[i] = now_us;
    p->rr_send = (i + 1) % p->count;
    l->stats.datagrams_sent++;
    p->stats.datagrams_sent++;
    memset(out, 0, sizeof(*out));
    out->kind = CHORUS_OUT_DATAGRAM;
    out->member = i;
    out->data = buf;
    out->len = CHORUS_WIRE_HEADER_BYTES + n;
    return 1;
  }
  return poll_beacon(p, now_us, out, buf);
}

size_t chorus_peer_poll_bytes_min(const chorus_peer *p) {
  return p->msg_bytes_max > CHORUS_DATAGRAM_BYTES_MAX ? p->msg_bytes_max
                                                      : CHORUS_DATAGRAM_BYTES_MAX;
}

int chorus_peer_poll(chorus_peer *p, uint64_t now_us, chorus_output *out,
                     uint8_t *buf, size_t cap_bytes) {
  if (!p || !out || !buf) return CHORUS_ERR_INVAL;
  if (cap_bytes < chorus_peer_poll_bytes_min(p)) return CHORUS_ERR_NOBUF;
  fd_start(p, now_us);
  /* Events again after the links: a view change they carried is reported
   * before any message delivered in the new view. */
  if (poll_event(p, out) || poll_links(p, now_us, out, buf) || poll_event(p, out) ||
      poll_room(p, now_us, out, buf))
    return CHORUS_OK;
  chorus_member_pump(p, now_us);
  /* A view change the pump made is reported now, not at the next input
   * (the driver stops polling at OUT_NONE). */
  if (poll_event(p, out)) return CHORUS_OK;
  pump_outbox(p);
  state_schedule(p, now_us);
  if (poll_datagram(p, now_us, out, buf)) return CHORUS_OK;
  state_schedule(p, now_us);
  memset(out, 0, sizeof(*out));
  out->kind = CHORUS_OUT_NONE;
  return CHORUS_OK;
}

uint64_t chorus_peer_deadline(const chorus_peer *p) {
  uint64_t due = p->state_due_us ? p->state_due_us : UINT64_MAX;
  uint64_t beacon = chorus_member_beacon_deadline(p);
  if (beacon < due) due = beacon;
  if (p->repeat_due_us && p->repeat_due_us < due) due = p->repeat_due_us;
  if (p->fd_on) {
    uint64_t d = chorus_fd_deadline(&p->fd);
    if (d < due) due = d;
    for (size_t i = 0; i < p->count; i++) {
      if (!chorus_peer_linked(p, i) || p->links[i].peer_epoch == 0) continue;
      d = p->last_sent_us[i] + p->fd.cfg.heartbeat_us;
      if (d < due) due = d;
    }
  }
  for (size_t i = 0; i < p->count; i++) {
    if (!chorus_peer_linked(p, i)) continue;
    uint64_t d = chorus_link_deadline(&p->links[i]);
    if (d < due) due = d;
  }
  if (p->room.awaiting_cut && p->greet_late_us > p->now_us && p->greet_late_us < due)
    due = p->greet_late_us; /* greet_late */
  return due;
}

int chorus_peer_member_index(const chorus_peer *p, const char *name) {
  for (size_t i = 0; i < p->count; i++)
    if (p->names[i][0] && strcmp(p->names[i], name) == 0) return (int)i;
  return CHORUS_ERR_UNKNOWN_USER;
}

size_t chorus_peer_member_count(const chorus_peer *p) { return p->count; }

const char *chorus_peer_member_name(const chorus_peer *p, size_t member) {
  return member < p->count ? p->names[member] : NULL;
}

size_t chorus_peer_self(const chorus_peer *p) { return p->self; }

void chorus_peer_stats_get(const chorus_peer *p, chorus_peer_stats *out) {
  *out = p->stats;
  chorus_room_stats rs;
  chorus_room_stats_get(&p->room, &rs);
  out->view = p->room.view_id; /* membership; rs.view orders */
  out->sequencer = (uint32_t)p->idx_of[rs.sequencer];
  out->holdback = rs.holdback;
  out->retained = rs.retained;
  out->stability_lag = rs.stability_lag;
  out->stability_oldest_us = rs.oldest_unstable_us;
  out->room_discarded = rs.discarded;
  out->room_relayed = rs.relayed;
  out->room_outbox = (uint32_t)chorus_room_outbox_count(&p->room);
  out->room_outbox_full = rs.outbox_full;
  out->room_numberings = rs.numberings;
  out->room_numberings_full = rs.numberings_full;
  out->flushing = (uint32_t)p->room.flushing;
  out->next_seq = p->room.next_seq;
  out->fd_suspicions = p->fd.suspicions;
  out->merge_gaps = p->room.merge_gaps;
}

size_t chorus_peer_pending_frames(const chorus_peer *p) {
  size_t n = chorus_room_outbox_count(&p->room);
  for (size_t i = 0; i < p->count; i++)
    if (i != p->self && chorus_peer_in_view(p, i)) n += chorus_link_unsettled(&p->links[i]);
  return n;
}

int chorus_peer_link_stats_get(const chorus_peer *p, size_t member,
                               chorus_link_stats *out) {
  if (member >= p->count || member == p->self) return CHORUS_ERR_INVAL;
  chorus_link_stats_get(&p->links[member], out);
  return CHORUS_OK;
}

/* A newcomer still waiting for its cut greets only the members it booted
 * with; once it has waited CHORUS_GREET_LATE_US, an occupant named since
 * (seated after this node) is greeted too, as a boot not admitted here
 * (its link runs, the room stays closed to it): the room's coordinator
 * may be that one, and hear of this boot from nobody else (those listed
 * at boot crashed or left before naming it). Not sooner: the admitter is
 * normally one listed at boot, and the extra greetings would only add
 * traffic. The cut settles it (join_state). */
static void greet_named(chorus_peer *p, size_t member) {
  if (p->removed & (1u << member)) p->unadmitted |= 1u << member;
}

int chorus_peer_set_member(chorus_peer *p, uint64_t now_us, size_t member, const char *name) {
  if (!p || !p->slots || member >= p->count || member == p->self || !name_ok(name))
    return CHORUS_ERR_INVAL;
  int named = p->names[member][0] != '\0';
  if (named && strcmp(p->names[member], name) == 0) return CHORUS_OK;
  uint32_t id = chorus_wire_name_id(name);
  int in_view = chorus_peer_in_view(p, member);
  if (named && in_view) return CHORUS_ERR_INVAL;
  for (size_t j = 0; j < p->count; j++) {
    if (j == member || !p->names[j][0] || p->ids[j] != id) continue;
    /* The user moved seats (its old one lapsed while it was away): the old
     * seat is out of the view and forgets it; one in the view refuses. */
    if (j == p->self || chorus_peer_in_view(p, j)) return CHORUS_ERR_INVAL;
    p->names[j][0] = '\0';
    p->ids[j] = 0;
  }
  memcpy(p->names[member], name, strlen(name) + 1);
  p->ids[member] = id;
  /* In the view unnamed: a JOIN view admitted it before the server told us
   * its name; its link already follows it. Never heard meanwhile, it is
   * watched afresh (it may not have known us: that silence says nothing,
   * and a verdict of dead from it would remove a member that is up once
   * this node coordinates). Heard, its datagrams have been judged since
   * (chorus_member_unnamed_heard): that judgement stands, so a crash of it
   * is not found a whole detection time after the naming. */
  if (in_view) {
    if (p->fd_on && !chorus_fd_watching(&p->fd, member))
      chorus_fd_watch(&p->fd, member, now_us);
    /* What went to it meanwhile had no address: it goes now, not after
     * the RTO backoff those frames built (its JOINED may be what lets
     * that newcomer deliver). */
    chorus_link_resume(&p->links[member]);
    return CHORUS_OK;
  }
  /* Admitted unnamed and gone since with a LEAVE, its farewell running:
   * the same boot, whose last frames (private messages among them) come on
   * that link now. Started afresh, it would pass for a restart to admit,
   * its frames acknowledged and then held for good behind its room
   * traffic (an unadmitted member's wait in the link). */
  if (!named && now_us < p->farewell_until_us[member]) return CHORUS_OK;
  chorus_link_reset(&p->links[member], now_us);
  p->restarted &= ~(1u << member);
  p->rejoin &= ~(1u << member);
  p->unadmitted &= ~(1u << member);
  p->rejoin_epoch[member] = 0;
  p->joining &= ~(1u << member);
  p->admitted_by[member] = 0;
  p->fdq_len[member] = 0;
  p->farewell_until_us[member] = 0;
  p->leavers &= ~(1u << member);
  if (p->room.awaiting_cut && p->greet_late_us && now_us >= p->greet_late_us)
    greet_named(p, member);
  return CHORUS_OK;
}
