#include "rtt.h"

static uint32_t clamp_u32(uint64_t v) {
  return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

void chorus_rtt_init(chorus_rtt *r, uint32_t rto_us_initial, uint32_t rto_us_min,
                     uint32_t rto_us_max, uint32_t ack_delay_us) {
  r->srtt_us = 0;
  r->rttvar_us = 0;
  r->rto_us_initial = rto_us_initial;
  r->rto_us_min = rto_us_min;
  r->rto_us_max = rto_us_max;
  r->ack_delay_us = ack_delay_us;
  r->backoff = 0;
  r->has_sample = 0;
}

void chorus_rtt_sample(chorus_rtt *r, uint64_t sample_us) {
  uint32_t s = clamp_u32(sample_us);
  if (!r->has_sample) {
    /* RFC 6298 (2.2): SRTT <- R, RTTVAR <- R/2 */
    r->srtt_us = s;
    r->rttvar_us = s / 2;
    r->has_sample = 1;
  } else {
    /* RFC 6298 (2.3): RTTVAR first, using the old SRTT. */
    uint32_t diff = r->srtt_us > s ? r->srtt_us - s : s - r->srtt_us;
    r->rttvar_us = (uint32_t)(((uint64_t)r->rttvar_us * 3 + diff) / 4);
    r->srtt_us = (uint32_t)(((uint64_t)r->srtt_us * 7 + s) / 8);
  }
  r->backoff = 0;
}

static uint64_t base_rto_us(const chorus_rtt *r) {
  if (!r->has_sample) return r->rto_us_initial;
  uint64_t var = (uint64_t)r->rttvar_us * 4;
  if (var < CHORUS_RTT_GRANULARITY_US) var = CHORUS_RTT_GRANULARITY_US;
  return (uint64_t)r->srtt_us + var + r->ack_delay_us;
}

uint32_t chorus_rtt_rto_us(const chorus_rtt *r) {
  uint64_t rto = base_rto_us(r);
  if (rto < r->rto_us_min) rto = r->rto_us_min;
  for (uint32_t i = 0; i < r->backoff && rto < r->rto_us_max; i++) rto *= 2;
  if (rto > r->rto_us_max) rto = r->rto_us_max;
  return (uint32_t)rto;
}

void chorus_rtt_on_timeout(chorus_rtt *r) {
  if (r->backoff < CHORUS_RTT_BACKOFF_MAX) r->backoff++;
}

void chorus_rtt_on_progress(chorus_rtt *r) { r->backoff = 0; }
