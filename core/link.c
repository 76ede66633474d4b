#include "link.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

enum slot_state {
  SLOT_EMPTY = 0,
  SLOT_QUEUED,    /* send: never transmitted */
  SLOT_IN_FLIGHT, /* send: transmitted, waiting for an ACK */
  SLOT_LOST,      /* send: declared lost, waiting for retransmission */
  SLOT_ACKED,     /* send: selectively acknowledged above snd_una */
  SLOT_RECEIVED,  /* receive: holds a frame not yet delivered */
};

/* Fast retransmit once a frame this many numbers above is acknowledged
 * (kPacketThreshold, RFC 9002 section 6.1.1). */
#define LINK_PACKET_THRESHOLD 3

/* Acknowledge at once after this many datagrams with data, else after the
 * ACK delay. RFC 9000 13.2.2 suggests 2; a chat's small messages come
 * spaced out, and the ACK-frequency extension (draft-ietf-quic-ack-frequency)
 * lets a peer raise it: 4 halves the ACK datagrams of a busy room, while a
 * gap or a duplicate is still acknowledged at once. */
#define LINK_ACK_EVERY 4
/* ... or once this share of the window came in new frames: small messages
 * pack many frames per datagram, and a window's worth in fewer than
 * LINK_ACK_EVERY datagrams would otherwise stall its sender for the ACK
 * delay (2-peer pipelined 64 B with a 32-frame window: 6k msg/s). */
#define LINK_ACK_WINDOW_DIV 2

struct chorus_link_slot {
  uint64_t sent_us;  /* last transmission */
  uint64_t tx_order; /* value of tx_counter at the last transmission */
  uint32_t tx_count; /* transmissions so far */
  uint32_t msg_id, msg_len;
  uint16_t frag_len;
  uint8_t kind, order, flags, state;
  uint8_t *frag; /* from the small or the large pool, whichever holds
                    frag_len; NULL while the slot holds no data */
};

static chorus_link_slot *snd_slot(const chorus_link *l, uint64_t seq) {
  return &l->snd[seq % l->cfg.window_frames];
}

static chorus_link_slot *rcv_slot(const chorus_link *l, uint64_t seq) {
  return &l->rcv[seq % l->cfg.window_frames];
}

static int frag_is_small(uint16_t len) { return len <= CHORUS_LINK_FRAG_SMALL_BYTES; }

/* Fill both pools: 2 * window buffers of each size, one per slot of the
 * two rings, so a slot always finds one. The free lists are stacks: the
 * buffer freed last is reused first, so a steady stream keeps touching
 * (and keeping resident) only as many buffers as it holds at once, not
 * one per slot of a ring it walks around. */
static void frag_pools_fill(chorus_link *l) {
  size_t n = 2 * l->cfg.window_frames;
  uint8_t *large = l->frag_mem + n * CHORUS_LINK_FRAG_SMALL_BYTES;
  for (size_t i = 0; i < n; i++) {
    l->free_small[n - 1 - i] = l->frag_mem + i * CHORUS_LINK_FRAG_SMALL_BYTES;
    l->free_large[n - 1 - i] = large + i * CHORUS_WIRE_FRAG_BYTES_MAX;
  }
  l->free_small_count = l->free_large_count = n;
}

/* Copy a fragment into slot s, in a buffer of the smaller size that holds it. */
static void frag_store(chorus_link *l, chorus_link_slot *s, const uint8_t *frag,
                       uint16_t len) {
  assert(s->frag == NULL);
  if (frag_is_small(len)) {
    assert(l->free_small_count > 0);
    s->frag = l->free_small[--l->free_small_count];
  } else {
    assert(l->free_large_count > 0);
    s->frag = l->free_large[--l->free_large_count];
  }
  s->frag_len = len;
  memcpy(s->frag, frag, len);
}

