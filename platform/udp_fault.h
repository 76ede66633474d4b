/*
 * chorus_udp_fault: the outgoing datagram path, with optional fault injection
 * on the real socket (for demos and tests of the reliability layer).
 *
 * Every datagram the node sends goes through chorus_udp_fault_send(). With
 * all probabilities 0 it is a plain chorus_udp_send(). Otherwise, per
 * datagram and in this order: drop with drop_ppm; else hold it with
 * delay_ppm for a uniform 0..delay_max_us (which also reorders); and send a
 * second copy with dup_ppm. Decisions come from a chorus_prng seeded by the
 * caller, so a given seed gives the same decision sequence.
 *
 * Held datagrams wait in a queue of at most delayed_max entries, allocated at
 * creation. When it is full a datagram that should be delayed is sent at
 * once and counted in delay_overflow (explicit, never silent growth).
 *
 * Sending is batched: a datagram due now is copied into a batch of
 * CHORUS_UDP_BATCH_MAX slots (allocated at creation), and the batch goes
 * out in one chorus_udp_send_batch call when it is full or at the next
 * chorus_udp_fault_flush. The owner calls chorus_udp_fault_flush before it
 * sleeps, so nothing waits in the batch across a sleep. Where the system
 * can (Linux UDP_SEGMENT), the batch goes grouped by destination and each
 * run of equal-size datagrams to one destination as one segmented send,
 * until the kernel refuses segmentation once (gso_fallbacks): from then on
 * datagram by datagram. Either way every datagram is counted one by one.
 * Not thread-safe: one owner thread (the network loop).
 */
#ifndef CHORUS_PLATFORM_UDP_FAULT_H
#define CHORUS_PLATFORM_UDP_FAULT_H

#include <stddef.h>
#include <stdint.h>

#include "peer.h"
#include "udp.h"

#define CHORUS_UDP_FAULT_DELAYED_DEFAULT 512 /* held datagrams */
#define CHORUS_UDP_FAULT_DELAYED_MAX 65536
#define CHORUS_UDP_FAULT_PPM_ONE 1000000u    /* probability 1.0 */

typedef struct chorus_udp_fault_config {
  uint32_t drop_ppm;     /* probability of dropping, parts per million */
  uint32_t dup_ppm;      /* probability of sending a duplicate */
  uint32_t delay_ppm;    /* probability of holding a datagram back */
  uint32_t delay_max_us; /* held datagrams wait uniform 0..delay_max_us */
  uint64_t seed;         /* PRNG seed for the decisions */
  size_t delayed_max;    /* queue limit, 1..CHORUS_UDP_FAULT_DELAYED_MAX */
} chorus_udp_fault_config;

/* Counters for /stats. Every datagram offered ends in exactly one of
 * dropped / sent / would_block / send_errors (duplicates add to sent), or
 * is still held or batched. */
typedef struct chorus_udp_fault_stats {
  uint64_t offered;        /* datagrams handed to chorus_udp_fault_send */
  uint64_t sent;           /* sendto succeeded (duplicates included) */
  uint64_t sent_bytes;     /* datagram bytes of those */
  uint64_t dropped;        /* injected loss */
  uint64_t duplicated;     /* injected extra copies */
  uint64_t delayed;        /* held back, sent later */
  uint64_t delay_overflow; /* should have been held, queue full: sent now */
  uint64_t would_block;    /* socket buffer full: lost, core retransmits */
  uint64_t send_errors;    /* other sendto failures: lost */
  uint64_t batches;        /* chorus_udp_send_batch_gso calls */
  uint64_t gso_fallbacks;  /* the kernel refused segmentation: now off */
  uint32_t held;           /* currently in the delay queue */
  uint32_t batched;        /* currently in the send batch */
} chorus_udp_fault_stats;

typedef struct chorus_udp_fault chorus_udp_fault;

/* Defaults: no faults, delayed_max CHORUS_UDP_FAULT_DELAYED_DEFAULT. */
void chorus_udp_fault_config_default(chorus_udp_fault_config *cfg);

/*
 * chorus_udp_fault_new allocates the path and its delay queue (owned by the
 * caller, release with chorus_udp_fault_free). Returns CHORUS_OK,
 * CHORUS_ERR_CONFIG (a ppm above 1000000, delayed_max out of range) or
 * CHORUS_ERR_NOMEM.
 */
int chorus_udp_fault_new(const chorus_udp_fault_config *cfg, chorus_udp_fault **out);

/* chorus_udp_fault_free releases the path; held and batched datagrams are
 * discarded (flush first to send them). */
void chorus_udp_fault_free(chorus_udp_fault *f);

/*
 * chorus_udp_fault_send sends (or drops, delays, duplicates) one datagram
 * data[0..len_bytes) to `to` on socket `fd` at time now_us: it joins the
 * send batch (a full batch is sent first), or the delay queue. Data and
 * address are copied. Datagrams longer than CHORUS_DATAGRAM_BYTES_MAX are
 * never held or batched: the batch is sent, then they go at once.
 */
void chorus_udp_fault_send(chorus_udp_fault *f, int fd, const chorus_udp_addr *to,
                           const uint8_t *data, size_t len_bytes, uint64_t now_us);

/* chorus_udp_fault_deadline: when the next held datagram is due (µs), or
 * UINT64_MAX if none is held. */
uint64_t chorus_udp_fault_deadline(const chorus_udp_fault *f);

/* chorus_udp_fault_flush sends every held datagram due at or before now_us,
 * oldest due time first, then the whole send batch. */
void chorus_udp_fault_flush(chorus_udp_fault *f, int fd, uint64_t now_us);

/* chorus_udp_fault_stats_get copies the counters. */
void chorus_udp_fault_stats_get(const chorus_udp_fault *f, chorus_udp_fault_stats *out);

#endif
