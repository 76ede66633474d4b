/*
 * A tiny scripted network for unit tests: up to 4 peers, datagrams queued
 * with a delivery time, and a test-supplied fault function that decides,
 * datagram by datagram, to drop, duplicate or delay. Deterministic, no PRNG:
 * the tests script exactly which datagram suffers what.
 */
#ifndef CHORUS_TEST_MINNET_H
#define CHORUS_TEST_MINNET_H

#include <stdlib.h>
#include <string.h>

#include "peer.h"

#define MINNET_NODES 4
#define MINNET_QUEUE 4096
#define MINNET_DELAY_US 1000
#define MINNET_LOG 512

enum minnet_fate { MINNET_PASS, MINNET_DROP, MINNET_DUP, MINNET_LATE };

typedef struct minnet_dgram {
  uint64_t at_us;
  size_t src, dst, len;
  uint8_t bytes[CHORUS_DATAGRAM_BYTES_MAX];
} minnet_dgram;

typedef struct minnet_delivery {
  size_t node, from;
  int kind, order, history;
  uint32_t msg_id, seq;
  size_t len;
  uint8_t first_byte;
} minnet_delivery;

typedef struct minnet {
  chorus_peer *peer[MINNET_NODES];
  size_t n;
  uint64_t now_us;
  minnet_dgram *q; /* MINNET_QUEUE entries */
  size_t qlen;
  uint64_t sent; /* datagrams offered to the network so far */
  enum minnet_fate (*fate)(struct minnet *, size_t src, size_t dst, uint64_t k);
  minnet_delivery log[MINNET_LOG];
  size_t nlog;
  int events_up, events_restarted;
  int fd_mode;                      /* chorus_fd_mode for new peers */
  int views[MINNET_NODES];          /* VIEW events seen per node */
  int last_reason[MINNET_NODES];
  uint32_t last_view[MINNET_NODES]; /* view number of the last VIEW event */
  int view_order_broken[MINNET_NODES]; /* a VIEW event numbered below the last */
  uint32_t last_members[MINNET_NODES];
  uint64_t view_at_us[MINNET_NODES];
  uint8_t last_msg[CHORUS_MSG_BYTES_MAX];
  size_t last_len;
} minnet;

static const char *minnet_names[MINNET_NODES] = {"alice", "bob", "carol", "dave"};

static inline int minnet_add(minnet *m, size_t i, uint32_t epoch) {
  chorus_peer_config cfg;
  chorus_peer_config_default(&cfg);
  cfg.self_name = minnet_names[i];
  for (size_t k = 0; k < m->n; k++) cfg.member_names[k] = minnet_names[k];
  cfg.member_count = m->n;
  cfg.epoch = epoch;
  cfg.seed = i;
  cfg.fd_mode = (enum chorus_fd_mode)m->fd_mode;
  return chorus_peer_new(&cfg, &m->peer[i]);
}

static inline void minnet_init_fd(minnet *m, size_t n, int fd_mode) {
  memset(m, 0, sizeof(*m));
  m->n = n;
  m->fd_mode = fd_mode;
  m->q = calloc(MINNET_QUEUE, sizeof(*m->q));
  for (size_t i = 0; i < n; i++) minnet_add(m, i, 100 + (uint32_t)i);
}

static inline void minnet_init(minnet *m, size_t n) {
  memset(m, 0, sizeof(*m));
  m->n = n;
  m->q = calloc(MINNET_QUEUE, sizeof(*m->q));
  for (size_t i = 0; i < n; i++) minnet_add(m, i, 100 + (uint32_t)i);
}

static inline void minnet_free(minnet *m) {
  for (size_t i = 0; i < m->n; i++) chorus_peer_free(m->peer[i]);
  free(m->q);
}

/* Crash node i: it stops, and the survivors remove it from the view. */
static inline void minnet_crash(minnet *m, size_t i) {
  chorus_peer_free(m->peer[i]);
  m->peer[i] = NULL;
  for (size_t k = 0; k < m->n; k++)
    if (m->peer[k]) chorus_peer_remove_member(m->peer[k], m->now_us, i);
}