/* Give slot s's buffer back to its pool. */
static void frag_release(chorus_link *l, chorus_link_slot *s) {
  if (s->frag == NULL) return;
  if (frag_is_small(s->frag_len))
    l->free_small[l->free_small_count++] = s->frag;
  else
    l->free_large[l->free_large_count++] = s->frag;
  s->frag = NULL;
}

/* The slot no longer holds a frame. */
static void slot_empty(chorus_link *l, chorus_link_slot *s) {
  frag_release(l, s);
  s->state = SLOT_EMPTY;
}

int chorus_link_init(chorus_link *l, const chorus_link_config *cfg,
                     uint64_t now_us) {
  memset(l, 0, sizeof(*l));
  if (cfg->window_frames < 2 || cfg->window_frames > CHORUS_WINDOW_FRAMES_MAX)
    return CHORUS_ERR_CONFIG;
  l->cfg = *cfg;
  size_t w = cfg->window_frames;
  l->snd = calloc(w, sizeof(*l->snd));
  l->rcv = calloc(w, sizeof(*l->rcv));
  l->frag_mem = malloc(2 * w * (CHORUS_LINK_FRAG_SMALL_BYTES + CHORUS_WIRE_FRAG_BYTES_MAX));
  l->free_small = malloc(4 * w * sizeof(*l->free_small));
  if (!l->snd || !l->rcv || !l->frag_mem || !l->free_small) {
    chorus_link_free(l);
    return CHORUS_ERR_NOMEM;
  }
  l->free_large = l->free_small + 2 * w;
  frag_pools_fill(l);
  chorus_rtt_init(&l->rtt, cfg->rto_us_initial, cfg->rto_us_min,
                  cfg->rto_us_max, cfg->ack_delay_us);
  l->hello_due_us = now_us;
  return CHORUS_OK;
}

void chorus_link_reset(chorus_link *l, uint64_t now_us) {
  chorus_link_slot *snd = l->snd, *rcv = l->rcv;
  uint8_t *frag_mem = l->frag_mem, **free_small = l->free_small;
  chorus_link_config cfg = l->cfg;
  size_t w = cfg.window_frames;
  memset(l, 0, sizeof(*l));
  memset(snd, 0, w * sizeof(*snd));
  memset(rcv, 0, w * sizeof(*rcv));
  l->cfg = cfg;
  l->snd = snd;
  l->rcv = rcv;
  l->frag_mem = frag_mem;
  l->free_small = free_small;
  l->free_large = free_small + 2 * w;
  frag_pools_fill(l);
  chorus_rtt_init(&l->rtt, cfg.rto_us_initial, cfg.rto_us_min, cfg.rto_us_max,
                  cfg.ack_delay_us);
  l->hello_due_us = now_us;
}

void chorus_link_free(chorus_link *l) {
  free(l->snd);
  free(l->rcv);
  free(l->frag_mem);
  free(l->free_small);
  l->snd = l->rcv = NULL;
  l->frag_mem = NULL;
  l->free_small = l->free_large = NULL;
}

size_t chorus_link_space(const chorus_link *l) {
  return l->cfg.window_frames - (size_t)(l->snd_nxt - l->snd_una);
}

int chorus_link_queue(chorus_link *l, const chorus_link_frag *f) {
  if (f->frag_len > CHORUS_WIRE_FRAG_BYTES_MAX) return CHORUS_ERR_INVAL;
  if (chorus_link_space(l) == 0) return CHORUS_ERR_WINDOW_FULL;
  chorus_link_slot *s = snd_slot(l, l->snd_nxt++);
  s->kind = f->kind;
  s->order = f->order;
  s->flags = f->flags;
  s->msg_id = f->msg_id;
  s->msg_len = f->msg_len;
  frag_store(l, s, f->frag, f->frag_len);
  s->tx_count = 0;
  s->state = SLOT_QUEUED;
  return CHORUS_OK;
}

/* Keep only the private frames among those not acknowledged, in order:
 * room and control messages were meant for the old incarnation's place in
 * the room (the room sends the new one what it needs once it is admitted). */
