/*
 * chorus_rtt: round-trip estimation and retransmission timeout, following
 * RFC 6298 section 2 (SRTT, RTTVAR, alpha = 1/8, beta = 1/4, K = 4) with two
 * changes suited to a LAN chat, in the manner of RFC 9002 section 6.2.1:
 *   - the receiver's delayed-ACK allowance is added to the RTO, so a delayed
 *     ACK is not mistaken for loss;
 *   - the floor is rto_us_min (milliseconds, not RFC 6298's 1 s).
 * Samples come only from frames sent once (Karn's algorithm, RFC 6298 s. 3).
 * Each consecutive timeout doubles the RTO up to rto_us_max (RFC 6298 s. 5.5).
 */
#ifndef CHORUS_RTT_H
#define CHORUS_RTT_H

#include <stdint.h>

#define CHORUS_RTT_GRANULARITY_US 1000 /* G in RFC 6298: clock granularity */
#define CHORUS_RTT_BACKOFF_MAX 16      /* cap on the backoff exponent */

typedef struct chorus_rtt {
  uint32_t srtt_us, rttvar_us;
  uint32_t rto_us_initial, rto_us_min, rto_us_max, ack_delay_us;
  uint32_t backoff; /* consecutive timeouts since the last new ACK */
  int has_sample;
} chorus_rtt;

/* Initialise with the given limits (all in µs); min <= initial <= max. */
void chorus_rtt_init(chorus_rtt *r, uint32_t rto_us_initial, uint32_t rto_us_min,
                     uint32_t rto_us_max, uint32_t ack_delay_us);

/* Feed one RTT sample of `sample_us` and clear the backoff. */
void chorus_rtt_sample(chorus_rtt *r, uint64_t sample_us);

/* Current RTO in µs: base RTO times 2^backoff, clamped to [min, max]. */
uint32_t chorus_rtt_rto_us(const chorus_rtt *r);

/* Record a retransmission timeout (doubles the next RTO). */
void chorus_rtt_on_timeout(chorus_rtt *r);

/* A new cumulative or selective ACK arrived: the path works, clear backoff. */
void chorus_rtt_on_progress(chorus_rtt *r);

#endif
