/*
 * bench: `make bench`. One run measures chorus on loopback beside the raw
 * UDP baselines of the same run, prints one table, and writes it with the
 * machine's description to docs/BENCHMARKS.md and as a bar chart to
 * docs/bench.svg.
 *
 * Usage: bench [--chorus PATH] [--md PATH] [--svg PATH] [--quick]
 *   --chorus  the chorus program, for the simulator figures (default ./chorus)
 *   --md, --svg  where the report goes (defaults docs/BENCHMARKS.md,
 *             docs/bench.svg; "-" writes nothing)
 *   --quick   a tenth of the load and one round, for trying it out
 *   --only S  one section (groups, pairs, sim), for profiling
 *
 * Phases, in order: the 10-node groups first (each node is a forked
 * process, and the parent is smallest then), then the two-node runs, then
 * the simulator. Each raw and chorus phase runs BENCH_ROUNDS times,
 * interleaved, and the best run of each counts: load from other programs
 * only ever slows a run down. Exit status 1 if a chorus run lost a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_chorus.h"
#include "bench_group.h"
#include "bench_raw.h"
#include "bench_report.h"
#include "clock.h"
#include "room.h"
#include "wire.h"

#define BENCH_NODES 10
#define BENCH_SMALL_BYTES 64
#define BENCH_LARGE_BYTES 1024
#define BENCH_SIM_SEEDS "1..200"
#define BENCH_ROUNDS 3 /* each phase; the best run counts (--quick: 1) */

typedef struct bench_load {
  size_t group_small;  /* messages per node, 64-byte group runs */
  size_t group_large;  /* messages per node, 1 KiB group runs */
  size_t blast;        /* raw datagrams, two-node blast */
  size_t pings;        /* raw ping-pong round trips */
  size_t pair;         /* chorus private pipelined */
  size_t unloaded;     /* chorus private one at a time */
} bench_load;

typedef struct bench_args {
  const char *chorus, *md, *svg;
  const char *only; /* run one section: groups, pairs or sim; NULL all */
  int rounds;       /* times each phase runs; the best run counts */
  bench_load load;
} bench_args;

static int bench_complete = 1; /* every chorus message arrived */

static void bench_measured(bench_row *row, uint64_t got, uint64_t want, const char *what) {
  snprintf(row->measured, sizeof row->measured, "%llu/%llu %s", (unsigned long long)got,
           (unsigned long long)want, what);
}

static void bench_against(bench_row *row, const bench_row *base, double value, double base_value) {
  if (value > 0 && base_value > 0) row->ratio = value / base_value;
  snprintf(row->baseline, sizeof row->baseline, "%s", base->name);
}

/* ---- measuring: every phase BENCH_ROUNDS times, raw and chorus alike ---- */

/* The best of the rounds of each phase (the other engineers' and the
 * system's load only ever slows a run down); memory is the largest seen. */
typedef struct bench_runs {
  bench_group_result mesh_s, mesh_l, tot_s, tot_l, cau_s, cau_l;
  double blast_s, blast_l;
  size_t blast_s_got, blast_l_got;
  bench_quant ping;
  size_t ping_got;
  bench_pair_result pipe_s, pipe_l, unloaded;
} bench_runs;

static void bench_mem_max(bench_mem *into, const bench_mem *m) {
  if (m->rss_kib > into->rss_kib) into->rss_kib = m->rss_kib;
  if (m->hwm_kib > into->hwm_kib) into->hwm_kib = m->hwm_kib;
  if (m->anon_kib > into->anon_kib) into->anon_kib = m->anon_kib;
}

static void bench_keep_group(bench_group_result *best, int first, const bench_group_result *g) {
  bench_mem idle = best->idle_max, loaded = best->loaded_max;
  if (first || bench_group_rate(g) > bench_group_rate(best)) *best = *g;
  bench_mem_max(&best->idle_max, &idle);
  bench_mem_max(&best->loaded_max, &loaded);
  if (!first && g->failed) best->failed = 1;
}