static void keep_private(chorus_link *l) {
  uint64_t w = l->snd_una;
  for (uint64_t seq = l->snd_una; seq < l->snd_nxt; seq++) {
    chorus_link_slot *s = snd_slot(l, seq);
    if (s->kind != CHORUS_WIRE_KIND_PRIVATE) {
      slot_empty(l, s);
      l->stats.abandoned++;
      continue;
    }
    if (w != seq) { /* swap: the emptied slot moves up, keeping no buffer */
      chorus_link_slot t = *snd_slot(l, w);
      *snd_slot(l, w) = *s;
      *s = t;
    }
    w++;
  }
  l->snd_nxt = w;
}

/*
 * The peer is a new incarnation: its receive state is gone. Start a fresh
 * stream for it: private frames it never acknowledged are sent again from
 * wire sequence 0 (snd_base maps them), except the tail of a message whose
 * head the old incarnation took, which cannot be completed; those and every
 * room and control frame are abandoned.
 */
static void link_reset(chorus_link *l) {
  while (l->snd_una < l->snd_nxt &&
         !(snd_slot(l, l->snd_una)->flags & CHORUS_DATA_FIRST)) {
    slot_empty(l, snd_slot(l, l->snd_una++));
    l->stats.abandoned++;
  }
  keep_private(l);
  for (uint64_t seq = l->snd_una; seq < l->snd_nxt; seq++) {
    chorus_link_slot *s = snd_slot(l, seq);
    s->state = SLOT_QUEUED;
    s->tx_count = 0;
  }
  l->snd_base = l->snd_una;
  for (size_t i = 0; i < l->cfg.window_frames; i++) slot_empty(l, &l->rcv[i]);
  l->rcv_base = l->rcv_next = 0;
  l->peeked = 0;
  l->ack_pending = l->ack_immediate = 0;
  l->ack_due_us = 0;
  l->data_dgrams_unacked = l->data_frames_unacked = 0;
}

int chorus_link_on_epoch(chorus_link *l, uint32_t epoch, uint64_t now_us) {
  (void)now_us;
  if (epoch == l->peer_epoch) return 0;
  if (epoch < l->peer_epoch) return CHORUS_ERR_STALE_EPOCH;
  int restarted = l->peer_epoch != 0;
  if (restarted) link_reset(l);
  if (restarted) l->named = l->hello_resumed = 0;
  l->peer_epoch = epoch;
  chorus_rtt_on_progress(&l->rtt); /* HELLO backoff says nothing of the path */
  return restarted ? 2 : 1;
}

static void store_frame(chorus_link *l, chorus_link_slot *s, const chorus_wire_data *d) {
  s->kind = d->kind;
  s->order = d->order;
  s->flags = d->flags;
  s->msg_id = d->msg_id;
  s->msg_len = d->msg_len;
  frag_store(l, s, d->frag, d->frag_len);
  s->state = SLOT_RECEIVED;
}

int chorus_link_on_data(chorus_link *l, const chorus_wire_data *d,
                        uint64_t now_us) {
  uint64_t seq = chorus_wire_seq_expand(l->rcv_next, d->seq);
  uint64_t w = l->cfg.window_frames;
  l->ack_pending = 1;
  if (seq < l->rcv_base ||
      (seq < l->rcv_base + w && rcv_slot(l, seq)->state == SLOT_RECEIVED)) {
    l->stats.dup_frames++; /* our ACK was lost: repeat it at once */
    l->ack_immediate = 1;
    return CHORUS_OK;
  }
  if (seq >= l->rcv_base + w) {
    l->stats.out_of_window++;
    l->ack_immediate = 1;
    return CHORUS_OK;
  }
  store_frame(l, rcv_slot(l, seq), d);
  l->stats.frames_recv++;
  if (seq != l->rcv_next) l->ack_immediate = 1; /* a gap: tell the sender */
  if (++l->data_frames_unacked >= w / LINK_ACK_WINDOW_DIV) l->ack_immediate = 1;
  while (l->rcv_next < l->rcv_base + w &&
         rcv_slot(l, l->rcv_next)->state == SLOT_RECEIVED)
    l->rcv_next++;
  if (!l->ack_immediate && l->ack_due_us == 0)
    l->ack_due_us = now_us + l->rtt.ack_delay_us;
  return CHORUS_OK;
}

