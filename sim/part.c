/*
 * Partitions (sim.h, PARTITIONS). The plan is drawn at the start from a
 * stream of its own, so a run without partitions keeps its trace: K
 * episodes, each in its own K-th of [10 %, 90 %] of the safety phase, so
 * they never overlap. An episode splits the nodes into two sides of drawn
 * sizes; a split cuts both directions between them, a one-way partition
 * only side A's datagrams to side B. Half the episodes are short (the
 * failure detectors should ride them out), half long (long enough for the
 * fast detector to remove the other side, so the views must merge). Every
 * episode ends at its drawn time or at the heal, whichever comes first.
 */
#include "err.h"
#include "sim_int.h"

#define PART_SHORT_MIN_US 200000u  /* short episodes: 0.2 .. 1.5 s */
#define PART_SHORT_MAX_US 1500000u
#define PART_LONG_MIN_US 2000000u  /* long ones: 2 .. 8 s */
#define PART_LONG_MAX_US 8000000u
#define PART_ONEWAY_PPM 333333u    /* a third of the episodes are one-way */

static void draw_episode(sim *s, chorus_prng *p, size_t k, sim_part *e) {
  const chorus_sim_config *c = s->cfg;
  uint64_t lo = c->duration_us / 10, width = c->duration_us * 8 / 10 / c->partitions;
  uint64_t slot_start = lo + k * width, slot_end = slot_start + width;
  e->start_us = slot_start + chorus_prng_range(p, 0, width / 4);
  e->oneway = (uint8_t)chorus_prng_chance_ppm(p, PART_ONEWAY_PPM);
  uint32_t all = (uint32_t)((1u << c->nodes) - 1);
  e->side_a = (uint32_t)chorus_prng_range(p, 1, all - 1);
  int longer = chorus_prng_chance_ppm(p, SIM_PPM_ONE / 2);
  uint64_t len = longer ? chorus_prng_range(p, PART_LONG_MIN_US, PART_LONG_MAX_US)
                        : chorus_prng_range(p, PART_SHORT_MIN_US, PART_SHORT_MAX_US);
  e->end_us = e->start_us + len;
  if (e->end_us > slot_end) e->end_us = slot_end;
  if (e->end_us > c->duration_us) e->end_us = c->duration_us;
}

int sim_plan_partitions(sim *s) {
  const chorus_sim_config *c = s->cfg;
  if (c->partitions == 0) return 0;
  chorus_prng p;
  chorus_prng_init(&p, sim_derive(c->seed, STREAM_PART, 0));
  for (size_t k = 0; k < c->partitions; k++) {
    sim_part *e = &s->part[k];
    draw_episode(s, &p, k, e);
    chorus_evq_event on = {.at_us = e->start_us, .slot = (uint32_t)k,
                           .kind = CHORUS_EVQ_PARTITION, .from = 1};
    chorus_evq_event off = {.at_us = e->end_us, .slot = (uint32_t)k,
                            .kind = CHORUS_EVQ_PARTITION, .from = 0};
    int rc = sim_push(s, &on);
    if (!rc) rc = sim_push(s, &off);
    if (rc) return rc;
  }
  return 0;
}

/* Cuts (on) or restores every link episode e cuts. */
static void part_apply(sim *s, const sim_part *e, int on) {
  for (size_t a = 0; a < s->cfg->nodes; a++) {
    if (!(e->side_a & (1u << a))) continue;
    for (size_t b = 0; b < s->cfg->nodes; b++) {
      if (e->side_a & (1u << b)) continue;
      chorus_net_cut(s->net, a, b, on);
      if (!e->oneway) chorus_net_cut(s->net, b, a, on);
    }
  }
}

int sim_on_partition(sim *s, const chorus_evq_event *ev) {
  sim_part *e = &s->part[ev->slot];
  int on = ev->from;
  if (on ? e->started : e->ended) return 0;
  if (!on && !e->started) return 0; /* the heal came first: never started */
  if (on) e->started = 1;
  else e->ended = 1;
  part_apply(s, e, on);
  uint32_t all = (uint32_t)((1u << s->cfg->nodes) - 1);
  if (on) {
    s->res->partitioned++;
    chorus_trace_line(&s->trace, s->now_us, "partition %u %s a=%x b=%x until=%llu",
                      (unsigned)ev->slot, e->oneway ? "one-way" : "split",
                      (unsigned)e->side_a, (unsigned)(all & ~e->side_a),
                      (unsigned long long)e->end_us);
  } else {
    chorus_trace_line(&s->trace, s->now_us, "partition %u heal", (unsigned)ev->slot);
  }
  chorus_check_partition(s->chk, s->now_us, e->side_a, on);
  return 0;
}

int sim_partitions_at_heal(sim *s) {
  for (size_t k = 0; k < s->cfg->partitions; k++) {
    sim_part *e = &s->part[k];
    if (!e->started || e->ended) continue;
    chorus_evq_event off = {.at_us = s->now_us, .slot = (uint32_t)k,
                            .kind = CHORUS_EVQ_PARTITION, .from = 0};
    int rc = sim_on_partition(s, &off);
    if (rc) return rc;
  }
  return 0;
}
