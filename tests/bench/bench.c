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
 *   --quick   a tenth of the load, for trying the benchmark out
 *   --only S  one section (groups, pairs, sim), for profiling
 *
 * Phases, in order: the 10-node groups first (each node is a forked
 * process, and the parent is smallest then), then the two-node runs, then
 * the simulator. Exit status 1 if a chorus run lost a message.
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

/* ---- 10-node groups ----------------------------------------------------- */

static bench_row *bench_mesh(bench_report *r, size_t msgs, size_t size, bench_group_result *g) {
  char name[BENCH_TEXT_BYTES];
  snprintf(name, sizeof name, "raw UDP mesh, %d nodes, %zu B", BENCH_NODES, size);
  *g = bench_group_run(BENCH_NODES, msgs, size, bench_raw_mesh_node, NULL);
  bench_row *row = bench_report_add(r, name, "deliveries/s");
  row->raw = row->chart = 1;
  row->value = bench_group_rate(g);
  row->p50_us = g->latency.p50_us;
  row->p99_us = g->latency.p99_us;
  bench_measured(row, g->delivered, g->expected, "received");
  return row;
}

static bench_row *bench_room(bench_report *r, const bench_row *mesh, enum chorus_order order,
                             size_t msgs, size_t size, bench_group_result *g) {
  char name[BENCH_TEXT_BYTES];
  bench_room_arg arg = {order};
  snprintf(name, sizeof name, "chorus room %s, %d peers, %zu B",
           order == CHORUS_ORDER_TOTAL ? "total" : "causal", BENCH_NODES, size);
  *g = bench_group_run(BENCH_NODES, msgs, size, bench_room_node, &arg);
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

/* One memory row: a chorus peer's figure beside the raw node's. */
static void bench_mem_row(bench_report *r, const char *name, uint64_t kib, uint64_t raw_kib) {
  bench_row *row = bench_report_add(r, name, "KiB");
  row->value = (double)kib;
  if (raw_kib > 0) row->ratio = row->value / (double)raw_kib;
  snprintf(row->baseline, sizeof row->baseline, "raw UDP mesh node process (%llu KiB)",
           (unsigned long long)raw_kib);
}

static uint64_t bench_max(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* Loaded figures: the larger of the 64 B and the 1 KiB room runs. */
static void bench_mem_rows(bench_report *r, const bench_group_result *raw,
                           const bench_group_result *small, const bench_group_result *large) {
  const bench_mem *s = &small->loaded_max, *l = &large->loaded_max, *w = &raw->loaded_max;
  bench_mem_row(r, "memory per peer, idle (VmRSS)", small->idle_max.rss_kib, raw->idle_max.rss_kib);
  bench_mem_row(r, "memory per peer, 10-peer load (VmRSS)", bench_max(s->rss_kib, l->rss_kib),
                w->rss_kib);
  bench_mem_row(r, "memory per peer, peak (VmHWM)", bench_max(s->hwm_kib, l->hwm_kib), w->hwm_kib);
  bench_mem_row(r, "memory per peer, private, loaded (RssAnon)",
                bench_max(s->anon_kib, l->anon_kib), w->anon_kib);
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

/* The group runs' figures, for the memory and header rows. */
typedef struct bench_groups_out {
  bench_group_result raw_s, raw_l, tot_s, tot_l, cau_s;
} bench_groups_out;

static void bench_groups(bench_report *r, const bench_load *ld, bench_groups_out *o) {
  const bench_row *mesh_s = bench_mesh(r, ld->group_small, BENCH_SMALL_BYTES, &o->raw_s);
  const bench_row *mesh_l = bench_mesh(r, ld->group_large, BENCH_LARGE_BYTES, &o->raw_l);
  const bench_row *total =
      bench_room(r, mesh_s, CHORUS_ORDER_TOTAL, ld->group_small, BENCH_SMALL_BYTES, &o->tot_s);
  bench_room(r, mesh_l, CHORUS_ORDER_TOTAL, ld->group_large, BENCH_LARGE_BYTES, &o->tot_l);
  const bench_row *causal =
      bench_room(r, mesh_s, CHORUS_ORDER_CAUSAL, ld->group_small, BENCH_SMALL_BYTES, &o->cau_s);
  bench_row *row = bench_report_add(r, "room total / causal order, 10 peers, 64 B", "ratio");
  if (causal->value > 0) row->value = total->value / causal->value;
  if (causal->p50_us > 0) row->p50_us = total->p50_us, row->p99_us = total->p99_us;
  snprintf(row->baseline, sizeof row->baseline, "deliveries/s of total over causal");
}

/* ---- two nodes ---------------------------------------------------------- */

static bench_row *bench_blast(bench_report *r, size_t count, size_t size) {
  char name[BENCH_TEXT_BYTES];
  size_t got = 0;
  snprintf(name, sizeof name, "raw UDP blast, 2 nodes, %zu B", size);
  bench_row *row = bench_report_add(r, name, "datagrams/s");
  row->raw = row->chart = 1;
  row->value = bench_raw_blast(count, size, &got);
  bench_measured(row, got, count, "received");
  return row;
}

static void bench_pair_row(bench_row *row, const bench_row *base, const bench_pair_result *p,
                           int latency_ratio) {
  row->value = p->rate > 0 ? p->rate : -1;
  row->p50_us = p->latency.p50_us;
  row->p99_us = p->latency.p99_us;
  if (latency_ratio) bench_against(row, base, row->p50_us, base->p50_us);
  else bench_against(row, base, row->value, base->value);
  bench_measured(row, p->got, p->expected, "delivered");
  if (p->got != p->expected) bench_complete = 0;
}

static void bench_pairs(bench_report *r, const bench_load *ld) {
  const bench_row *blast_s = bench_blast(r, ld->blast, BENCH_SMALL_BYTES);
  const bench_row *blast_l = bench_blast(r, ld->blast, BENCH_LARGE_BYTES);
  size_t got = 0;
  bench_row *pp = bench_report_add(r, "raw UDP ping-pong, 64 B (RTT/2)", "us");
  bench_quant q = bench_raw_pingpong(ld->pings, BENCH_SMALL_BYTES, &got);
  pp->raw = 1;
  pp->p50_us = q.p50_us;
  pp->p99_us = q.p99_us;
  bench_measured(pp, got, ld->pings, "answered");
  bench_pair_result p = bench_pair_pipelined(ld->pair, BENCH_SMALL_BYTES);
  bench_row *row = bench_report_add(r, "chorus private, 2 peers, 64 B, pipelined", "msg/s");
  row->chart = 1;
  bench_pair_row(row, blast_s, &p, 0);
  p = bench_pair_pipelined(ld->pair, BENCH_LARGE_BYTES);
  row = bench_report_add(r, "chorus private, 2 peers, 1024 B, pipelined", "msg/s");
  row->chart = 1;
  bench_pair_row(row, blast_l, &p, 0);
  p = bench_pair_unloaded(ld->unloaded, BENCH_SMALL_BYTES);
  row = bench_report_add(r, "chorus private, 2 peers, 64 B, one at a time", "us");
  bench_pair_row(row, pp, &p, 1);
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
  for (int i = 1; i < argc; i++) {
    int more = i + 1 < argc;
    if (strcmp(argv[i], "--quick") == 0) {
      bench_load quick = {200, 50, 20000, 500, 2000, 200};
      a->load = quick;
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
  static bench_groups_out g;
  bench_args a;
  bench_parse(argc, argv, &a);
  bench_machine_read(&r.machine);
  uint64_t t0 = chorus_clock_now_us();
  if (bench_section(&a, "groups")) bench_groups(&r, &a.load, &g);
  if (bench_section(&a, "pairs")) bench_pairs(&r, &a.load);
  if (bench_section(&a, "groups")) {
    bench_mem_rows(&r, &g.raw_s, &g.tot_s, &g.tot_l);
    bench_header_rows(&r, &g.tot_s, BENCH_SMALL_BYTES);
  }
  if (bench_section(&a, "sim")) bench_sim(&r, a.chorus);
  r.seconds = (double)(chorus_clock_now_us() - t0) / 1e6;
  bench_report_print(&r);
  int rc = 0;
  if (strcmp(a.md, "-") != 0) rc |= bench_report_markdown(&r, a.md);
  if (strcmp(a.svg, "-") != 0) rc |= bench_report_svg(&r, a.svg);
  if (!bench_complete) printf("\nbench: WARNING: not every chorus message was delivered\n");
  return bench_complete && rc == 0 ? 0 : 1;
}
