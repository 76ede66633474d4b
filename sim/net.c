#include "net.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "prng.h"

#define PPM_ONE 1000000u
/* Floor of the reorder hold-back, so that it overtakes even on 0-delay links. */
#define REORDER_HOLD_MIN_US 1000u

struct chorus_net {
  size_t nodes, pool_slots;
  chorus_prng prng;
  chorus_net_link link[CHORUS_NET_NODES_MAX][CHORUS_NET_NODES_MAX];
  uint8_t cut[CHORUS_NET_NODES_MAX][CHORUS_NET_NODES_MAX]; /* 1: partitioned */
  uint8_t *bytes;      /* pool_slots * CHORUS_DATAGRAM_BYTES_MAX */
  uint16_t *len;       /* bytes used per slot */
  uint32_t *free_slot; /* stack of free slot numbers */
  size_t free_count;
  chorus_net_stats stats;
};

static int link_valid(const chorus_net_link *l) {
  return l->delay_min_us <= l->delay_max_us &&
         l->delay_max_us <= CHORUS_NET_DELAY_US_MAX && l->loss_ppm <= PPM_ONE &&
         l->dup_ppm <= PPM_ONE && l->reorder_ppm <= PPM_ONE;
}

static int alloc_pool(chorus_net *net) {
  net->bytes = malloc(net->pool_slots * CHORUS_DATAGRAM_BYTES_MAX);
  net->len = malloc(net->pool_slots * sizeof *net->len);
  net->free_slot = malloc(net->pool_slots * sizeof *net->free_slot);
  if (!net->bytes || !net->len || !net->free_slot) return CHORUS_ERR_NOMEM;
  /* Pop order: slot 0 first, so slot numbers are deterministic too. */
  for (size_t i = 0; i < net->pool_slots; i++)
    net->free_slot[i] = (uint32_t)(net->pool_slots - 1 - i);
  net->free_count = net->pool_slots;
  return 0;
}

int chorus_net_new(const chorus_net_config *cfg, chorus_net **out) {
  if (!cfg || !out) return CHORUS_ERR_INVAL;
  *out = NULL;
  if (cfg->nodes < 1 || cfg->nodes > CHORUS_NET_NODES_MAX || cfg->pool_slots < 1 ||
      cfg->pool_slots > CHORUS_NET_POOL_SLOTS_MAX || !link_valid(&cfg->link))
    return CHORUS_ERR_CONFIG;
  chorus_net *net = calloc(1, sizeof *net);
  if (!net) return CHORUS_ERR_NOMEM;
  net->nodes = cfg->nodes;
  net->pool_slots = cfg->pool_slots;
  chorus_prng_init(&net->prng, cfg->seed);
  for (size_t i = 0; i < CHORUS_NET_NODES_MAX; i++)
    for (size_t j = 0; j < CHORUS_NET_NODES_MAX; j++) net->link[i][j] = cfg->link;
  int rc = alloc_pool(net);
  if (rc) {
    chorus_net_free(net);
    return rc;
  }
  *out = net;
  return 0;
}

void chorus_net_free(chorus_net *net) {
  if (!net) return;
  free(net->bytes);
  free(net->len);
  free(net->free_slot);
  free(net);
}

static int chance(chorus_net *net, uint32_t ppm) {
  /* Skip the draw for a fault that is off: cheaper, and still deterministic
   * because the configuration is part of the replay command. */
  if (ppm == 0) return 0;
  return chorus_prng_chance_ppm(&net->prng, ppm);
}

static uint64_t draw_delay_us(chorus_net *net, const chorus_net_link *l) {
  return chorus_prng_range(&net->prng, l->delay_min_us, l->delay_max_us);
}

/* The hold-back lasts one to four maximal delays, so datagrams sent during
 * that time (and their retransmissions) arrive first. */
static uint64_t draw_hold_us(chorus_net *net, const chorus_net_link *l) {
  uint64_t base = l->delay_max_us > REORDER_HOLD_MIN_US ? l->delay_max_us
                                                        : REORDER_HOLD_MIN_US;
  return chorus_prng_range(&net->prng, base, 4 * base);
}