void chorus_link_on_data_datagram(chorus_link *l, uint64_t now_us) {
  (void)now_us;
  if (++l->data_dgrams_unacked >= LINK_ACK_EVERY) l->ack_immediate = 1;
}

/* Mark one frame acknowledged; remember the highest newly acknowledged. */
static void ack_one(chorus_link *l, uint64_t seq, int64_t *largest) {
  chorus_link_slot *s = snd_slot(l, seq);
  if (s->state == SLOT_ACKED || s->state == SLOT_EMPTY) return;
  s->state = SLOT_ACKED; /* keeps its buffer: a peer restart sends private
                           frames again from snd_una on, acknowledged or not */
  if ((int64_t)seq > *largest) *largest = (int64_t)seq;
}

/* Frames sent before `newest` and LINK_PACKET_THRESHOLD below it are lost. */
static void detect_lost(chorus_link *l, uint64_t newest) {
  const chorus_link_slot *n = snd_slot(l, newest);
  for (uint64_t seq = l->snd_una; seq + LINK_PACKET_THRESHOLD <= newest; seq++) {
    chorus_link_slot *s = snd_slot(l, seq);
    if (s->state == SLOT_IN_FLIGHT && s->tx_order < n->tx_order) {
      s->state = SLOT_LOST;
      l->stats.fast_retransmits++;
    }
  }
}

/* The ACK delay grows with the path: a quarter of SRTT, never below the
 * configured delay. Both ends measure about the same SRTT, so the sender's
 * RTO (which adds this delay) stays matched to what the receiver does. */
static void link_ack_delay_update(chorus_link *l) {
  uint32_t d = l->rtt.srtt_us / 4;
  if (d < l->cfg.ack_delay_us) d = l->cfg.ack_delay_us;
  l->rtt.ack_delay_us = d;
}

/* Check that every range of `a` acknowledges only frames we sent. */
static int ack_valid(const chorus_link *l, const chorus_wire_ack *a,
                     uint64_t cum) {
  if (cum > l->snd_nxt) return 0; /* below snd_una: an old ACK, still valid */
  for (size_t i = 0; i < a->nranges; i++) {
    uint64_t start = cum + (uint32_t)(a->ranges[i].start - a->cum);
    if (start + a->ranges[i].count > l->snd_nxt) return 0;
  }
  return 1;
}

int chorus_link_on_ack(chorus_link *l, const chorus_wire_ack *a,
                       uint64_t now_us) {
  uint64_t cum =
      l->snd_base + chorus_wire_seq_expand(l->snd_una - l->snd_base, a->cum);
  if (!ack_valid(l, a, cum)) return CHORUS_ERR_BAD_FRAME;
  int64_t largest = -1;
  for (uint64_t seq = l->snd_una; seq < cum; seq++) ack_one(l, seq, &largest);
  /* Ranges are ignored below snd_una: those frames are done. */
  for (size_t i = 0; i < a->nranges; i++) {
    uint64_t start = cum + (uint32_t)(a->ranges[i].start - a->cum);
    for (uint64_t k = 0; k < a->ranges[i].count; k++)
      if (start + k >= l->snd_una) ack_one(l, start + k, &largest);
  }
  if (largest < 0) return CHORUS_OK;
  const chorus_link_slot *top = snd_slot(l, (uint64_t)largest);
  if (top->tx_count == 1) { /* Karn: only unambiguous samples */
    chorus_rtt_sample(&l->rtt, now_us - top->sent_us);
    link_ack_delay_update(l);
  }
  chorus_rtt_on_progress(&l->rtt);
  detect_lost(l, (uint64_t)largest);
  while (l->snd_una < l->snd_nxt && snd_slot(l, l->snd_una)->state == SLOT_ACKED)
    slot_empty(l, snd_slot(l, l->snd_una++));
  return CHORUS_OK;
}

