/*
 * Swarm testing (Groce et al., ISSTA 2012): instead of one fixed fault mix,
 * each seed draws its own configuration, so that the sweep explores
 * combinations nobody thought to write down (few nodes with heavy loss,
 * many nodes with crashes and reordering, ...). The draws come from a
 * stream of their own, so the run itself is the same as when the drawn
 * values are given as options.
 */
#include "sim_int.h"

#define SWARM_FAULT_ON_PPM 750000u /* each fault kind is on in 3/4 of the seeds */

/* A probability in [0, max_ppm], or 0 when the fault is off for this seed. */
static uint32_t draw_fault(chorus_prng *p, uint32_t max_ppm) {
  uint32_t v = (uint32_t)chorus_prng_range(p, 0, max_ppm);
  return chorus_prng_chance_ppm(p, SWARM_FAULT_ON_PPM) ? v : 0;
}

void chorus_sim_swarm(chorus_sim_config *cfg) {
  chorus_prng p;
  chorus_prng_init(&p, sim_derive(cfg->seed, STREAM_SWARM, 0));
  cfg->nodes = (size_t)chorus_prng_range(&p, 3, CHORUS_MEMBERS_MAX);
  cfg->link.delay_min_us = (uint32_t)chorus_prng_range(&p, 0, 20000);
  cfg->link.delay_max_us =
      cfg->link.delay_min_us + (uint32_t)chorus_prng_range(&p, 0, 150000);
  cfg->link.loss_ppm = draw_fault(&p, 300000);
  cfg->link.dup_ppm = draw_fault(&p, 200000);
  cfg->link.reorder_ppm = draw_fault(&p, 300000);
  /* A whole rate, converted as the command line converts --rate. */
  uint64_t rate = chorus_prng_range(&p, 10, 200);
  cfg->send_interval_us = (uint64_t)(1e6 / (double)rate + 0.5);
  cfg->private_ppm = (uint32_t)chorus_prng_range(&p, 0, 300000);
  cfg->order_mixed = chorus_prng_chance_ppm(&p, SIM_PPM_ONE / 2);
  cfg->order = (enum chorus_order)chorus_prng_below(&p, CHORUS_ORDER_SAFE + 1);
  if (cfg->order_mixed) cfg->order = CHORUS_ORDER_TOTAL;
  size_t most = cfg->nodes - 2 < 2 ? cfg->nodes - 2 : 2;
  cfg->crashes = (size_t)chorus_prng_range(&p, 0, most);
  /* Drawn last, so every draw before it stays what it was. */
  uint64_t parts = chorus_prng_range(&p, 1, 2);
  cfg->partitions = chorus_prng_chance_ppm(&p, SIM_PPM_ONE / 2) ? (size_t)parts : 0;
}