static void bench_keep_pair(bench_pair_result *best, int first, const bench_pair_result *p,
                            int by_latency) {
  int better = by_latency ? p->latency.p50_us < best->latency.p50_us : p->rate > best->rate;
  if (first || (better && p->got == p->expected)) *best = *p;
}

static void bench_group_round(bench_runs *b, const bench_load *ld, int first) {
  bench_room_arg total = {CHORUS_ORDER_TOTAL}, causal = {CHORUS_ORDER_CAUSAL};
  bench_group_result g;
  g = bench_group_run(BENCH_NODES, ld->group_small, BENCH_SMALL_BYTES, bench_raw_mesh_node, NULL);
  bench_keep_group(&b->mesh_s, first, &g);
  g = bench_group_run(BENCH_NODES, ld->group_small, BENCH_SMALL_BYTES, bench_room_node, &total);
  bench_keep_group(&b->tot_s, first, &g);
  g = bench_group_run(BENCH_NODES, ld->group_large, BENCH_LARGE_BYTES, bench_raw_mesh_node, NULL);
  bench_keep_group(&b->mesh_l, first, &g);
  g = bench_group_run(BENCH_NODES, ld->group_large, BENCH_LARGE_BYTES, bench_room_node, &total);
  bench_keep_group(&b->tot_l, first, &g);
  g = bench_group_run(BENCH_NODES, ld->group_small, BENCH_SMALL_BYTES, bench_room_node, &causal);
  bench_keep_group(&b->cau_s, first, &g);
  g = bench_group_run(BENCH_NODES, ld->group_large, BENCH_LARGE_BYTES, bench_room_node, &causal);
  bench_keep_group(&b->cau_l, first, &g);
}

static void bench_pair_round(bench_runs *b, const bench_load *ld, int first) {
  size_t got = 0;
  double rate = bench_raw_blast(ld->blast, BENCH_SMALL_BYTES, &got);
  if (first || rate > b->blast_s) b->blast_s = rate, b->blast_s_got = got;
  rate = bench_raw_blast(ld->blast, BENCH_LARGE_BYTES, &got);
  if (first || rate > b->blast_l) b->blast_l = rate, b->blast_l_got = got;
  bench_quant q = bench_raw_pingpong(ld->pings, BENCH_SMALL_BYTES, &got);
  if (first || q.p50_us < b->ping.p50_us) b->ping = q, b->ping_got = got;
  bench_pair_result p = bench_pair_pipelined(ld->pair, BENCH_SMALL_BYTES);
  bench_keep_pair(&b->pipe_s, first, &p, 0);
  p = bench_pair_pipelined(ld->pair, BENCH_LARGE_BYTES);
  bench_keep_pair(&b->pipe_l, first, &p, 0);
  p = bench_pair_unloaded(ld->unloaded, BENCH_SMALL_BYTES);
  bench_keep_pair(&b->unloaded, first, &p, 1);
}

/* ---- rows ------------------------------------------------------------------ */

static bench_row *bench_mesh_row(bench_report *r, const bench_group_result *g, size_t size) {
  char name[BENCH_TEXT_BYTES];
  snprintf(name, sizeof name, "raw UDP mesh, %d nodes, %zu B", BENCH_NODES, size);
  bench_row *row = bench_report_add(r, name, "deliveries/s");
  row->raw = row->chart = 1;
  row->value = bench_group_rate(g);
  row->p50_us = g->latency.p50_us;
  row->p99_us = g->latency.p99_us;
  bench_measured(row, g->delivered, g->expected, "received");
  return row;
}

