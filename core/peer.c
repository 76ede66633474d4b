#include "peer.h"

#include <stdlib.h>
#include <string.h>

#include "link.h"
#include "prng.h"
#include "utf8.h"
#include "wire.h"

struct chorus_peer {
  char names[CHORUS_MEMBERS_MAX][CHORUS_NAME_BYTES_MAX + 1];
  uint32_t ids[CHORUS_MEMBERS_MAX]; /* wire ids: FNV-1a of the names */
  size_t count, self;
  uint32_t epoch;
  size_t msg_bytes_max;
  chorus_prng prng;
  chorus_link links[CHORUS_MEMBERS_MAX]; /* links[self] is unused */
  uint32_t next_msg_id;
  chorus_output events[CHORUS_EVENTS_MAX]; /* ring of PEER_* events */
  size_t ev_head, ev_count;
  size_t rr_deliver, rr_send; /* round-robin cursors: fairness across links */
  chorus_peer_stats stats;
};

void chorus_peer_config_default(chorus_peer_config *cfg) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->msg_bytes_max = CHORUS_MSG_BYTES_DEFAULT;
  cfg->window_frames = CHORUS_WINDOW_FRAMES_DEFAULT;
  cfg->rto_us_initial = 200000;
  cfg->rto_us_min = 10000;
  cfg->rto_us_max = 2000000;
  cfg->ack_delay_us = 5000;
}

static size_t frags_for(size_t len) {
  return (len + CHORUS_WIRE_FRAG_BYTES_MAX - 1) / CHORUS_WIRE_FRAG_BYTES_MAX;
}

static int config_check(const chorus_peer_config *cfg) {
  if (cfg->epoch == 0 || cfg->msg_bytes_max == 0 ||
      cfg->msg_bytes_max > CHORUS_MSG_BYTES_MAX ||
      cfg->window_frames < frags_for(cfg->msg_bytes_max) ||
      cfg->window_frames > CHORUS_WINDOW_FRAMES_MAX || cfg->rto_us_min == 0 ||
      cfg->rto_us_min > cfg->rto_us_initial ||
      cfg->rto_us_initial > cfg->rto_us_max)
    return CHORUS_ERR_CONFIG;
  if (cfg->member_count == 0 || cfg->member_count > CHORUS_MEMBERS_MAX)
    return CHORUS_ERR_INVAL;
  return CHORUS_OK;
}

/* Copy and check the member names; find self. */
static int members_init(chorus_peer *p, const chorus_peer_config *cfg) {
  if (!cfg->self_name) return CHORUS_ERR_INVAL;
  p->count = cfg->member_count;
  p->self = CHORUS_MEMBERS_MAX;
  for (size_t i = 0; i < p->count; i++) {
    const char *n = cfg->member_names[i];
    size_t len = n ? strlen(n) : 0;
    if (len == 0 || len > CHORUS_NAME_BYTES_MAX ||
        !chorus_utf8_valid((const uint8_t *)n, len))
      return CHORUS_ERR_INVAL;
    memcpy(p->names[i], n, len + 1);
    p->ids[i] = chorus_wire_name_id(n);
    for (size_t j = 0; j < i; j++)
      if (p->ids[j] == p->ids[i]) return CHORUS_ERR_INVAL; /* same name or hash */
    if (strcmp(n, cfg->self_name) == 0) p->self = i;
  }
  return p->self < p->count ? CHORUS_OK : CHORUS_ERR_INVAL;
}