void chorus_link_request_reply(chorus_link *l) { l->reply_needed = 1; }

void chorus_link_on_hello(chorus_link *l) {
  l->reply_needed = 1;
  if (l->rtt.backoff == 0 || l->hello_resumed) return;
  l->hello_resumed = 1;
  chorus_link_resume(l);
}

void chorus_link_named(chorus_link *l) {
  l->named = 1;
  l->hello_resumed = 0;
}

/* Interval between HELLOs: the RTO with its backoff. */
static void hello_schedule(chorus_link *l, uint64_t now_us) {
  l->hello_due_us = now_us + chorus_rtt_rto_us(&l->rtt);
  chorus_rtt_on_timeout(&l->rtt);
}

void chorus_link_resume(chorus_link *l) {
  chorus_rtt_on_progress(&l->rtt);
  for (uint64_t seq = l->snd_una; seq < l->snd_nxt; seq++) {
    chorus_link_slot *s = snd_slot(l, seq);
    if (s->state == SLOT_IN_FLIGHT) s->state = SLOT_LOST;
  }
}

void chorus_link_tick(chorus_link *l, uint64_t now_us) {
  uint32_t rto = chorus_rtt_rto_us(&l->rtt);
  int expired = 0;
  for (uint64_t seq = l->snd_una; seq < l->snd_nxt; seq++) {
    chorus_link_slot *s = snd_slot(l, seq);
    if (s->state == SLOT_IN_FLIGHT && s->sent_us + rto <= now_us) {
      s->state = SLOT_LOST;
      expired = 1;
    }
  }
  if (expired) {
    l->stats.timeouts++;
    chorus_rtt_on_timeout(&l->rtt);
  }
  if (l->ack_pending && l->ack_due_us && now_us >= l->ack_due_us)
    l->ack_immediate = 1;
  if (!l->named && now_us >= l->hello_due_us) {
    l->hello_needed = 1;
    hello_schedule(l, now_us);
  }
}

uint64_t chorus_link_deadline(const chorus_link *l) {
  uint64_t due = UINT64_MAX;
  uint32_t rto = chorus_rtt_rto_us(&l->rtt);
  for (uint64_t seq = l->snd_una; seq < l->snd_nxt; seq++) {
    const chorus_link_slot *s = snd_slot(l, seq);
    if (s->state == SLOT_IN_FLIGHT && s->sent_us + rto < due)
      due = s->sent_us + rto;
  }
  if (l->ack_pending && !l->ack_immediate && l->ack_due_us < due)
    due = l->ack_due_us;
  if (!l->named && l->hello_due_us < due) due = l->hello_due_us;
  return due;
}

/* Cumulative ACK plus the lowest SACK ranges that fit. */
static void ack_build(const chorus_link *l, chorus_wire_ack *a) {
  uint64_t end = l->rcv_base + l->cfg.window_frames;
  a->cum = (uint32_t)l->rcv_next;
  a->nranges = 0;
  uint64_t seq = l->rcv_next + 1;
  while (seq < end && a->nranges < CHORUS_WIRE_SACK_RANGES_MAX) {
    if (rcv_slot(l, seq)->state != SLOT_RECEIVED) {
      seq++;
      continue;
    }
    uint64_t start = seq;
    while (seq < end && seq - start < UINT16_MAX &&
           rcv_slot(l, seq)->state == SLOT_RECEIVED)
      seq++;
    a->ranges[a->nranges].start = (uint32_t)start;
    a->ranges[a->nranges].count = (uint16_t)(seq - start);
    a->nranges++;
    seq++; /* seq is not received (or the run was capped): skip it */
  }
}