static bench_row *bench_room_row(bench_report *r, const bench_row *mesh, const char *order,
                                 const bench_group_result *g, size_t size) {
  char name[BENCH_TEXT_BYTES];
  snprintf(name, sizeof name, "chorus room %s, %d peers, %zu B", order, BENCH_NODES, size);
  bench_row *row = bench_report_add(r, name, "deliveries/s");
  row->chart = 1;
  row->value = bench_group_rate(g);
  row->p50_us = g->latency.p50_us;
  row->p99_us = g->latency.p99_us;
  bench_against(row, mesh, row->value, mesh->value);
  snprintf(row->measured, sizeof row->measured, "%llu/%llu delivered, %llu retransmits",
           (unsigned long long)g->delivered, (unsigned long long)g->expected,
           (unsigned long long)g->retransmits);
  if (g->delivered != g->expected || g->failed) bench_complete = 0;
  return row;
}

static void bench_group_rows(bench_report *r, const bench_runs *b) {
  const bench_row *mesh_s = bench_mesh_row(r, &b->mesh_s, BENCH_SMALL_BYTES);
  const bench_row *mesh_l = bench_mesh_row(r, &b->mesh_l, BENCH_LARGE_BYTES);
  const bench_row *total = bench_room_row(r, mesh_s, "total", &b->tot_s, BENCH_SMALL_BYTES);
  bench_room_row(r, mesh_l, "total", &b->tot_l, BENCH_LARGE_BYTES);
  const bench_row *causal = bench_room_row(r, mesh_s, "causal", &b->cau_s, BENCH_SMALL_BYTES);
  bench_room_row(r, mesh_l, "causal", &b->cau_l, BENCH_LARGE_BYTES);
  bench_row *row = bench_report_add(r, "room total / causal order, 10 peers, 64 B", "ratio");
  if (causal->value > 0) row->value = total->value / causal->value;
  if (causal->p50_us > 0) row->ratio = total->p50_us / causal->p50_us;
  snprintf(row->baseline, sizeof row->baseline, "value: rates; ratio: p50 latencies");
}

static bench_row *bench_blast_row(bench_report *r, double rate, size_t got, size_t count,
                                  size_t size) {
  char name[BENCH_TEXT_BYTES];
  snprintf(name, sizeof name, "raw UDP blast, 2 nodes, %zu B", size);
  bench_row *row = bench_report_add(r, name, "datagrams/s");
  row->raw = row->chart = 1;
  row->value = rate;
  bench_measured(row, got, count, "received");
  return row;
}

static void bench_pair_row(bench_report *r, const char *name, const char *unit,
                           const bench_row *base, const bench_pair_result *p, int latency_ratio) {
  bench_row *row = bench_report_add(r, name, unit);
  row->chart = !latency_ratio;
  row->value = p->rate > 0 ? p->rate : -1;
  row->p50_us = p->latency.p50_us;
  row->p99_us = p->latency.p99_us;
  if (latency_ratio) bench_against(row, base, row->p50_us, base->p50_us);
  else bench_against(row, base, row->value, base->value);
  bench_measured(row, p->got, p->expected, "delivered");
  if (p->got != p->expected) bench_complete = 0;
}

static void bench_pair_rows(bench_report *r, const bench_runs *b, const bench_load *ld) {
  const bench_row *bs = bench_blast_row(r, b->blast_s, b->blast_s_got, ld->blast, BENCH_SMALL_BYTES);
  const bench_row *bl = bench_blast_row(r, b->blast_l, b->blast_l_got, ld->blast, BENCH_LARGE_BYTES);
  bench_row *pp = bench_report_add(r, "raw UDP ping-pong, 64 B (RTT/2)", "us");
  pp->raw = 1;
  pp->p50_us = b->ping.p50_us;
  pp->p99_us = b->ping.p99_us;
  bench_measured(pp, b->ping_got, ld->pings, "answered");
  bench_pair_row(r, "chorus private, 2 peers, 64 B, pipelined", "msg/s", bs, &b->pipe_s, 0);
  bench_pair_row(r, "chorus private, 2 peers, 1024 B, pipelined", "msg/s", bl, &b->pipe_l, 0);
  bench_pair_row(r, "chorus private, 2 peers, 64 B, one at a time", "us", pp, &b->unloaded, 1);
}