static int take_slot(chorus_net *net, const uint8_t *data, size_t len,
                     uint32_t *slot) {
  if (net->free_count == 0) return CHORUS_ERR_QUEUE_FULL;
  *slot = net->free_slot[--net->free_count];
  memcpy(net->bytes + (size_t)*slot * CHORUS_DATAGRAM_BYTES_MAX, data, len);
  net->len[*slot] = (uint16_t)len;
  size_t used = net->pool_slots - net->free_count;
  if (used > net->stats.high_water) net->stats.high_water = used;
  return 0;
}

/* Fills one copy: delay, optional hold-back, slot. */
static int make_copy(chorus_net *net, const chorus_net_link *l, uint64_t now_us,
                     const uint8_t *data, size_t len, chorus_net_copy *c) {
  c->at_us = now_us + draw_delay_us(net, l);
  c->reordered = (uint8_t)chance(net, l->reorder_ppm);
  if (c->reordered) {
    c->at_us += draw_hold_us(net, l);
    net->stats.reordered++;
  }
  return take_slot(net, data, len, &c->slot);
}

int chorus_net_send(chorus_net *net, uint64_t now_us, size_t from, size_t to,
                    const uint8_t *data, size_t len_bytes, chorus_net_fate *fate) {
  if (!net || !data || !fate || from >= net->nodes || to >= net->nodes ||
      from == to || len_bytes == 0)
    return CHORUS_ERR_INVAL;
  if (len_bytes > CHORUS_DATAGRAM_BYTES_MAX) return CHORUS_ERR_TOO_BIG;
  const chorus_net_link *l = &net->link[from][to];
  fate->copies = 0;
  net->stats.sent++;
  if (net->cut[from][to]) {
    net->stats.cut++;
    return 0;
  }
  if (chance(net, l->loss_ppm)) {
    net->stats.lost++;
    return 0;
  }
  size_t want = chance(net, l->dup_ppm) ? 2 : 1;
  for (size_t i = 0; i < want; i++) {
    int rc = make_copy(net, l, now_us, data, len_bytes, &fate->copy[i]);
    if (rc) {
      for (size_t k = 0; k < i; k++) chorus_net_release(net, fate->copy[k].slot);
      return rc;
    }
  }
  if (want == 2) net->stats.duplicated++;
  fate->copies = want;
  return 0;
}

const uint8_t *chorus_net_slot(const chorus_net *net, uint32_t slot,
                               size_t *len_bytes) {
  *len_bytes = net->len[slot];
  return net->bytes + (size_t)slot * CHORUS_DATAGRAM_BYTES_MAX;
}

void chorus_net_release(chorus_net *net, uint32_t slot) {
  net->free_slot[net->free_count++] = slot;
}

int chorus_net_link_set(chorus_net *net, size_t from, size_t to,
                        const chorus_net_link *link) {
  if (!net || !link || from >= net->nodes || to >= net->nodes)
    return CHORUS_ERR_INVAL;
  if (!link_valid(link)) return CHORUS_ERR_CONFIG;
  net->link[from][to] = *link;
  return 0;
}

int chorus_net_cut(chorus_net *net, size_t from, size_t to, int on) {
  if (!net || from >= net->nodes || to >= net->nodes) return CHORUS_ERR_INVAL;
  net->cut[from][to] = on ? 1 : 0;
  return 0;
}

void chorus_net_heal(chorus_net *net) {
  for (size_t i = 0; i < net->nodes; i++)
    for (size_t j = 0; j < net->nodes; j++) {
      net->cut[i][j] = 0;
      net->link[i][j].loss_ppm = 0;
      net->link[i][j].dup_ppm = 0;
      net->link[i][j].reorder_ppm = 0;
    }
}

void chorus_net_stats_get(const chorus_net *net, chorus_net_stats *out) {
  *out = net->stats;
  out->in_flight = net->pool_slots - net->free_count;
}