static int has_data_due(const chorus_link *l) {
  if (l->peer_epoch == 0) return 0;
  for (uint64_t seq = l->snd_una; seq < l->snd_nxt; seq++) {
    uint8_t st = snd_slot(l, seq)->state;
    if (st == SLOT_QUEUED || st == SLOT_LOST) return 1;
  }
  return 0;
}

static size_t write_ack(chorus_link *l, uint8_t *buf, size_t cap) {
  chorus_wire_ack a;
  ack_build(l, &a);
  int n = chorus_wire_ack_encode(buf, cap, &a);
  if (n < 0) return 0;
  l->ack_pending = l->ack_immediate = 0;
  l->ack_due_us = 0;
  l->data_dgrams_unacked = l->data_frames_unacked = 0;
  l->stats.acks_sent++;
  return (size_t)n;
}

/* Encode due data frames in sequence order while they fit. */
static size_t write_data(chorus_link *l, uint64_t now_us, uint8_t *buf,
                         size_t cap) {
  size_t n = 0;
  for (uint64_t seq = l->snd_una; seq < l->snd_nxt; seq++) {
    chorus_link_slot *s = snd_slot(l, seq);
    if (s->state != SLOT_QUEUED && s->state != SLOT_LOST) continue;
    chorus_wire_data d = {(uint32_t)(seq - l->snd_base), s->kind,    s->order,    s->flags,
                          s->msg_id,     s->msg_len, s->frag_len, s->frag};
    int k = chorus_wire_data_encode(buf + n, cap - n, &d);
    if (k < 0) break;
    n += (size_t)k;
    if (s->tx_count++ > 0) l->stats.retransmits++;
    s->sent_us = now_us;
    s->tx_order = ++l->tx_counter;
    s->state = SLOT_IN_FLIGHT;
    l->stats.frames_sent++;
  }
  return n;
}

size_t chorus_link_next_frame_bytes(const chorus_link *l) {
  if (l->peer_epoch == 0) return 0;
  for (uint64_t seq = l->snd_una; seq < l->snd_nxt; seq++) {
    const chorus_link_slot *s = snd_slot(l, seq);
    if (s->state == SLOT_QUEUED || s->state == SLOT_LOST)
      return CHORUS_WIRE_DATA_OVERHEAD_BYTES + s->frag_len;
  }
  return 0;
}

size_t chorus_link_write(chorus_link *l, uint64_t now_us, uint8_t *buf,
                         size_t cap_bytes, int *must_send) {
  size_t n = 0;
  int data_due = has_data_due(l);
  if (l->ack_pending && (l->ack_immediate || data_due || l->reply_needed))
    n += write_ack(l, buf, cap_bytes);
  if (l->hello_needed && !l->named && n < cap_bytes) {
    n += (size_t)chorus_wire_hello_encode(buf + n, cap_bytes - n);
    l->hello_needed = 0;
  }
  if (data_due) n += write_data(l, now_us, buf + n, cap_bytes - n);
  *must_send = l->reply_needed;
  l->reply_needed = 0;
  return n;
}

/* Drop `count` frames at the head of the receive ring. */
static void rcv_discard(chorus_link *l, uint64_t count, uint64_t *bad_frames) {
  for (uint64_t k = 0; k < count; k++)
    slot_empty(l, rcv_slot(l, l->rcv_base++));
  *bad_frames += count;
}

/* Outcome of scanning the head of the receive ring for one message. */
enum scan { SCAN_WAIT, SCAN_BAD, SCAN_DONE };

/* Find the frames of the message at rcv_base: sets *count to the frames it
 * spans (DONE) or to the frames to discard (BAD). */