/* One memory row: a chorus peer's figure beside the raw node's. */
static void bench_mem_row(bench_report *r, const char *name, uint64_t kib, uint64_t raw_kib) {
  bench_row *row = bench_report_add(r, name, "KiB");
  row->value = (double)kib;
  if (raw_kib > 0) row->ratio = row->value / (double)raw_kib;
  snprintf(row->baseline, sizeof row->baseline, "raw UDP mesh node process (%llu KiB)",
           (unsigned long long)raw_kib);
}

/* Loaded figures: the largest over every 10-peer chorus run. */
static void bench_mem_rows(bench_report *r, const bench_runs *b) {
  bench_mem idle = b->tot_s.idle_max, loaded = b->tot_s.loaded_max, raw = b->mesh_s.loaded_max;
  bench_mem_max(&idle, &b->tot_l.idle_max);
  bench_mem_max(&idle, &b->cau_s.idle_max);
  bench_mem_max(&loaded, &b->tot_l.loaded_max);
  bench_mem_max(&loaded, &b->cau_s.loaded_max);
  bench_mem_max(&raw, &b->mesh_l.loaded_max);
  bench_mem_row(r, "memory per peer, idle (VmRSS)", idle.rss_kib, b->mesh_s.idle_max.rss_kib);
  bench_mem_row(r, "memory per peer, 10-peer load (VmRSS)", loaded.rss_kib, raw.rss_kib);
  bench_mem_row(r, "memory per peer, peak (VmHWM)", loaded.hwm_kib, raw.hwm_kib);
  bench_mem_row(r, "memory per peer, private, loaded (RssAnon)", loaded.anon_kib, raw.anon_kib);
}

/* Fixed overhead of one message alone in a datagram, and what the 10-peer
 * run really sent per delivery. */
static void bench_header_rows(bench_report *r, const bench_group_result *g, size_t size) {
  double room = CHORUS_WIRE_HEADER_BYTES + CHORUS_WIRE_DATA_OVERHEAD_BYTES +
                (double)CHORUS_ROOM_HDR_BYTES(BENCH_NODES);
  double priv = CHORUS_WIRE_HEADER_BYTES + CHORUS_WIRE_DATA_OVERHEAD_BYTES;
  bench_row *row = bench_report_add(r, "header bytes per room message, 10 members", "bytes");
  row->value = room;
  row->ratio = (room + (double)size) / (double)size;
  snprintf(row->baseline, sizeof row->baseline, "wire bytes / payload, %zu B alone", size);
  snprintf(row->measured, sizeof row->measured, "datagram %d + frame %d + room %d",
           CHORUS_WIRE_HEADER_BYTES, CHORUS_WIRE_DATA_OVERHEAD_BYTES,
           (int)CHORUS_ROOM_HDR_BYTES(BENCH_NODES));
  row = bench_report_add(r, "header bytes per private message", "bytes");
  row->value = priv;
  row->ratio = (priv + (double)size) / (double)size;
  snprintf(row->baseline, sizeof row->baseline, "wire bytes / payload, %zu B alone", size);
  snprintf(row->measured, sizeof row->measured, "datagram %d + frame %d",
           CHORUS_WIRE_HEADER_BYTES, CHORUS_WIRE_DATA_OVERHEAD_BYTES);
  if (g->delivered == 0) return;
  row = bench_report_add(r, "wire bytes per delivery, 10 peers total, 64 B", "bytes");
  row->value = (double)g->bytes_sent / (double)g->delivered;
  row->ratio = row->value / (double)size;
  snprintf(row->baseline, sizeof row->baseline, "raw mesh: %zu bytes per delivery", size);
  snprintf(row->measured, sizeof row->measured, "%.3f datagrams per delivery (raw: 1)",
           (double)g->datagrams_sent / (double)g->delivered);
}

/* ---- simulator ----------------------------------------------------------- */

/* "... key=123.4 ..." -> 123.4, or -1. */
static double bench_field(const char *line, const char *key) {
  const char *p = strstr(line, key);
  return p ? strtod(p + strlen(key), NULL) : -1;
}

