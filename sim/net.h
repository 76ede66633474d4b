/*
 * chorus_net: the simulator's network model.
 *
 * Every directed link (from, to) has its own settings: a one-way delay drawn
 * uniformly from [delay_min_us, delay_max_us] per datagram, and fault
 * probabilities in parts per million: loss (the datagram vanishes),
 * duplication (a second copy with its own delay) and reordering (the
 * datagram is held back by an extra delay so that datagrams sent after it
 * overtake it). Independent per-datagram delays already reorder a little;
 * the reorder fault makes it systematic.
 *
 * Datagram bytes are copied into a pool of `pool_slots` fixed-size slots
 * allocated at creation; each copy in flight holds one slot until the
 * simulator releases it. An exhausted pool is an error to the caller
 * (CHORUS_ERR_QUEUE_FULL), never silent loss.
 *
 * Every random choice comes from one PRNG seeded at creation, drawn in a
 * fixed order, so the same seed and the same calls give the same fates.
 * No clock, no I/O.
 */
#ifndef CHORUS_SIM_NET_H
#define CHORUS_SIM_NET_H

#include <stddef.h>
#include <stdint.h>

#include "peer.h"

#define CHORUS_NET_POOL_SLOTS_MAX ((size_t)1 << 20) /* 1.2 GB of slots */
#define CHORUS_NET_DELAY_US_MAX 60000000u /* one minute, a sanity cap */
#define CHORUS_NET_NODES_MAX (CHORUS_MEMBERS_MAX + 1) /* the peers and a server */

/* Settings of one directed link. Probabilities are in ppm (0..1000000). */
typedef struct chorus_net_link {
  uint32_t delay_min_us, delay_max_us; /* one-way delay range, min <= max */
  uint32_t loss_ppm;                   /* chance a datagram is lost */
  uint32_t dup_ppm;                    /* chance a second copy is delivered */
  uint32_t reorder_ppm;                /* chance of an extra overtaking delay */
} chorus_net_link;

typedef struct chorus_net_config {
  size_t nodes;         /* 1..CHORUS_NET_NODES_MAX */
  size_t pool_slots;    /* datagram copies in flight at most, 1..2^20 */
  uint64_t seed;        /* seed of the network's PRNG stream */
  chorus_net_link link; /* initial settings of every directed link */
} chorus_net_config;

/* One copy of a datagram in flight. */
typedef struct chorus_net_copy {
  uint64_t at_us;    /* arrival time, µs */
  uint32_t slot;     /* pool slot holding the bytes until released */
  uint8_t reordered; /* 1 if held back by the reorder fault */
} chorus_net_copy;

/* What became of one datagram handed to chorus_net_send. */
typedef struct chorus_net_fate {
  size_t copies;           /* 0 lost, 1 delivered, 2 duplicated */
  chorus_net_copy copy[2]; /* copy[0..copies) */
} chorus_net_fate;

typedef struct chorus_net_stats {
  uint64_t sent;       /* datagrams handed to chorus_net_send */
  uint64_t lost;       /* of which lost */
  uint64_t duplicated; /* of which delivered twice */
  uint64_t reordered;  /* copies held back by the reorder fault */
  uint64_t cut;        /* of which dropped by a partition (not in lost) */
  size_t in_flight;    /* pool slots in use now */
  size_t high_water;   /* most pool slots ever in use at once */
} chorus_net_stats;

typedef struct chorus_net chorus_net;

/*
 * chorus_net_new allocates the model and its pool. On success stores it in
 * *out (caller owns it, release with chorus_net_free) and returns 0.
 * Errors: CHORUS_ERR_INVAL (NULL argument), CHORUS_ERR_CONFIG (nodes, pool
 * size, delays or probabilities out of range), CHORUS_ERR_NOMEM.
 */
int chorus_net_new(const chorus_net_config *cfg, chorus_net **out);

/* chorus_net_free releases the model and every slot; NULL is allowed. */
void chorus_net_free(chorus_net *net);

/*
 * chorus_net_send decides the fate of datagram data[0..len_bytes) sent from
 * node `from` to node `to` at `now_us`, copies the bytes into one pool slot
 * per surviving copy and describes them in *fate. The caller keeps `data`.
 * Returns 0, or CHORUS_ERR_INVAL (bad node, from == to, len 0),
 * CHORUS_ERR_TOO_BIG (len > CHORUS_DATAGRAM_BYTES_MAX: a driver must never
 * be handed one), CHORUS_ERR_QUEUE_FULL (pool exhausted; no slot is held).
 */
int chorus_net_send(chorus_net *net, uint64_t now_us, size_t from, size_t to,
                    const uint8_t *data, size_t len_bytes, chorus_net_fate *fate);

/*
 * chorus_net_slot returns the bytes held by `slot` and stores their length
 * in *len_bytes. The pointer is valid until the slot is released.
 */
const uint8_t *chorus_net_slot(const chorus_net *net, uint32_t slot,
                               size_t *len_bytes);

/* chorus_net_release returns `slot` to the pool once its copy arrived. */
void chorus_net_release(chorus_net *net, uint32_t slot);

/* chorus_net_link_set changes the settings of link (from, to); returns 0 or
 * CHORUS_ERR_INVAL / CHORUS_ERR_CONFIG. Datagrams in flight keep their fate. */
int chorus_net_link_set(chorus_net *net, size_t from, size_t to,
                        const chorus_net_link *link);

/*
 * chorus_net_cut cuts (on = 1) or restores (on = 0) the directed link
 * (from, to): while cut, every datagram sent on it is dropped (counted in
 * `cut`, without drawing from the PRNG, so a cut never shifts the fates of
 * other datagrams). A symmetric partition cuts both directions, a one-way
 * partition one. Returns 0 or CHORUS_ERR_INVAL (bad node).
 */
int chorus_net_cut(chorus_net *net, size_t from, size_t to, int on);

/* chorus_net_heal switches loss, duplication and reordering off on every
 * link and restores every cut link (delays stay). Datagrams already in flight keep their fate. */
void chorus_net_heal(chorus_net *net);

/* chorus_net_stats_get copies the counters into *out. */
void chorus_net_stats_get(const chorus_net *net, chorus_net_stats *out);

#endif