static inline void minnet_enqueue(minnet *m, size_t src, size_t dst, const uint8_t *b,
                           size_t len, uint64_t at_us) {
  if (m->qlen == MINNET_QUEUE) return; /* tests stay far below this */
  minnet_dgram *d = &m->q[m->qlen++];
  d->at_us = at_us;
  d->src = src;
  d->dst = dst;
  d->len = len;
  memcpy(d->bytes, b, len);
}

/* Drain one node's output queue into the network and the delivery log. */
static inline void minnet_drain(minnet *m, size_t i) {
  static uint8_t buf[CHORUS_MSG_BYTES_MAX];
  chorus_output o;
  while (chorus_peer_poll(m->peer[i], m->now_us, &o, buf, sizeof buf) == 0 &&
         o.kind != CHORUS_OUT_NONE) {
    if (o.kind == CHORUS_OUT_DATAGRAM) {
      enum minnet_fate f = m->fate ? m->fate(m, i, o.member, m->sent) : MINNET_PASS;
      m->sent++;
      uint64_t at = m->now_us + MINNET_DELAY_US;
      if (f == MINNET_DROP) continue;
      if (f == MINNET_LATE) at += 20 * MINNET_DELAY_US; /* overtaken by later ones */
      minnet_enqueue(m, i, o.member, o.data, o.len, at);
      if (f == MINNET_DUP) minnet_enqueue(m, i, o.member, o.data, o.len, at + 1);
    } else if (o.kind == CHORUS_OUT_DELIVER && m->nlog < MINNET_LOG) {
      minnet_delivery d = {i,        o.member, (int)o.msg_kind, (int)o.order, o.history,
                           o.msg_id, o.seq,    o.len,           o.data[0]};
      m->log[m->nlog++] = d;
      memcpy(m->last_msg, o.data, o.len);
      m->last_len = o.len;
    } else if (o.kind == CHORUS_OUT_PEER_UP) {
      m->events_up++;
    } else if (o.kind == CHORUS_OUT_PEER_RESTARTED) {
      m->events_restarted++;
    } else if (o.kind == CHORUS_OUT_VIEW) {
      m->views[i]++;
      m->last_reason[i] = (int)o.reason;
      if (o.view < m->last_view[i]) m->view_order_broken[i] = 1;
      m->last_view[i] = o.view;
      m->last_members[i] = o.members;
      m->view_at_us[i] = m->now_us;
    }
  }
}

/* Advance to the next datagram arrival or timer and process it. Returns 0
 * when nothing is left to do before `until_us`. */
static inline int minnet_step(minnet *m, uint64_t until_us) {
  uint64_t next = UINT64_MAX;
  size_t qi = MINNET_QUEUE;
  for (size_t k = 0; k < m->qlen; k++)
    if (m->q[k].at_us < next) next = m->q[k].at_us, qi = k;
  size_t ti = MINNET_NODES;
  for (size_t i = 0; i < m->n; i++) {
    uint64_t d = m->peer[i] ? chorus_peer_deadline(m->peer[i]) : UINT64_MAX;
    if (d < next) next = d, ti = i, qi = MINNET_QUEUE;
  }
  if (next == UINT64_MAX || next > until_us) return 0;
  if (next > m->now_us) m->now_us = next;
  if (qi < MINNET_QUEUE) {
    minnet_dgram d = m->q[qi];
    m->q[qi] = m->q[--m->qlen];
    if (m->peer[d.dst]) {
      chorus_peer_recv(m->peer[d.dst], m->now_us, d.bytes, d.len);
      minnet_drain(m, d.dst);
    }
  } else {
    chorus_peer_tick(m->peer[ti], m->now_us);
    minnet_drain(m, ti);
  }
  return 1;
}

static inline void minnet_run(minnet *m, uint64_t for_us) {
  uint64_t until = m->now_us + for_us;
  for (size_t i = 0; i < m->n; i++)
    if (m->peer[i]) minnet_drain(m, i);
  while (minnet_step(m, until)) {
  }
  m->now_us = until;
}

#endif