static void bench_sim(bench_report *r, const char *chorus) {
  char cmd[512], line[1024], last[1024] = "";
  snprintf(cmd, sizeof cmd,
           "'%s' sim --seeds " BENCH_SIM_SEEDS " --loss 0.3 --dup 0.2 --reorder 0.3 --quiet",
           chorus);
  FILE *p = popen(cmd, "r");
  if (p != NULL) {
    while (fgets(line, sizeof line, p) != NULL) snprintf(last, sizeof last, "%s", line);
    if (pclose(p) != 0) last[0] = '\0';
  }
  bench_row *ev = bench_report_add(r, "simulator, seeds " BENCH_SIM_SEEDS ", faults", "events/s");
  ev->value = bench_field(last, "events_per_s=");
  snprintf(ev->measured, sizeof ev->measured, "loss 0.3, dup 0.2, reorder 0.3");
  bench_row *sp = bench_report_add(r, "simulator speed", "sim s/wall s");
  sp->value = bench_field(last, "sim_s_per_wall_s=");
  if (last[0] == '\0') fprintf(stderr, "bench: the simulator run failed: %s\n", cmd);
}

/* ---- main ----------------------------------------------------------------- */

static void bench_parse(int argc, char **argv, bench_args *a) {
  bench_load full = {2000, 500, 200000, 5000, 20000, 2000};
  a->chorus = "./chorus";
  a->md = "docs/BENCHMARKS.md";
  a->svg = "docs/bench.svg";
  a->load = full;
  a->only = NULL;
  a->rounds = BENCH_ROUNDS;
  for (int i = 1; i < argc; i++) {
    int more = i + 1 < argc;
    if (strcmp(argv[i], "--quick") == 0) {
      bench_load quick = {200, 50, 20000, 500, 2000, 200};
      a->load = quick;
      a->rounds = 1;
    } else if (more && strcmp(argv[i], "--chorus") == 0) a->chorus = argv[++i];
    else if (more && strcmp(argv[i], "--md") == 0) a->md = argv[++i];
    else if (more && strcmp(argv[i], "--svg") == 0) a->svg = argv[++i];
    else if (more && strcmp(argv[i], "--only") == 0) a->only = argv[++i];
    else {
      fprintf(stderr, "usage: bench [--chorus PATH] [--md PATH] [--svg PATH] [--quick] [--only S]\n");
      exit(2);
    }
  }
}

static int bench_section(const bench_args *a, const char *name) {
  return a->only == NULL || strcmp(a->only, name) == 0;
}

int main(int argc, char **argv) {
  static bench_report r;
  static bench_runs b;
  bench_args a;
  bench_parse(argc, argv, &a);
  bench_machine_read(&r.machine);
  uint64_t t0 = chorus_clock_now_us();
  for (int i = 0; i < a.rounds && bench_section(&a, "groups"); i++) bench_group_round(&b, &a.load, i == 0);
  for (int i = 0; i < a.rounds && bench_section(&a, "pairs"); i++) bench_pair_round(&b, &a.load, i == 0);
  if (bench_section(&a, "groups")) bench_group_rows(&r, &b);
  if (bench_section(&a, "pairs")) bench_pair_rows(&r, &b, &a.load);
  if (bench_section(&a, "groups")) {
    bench_mem_rows(&r, &b);
    bench_header_rows(&r, &b.tot_s, BENCH_SMALL_BYTES);
  }
  if (bench_section(&a, "sim")) bench_sim(&r, a.chorus);
  r.seconds = (double)(chorus_clock_now_us() - t0) / 1e6;
  r.rounds = a.rounds;
  bench_report_print(&r);
  int rc = 0;
  if (strcmp(a.md, "-") != 0) rc |= bench_report_markdown(&r, a.md);
  if (strcmp(a.svg, "-") != 0) rc |= bench_report_svg(&r, a.svg);
  if (!bench_complete) printf("\nbench: WARNING: not every chorus message was delivered\n");
  return bench_complete && rc == 0 ? 0 : 1;
}