static int links_init(chorus_peer *p, const chorus_peer_config *cfg) {
  chorus_link_config lc = {cfg->window_frames, (uint32_t)cfg->msg_bytes_max,
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
  if (rc != CHORUS_OK) {
    chorus_peer_free(p);
    return rc;
  }
  p->epoch = cfg->epoch;
  p->msg_bytes_max = cfg->msg_bytes_max;
  chorus_prng_init(&p->prng, cfg->seed);
  *out = p;
  return CHORUS_OK;
}

void chorus_peer_free(chorus_peer *p) {
  if (!p) return;
  for (size_t i = 0; i < CHORUS_MEMBERS_MAX; i++) chorus_link_free(&p->links[i]);
  free(p);
}

static void event_push(chorus_peer *p, enum chorus_out_kind kind, size_t member,
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
 * at all. Sets *has_data when a DATA frame is present. */
static int frames_check(const uint8_t *buf, size_t len, int *has_data) {
  *has_data = 0;
  while (len > 0) {
    chorus_wire_frame f;
    int n = chorus_wire_frame_decode(buf, len, &f);
    if (n < 0) return n;
    if (f.type != CHORUS_FRAME_HELLO) *has_data = 1;
    buf += n;
    len -= (size_t)n;
  }
  return CHORUS_OK;
}

static void frames_apply(chorus_peer *p, chorus_link *l, const uint8_t *buf,
                         size_t len, uint64_t now_us) {
  while (len > 0) {
    chorus_wire_frame f;
    int n = chorus_wire_frame_decode(buf, len, &f);
    if (f.type == CHORUS_FRAME_DATA) {
      chorus_link_on_data(l, &f.u.data, now_us);
    } else if (f.type == CHORUS_FRAME_ACK) {
      if (chorus_link_on_ack(l, &f.u.ack, now_us) < 0) p->stats.rx_bad_frame++;
    } else {
      chorus_link_request_reply(l);
    }
    buf += n;
    len -= (size_t)n;
  }
}

static int member_by_id(const chorus_peer *p, uint32_t id) {
  for (size_t i = 0; i < p->count; i++)
    if (p->ids[i] == id && i != p->self) return (int)i;
  return CHORUS_ERR_UNKNOWN_SENDER;
}

static int recv_checked(chorus_peer *p, uint64_t now_us, const uint8_t *data,
                        size_t len) {
  chorus_wire_header h;
  int rc = chorus_wire_header_decode(data, len, &h);
  if (rc < 0) return rc;
  int m = member_by_id(p, h.src_id);
  if (m < 0) return m;
  int has_data;
  rc = frames_check(data + rc, len - CHORUS_WIRE_HEADER_BYTES, &has_data);
  if (rc < 0) return rc;
  if (p->ev_count == CHORUS_EVENTS_MAX) return CHORUS_ERR_QUEUE_FULL;
  chorus_link *l = &p->links[m];
  rc = chorus_link_on_epoch(l, h.src_epoch, now_us);
  if (rc < 0) return rc;
  if (rc == 1) event_push(p, CHORUS_OUT_PEER_UP, (size_t)m, h.src_epoch, 0);
  if (rc == 2)
    event_push(p, CHORUS_OUT_PEER_RESTARTED, (size_t)m, h.src_epoch,
               l->stats.abandoned);
  l->stats.datagrams_recv++;
  if (h.dst_epoch != p->epoch) {
    /* It does not know this incarnation yet: ignore its frames, tell it. */
    if (has_data) p->stats.rx_wrong_dest++;
    chorus_link_request_reply(l);
    return CHORUS_OK;
  }
  frames_apply(p, l, data + CHORUS_WIRE_HEADER_BYTES,
               len - CHORUS_WIRE_HEADER_BYTES, now_us);
  if (has_data) chorus_link_on_data_datagram(l, now_us);
  return CHORUS_OK;
}

int chorus_peer_recv(chorus_peer *p, uint64_t now_us, const uint8_t *data,
                     size_t len) {
  if (!p || (!data && len)) return CHORUS_ERR_INVAL;
  p->stats.datagrams_recv++;
  int rc = recv_checked(p, now_us, data, len);
  if (rc < 0) count_rx_error(p, rc);
  return rc;
}

void chorus_peer_tick(chorus_peer *p, uint64_t now_us) {
  for (size_t i = 0; i < p->count; i++)
    if (i != p->self) chorus_link_tick(&p->links[i], now_us);
}

static int text_check(const chorus_peer *p, const uint8_t *text, size_t len) {
  if (len == 0) return CHORUS_ERR_EMPTY;
  if (len > p->msg_bytes_max) return CHORUS_ERR_MSG_TOO_LONG;
  if (!text || !chorus_utf8_valid(text, len)) return CHORUS_ERR_BAD_UTF8;
  return CHORUS_OK;
}

/* Split text into fragments on one link; the caller checked the space. */
static void queue_message(chorus_link *l, enum chorus_msg_kind kind,
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

int chorus_peer_broadcast(chorus_peer *p, uint64_t now_us, const uint8_t *text,
                          size_t len, uint32_t *msg_id) {
  (void)now_us;
  int rc = text_check(p, text, len);
  if (rc < 0) return rc;
  size_t need = frags_for(len);
  for (size_t i = 0; i < p->count; i++)
    if (i != p->self && chorus_link_space(&p->links[i]) < need) {
      p->stats.tx_window_full++;
      return CHORUS_ERR_WINDOW_FULL;
    }
  uint32_t id = p->next_msg_id++;
  for (size_t i = 0; i < p->count; i++)
    if (i != p->self) queue_message(&p->links[i], CHORUS_MSG_ROOM, id, text, len);
  p->stats.sent_room++;
  if (msg_id) *msg_id = id;
  return CHORUS_OK;
}

int chorus_peer_send_private(chorus_peer *p, uint64_t now_us, size_t member,
                             const uint8_t *text, size_t len, uint32_t *msg_id) {
  (void)now_us;
  if (member >= p->count) return CHORUS_ERR_UNKNOWN_USER;
  if (member == p->self) return CHORUS_ERR_SELF;
  int rc = text_check(p, text, len);
  if (rc < 0) return rc;
  if (chorus_link_space(&p->links[member]) < frags_for(len)) {
    p->stats.tx_window_full++;
    return CHORUS_ERR_WINDOW_FULL;
  }
  uint32_t id = p->next_msg_id++;
  queue_message(&p->links[member], CHORUS_MSG_PRIVATE, id, text, len);
  p->stats.sent_private++;
  if (msg_id) *msg_id = id;
  return CHORUS_OK;
}

static int poll_event(chorus_peer *p, chorus_output *out) {
  if (p->ev_count == 0) return 0;
  *out = p->events[p->ev_head];
  p->ev_head = (p->ev_head + 1) % CHORUS_EVENTS_MAX;
  p->ev_count--;
  return 1;
}

static int poll_deliver(chorus_peer *p, chorus_output *out, uint8_t *buf,
                        size_t cap) {
  for (size_t k = 0; k < p->count; k++) {
    size_t i = (p->rr_deliver + k) % p->count;
    if (i == p->self) continue;
    chorus_link_msg m;
    uint64_t bad = 0;
    int got = chorus_link_deliver(&p->links[i], buf, cap, &m, &bad);
    p->stats.rx_bad_frame += bad;
    if (got <= 0) continue;
    p->rr_deliver = (i + 1) % p->count;
    memset(out, 0, sizeof(*out));
    out->kind = CHORUS_OUT_DELIVER;
    out->member = i;
    out->data = buf;
    out->len = m.len;
    out->msg_kind = (enum chorus_msg_kind)m.kind;
    out->order = (enum chorus_order)m.order;
    out->epoch = p->links[i].peer_epoch;
    out->msg_id = m.msg_id;
    if (m.kind == CHORUS_MSG_ROOM) p->stats.delivered_room++;
    else p->stats.delivered_private++;
    return 1;
  }
  return 0;
}

static int poll_datagram(chorus_peer *p, uint64_t now_us, chorus_output *out,
                         uint8_t *buf) {
  for (size_t k = 0; k < p->count; k++) {
    size_t i = (p->rr_send + k) % p->count;
    if (i == p->self) continue;
    chorus_link *l = &p->links[i];
    chorus_wire_header h = {p->ids[p->self], p->epoch, l->peer_epoch};
    chorus_wire_header_encode(buf, CHORUS_DATAGRAM_BYTES_MAX, &h);
    int must_send = 0;
    size_t n = chorus_link_write(l, now_us, buf + CHORUS_WIRE_HEADER_BYTES,
                                 CHORUS_DATAGRAM_BYTES_MAX - CHORUS_WIRE_HEADER_BYTES,
                                 &must_send);
    if (n == 0 && !must_send) continue;
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
  return 0;
}

size_t chorus_peer_poll_bytes_min(const chorus_peer *p) {
  return p->msg_bytes_max > CHORUS_DATAGRAM_BYTES_MAX ? p->msg_bytes_max
                                                      : CHORUS_DATAGRAM_BYTES_MAX;
}

int chorus_peer_poll(chorus_peer *p, uint64_t now_us, chorus_output *out,
                     uint8_t *buf, size_t cap_bytes) {
  if (!p || !out || !buf) return CHORUS_ERR_INVAL;
  if (cap_bytes < chorus_peer_poll_bytes_min(p)) return CHORUS_ERR_NOBUF;
  if (poll_event(p, out) || poll_deliver(p, out, buf, cap_bytes) ||
      poll_datagram(p, now_us, out, buf))
    return CHORUS_OK;
  memset(out, 0, sizeof(*out));
  out->kind = CHORUS_OUT_NONE;
  return CHORUS_OK;
}

uint64_t chorus_peer_deadline(const chorus_peer *p) {
  uint64_t due = UINT64_MAX;
  for (size_t i = 0; i < p->count; i++) {
    if (i == p->self) continue;
    uint64_t d = chorus_link_deadline(&p->links[i]);
    if (d < due) due = d;
  }
  return due;
}

int chorus_peer_member_index(const chorus_peer *p, const char *name) {
  for (size_t i = 0; i < p->count; i++)
    if (strcmp(p->names[i], name) == 0) return (int)i;
  return CHORUS_ERR_UNKNOWN_USER;
}

size_t chorus_peer_member_count(const chorus_peer *p) { return p->count; }

const char *chorus_peer_member_name(const chorus_peer *p, size_t member) {
  return member < p->count ? p->names[member] : NULL;
}

size_t chorus_peer_self(const chorus_peer *p) { return p->self; }

void chorus_peer_stats_get(const chorus_peer *p, chorus_peer_stats *out) {
  *out = p->stats;
}

int chorus_peer_link_stats_get(const chorus_peer *p, size_t member,
                               chorus_link_stats *out) {
  if (member >= p->count || member == p->self) return CHORUS_ERR_INVAL;
  chorus_link_stats_get(&p->links[member], out);
  return CHORUS_OK;
}