static enum scan scan_message(const chorus_link *l, uint64_t *count) {
  const chorus_link_slot *first = rcv_slot(l, l->rcv_base);
  *count = 1;
  if (!(first->flags & CHORUS_DATA_FIRST) || first->msg_len > l->cfg.msg_bytes_max)
    return SCAN_BAD;
  uint64_t total = 0;
  for (uint64_t k = 0;; k++) {
    uint64_t seq = l->rcv_base + k;
    if (seq == l->rcv_next) { /* incomplete: wait unless it can never fit */
      *count = k;
      return k == l->cfg.window_frames ? SCAN_BAD : SCAN_WAIT;
    }
    const chorus_link_slot *s = rcv_slot(l, seq);
    if (k > 0 && ((s->flags & CHORUS_DATA_FIRST) || s->msg_id != first->msg_id ||
                  s->msg_len != first->msg_len)) {
      *count = k; /* the partial message is broken; s may start a good one */
      return SCAN_BAD;
    }
    total += s->frag_len;
    *count = k + 1;
    if (total > first->msg_len) return SCAN_BAD;
    if (s->flags & CHORUS_DATA_LAST)
      return total == first->msg_len ? SCAN_DONE : SCAN_BAD;
  }
}

int chorus_link_peek(chorus_link *l, uint8_t *buf, size_t cap_bytes,
                     chorus_link_msg *m, uint64_t *bad_frames) {
  if (cap_bytes < l->cfg.msg_bytes_max) return CHORUS_ERR_NOBUF;
  while (l->rcv_base < l->rcv_next) {
    uint64_t count;
    enum scan r = scan_message(l, &count);
    if (r == SCAN_WAIT) return 0;
    if (r == SCAN_BAD) {
      rcv_discard(l, count, bad_frames);
      continue;
    }
    const chorus_link_slot *first = rcv_slot(l, l->rcv_base);
    m->kind = first->kind;
    m->order = first->order;
    m->msg_id = first->msg_id;
    m->len = 0;
    for (uint64_t k = 0; k < count; k++) {
      const chorus_link_slot *s = rcv_slot(l, l->rcv_base + k);
      memcpy(buf + m->len, s->frag, s->frag_len);
      m->len += s->frag_len;
    }
    l->peeked = count;
    return 1;
  }
  return 0;
}

void chorus_link_consume(chorus_link *l) {
  for (uint64_t k = 0; k < l->peeked; k++)
    slot_empty(l, rcv_slot(l, l->rcv_base + k));
  l->rcv_base += l->peeked;
  l->peeked = 0;
}

int chorus_link_deliver(chorus_link *l, uint8_t *buf, size_t cap_bytes,
                        chorus_link_msg *m, uint64_t *bad_frames) {
  int got = chorus_link_peek(l, buf, cap_bytes, m, bad_frames);
  if (got == 1) chorus_link_consume(l);
  return got;
}

void chorus_link_stats_get(const chorus_link *l, chorus_link_stats *out) {
  *out = l->stats;
  out->peer_epoch = l->peer_epoch;
  out->srtt_us = l->rtt.srtt_us;
  out->rttvar_us = l->rtt.rttvar_us;
  out->rto_us = chorus_rtt_rto_us(&l->rtt);
  out->in_flight = out->queued = 0;
  for (uint64_t seq = l->snd_una; seq < l->snd_nxt; seq++) {
    uint8_t st = snd_slot(l, seq)->state;
    if (st == SLOT_IN_FLIGHT || st == SLOT_LOST) out->in_flight++;
    if (st == SLOT_QUEUED) out->queued++;
  }
  out->rcv_buffered = 0;
  for (size_t i = 0; i < l->cfg.window_frames; i++)
    if (l->rcv[i].state == SLOT_RECEIVED) out->rcv_buffered++;
}

int chorus_link_busy(const chorus_link *l) { return l->snd_nxt != l->snd_una; }

size_t chorus_link_unsettled(const chorus_link *l) {
  size_t n = 0;
  for (uint64_t seq = l->snd_una; seq < l->snd_nxt; seq++) {
    uint8_t st = snd_slot(l, seq)->state;
    n += st == SLOT_IN_FLIGHT || st == SLOT_LOST || st == SLOT_QUEUED;
  }
  return n;
}
