/*
 * `chorus sim --servers N ...`: the simulation of a replicated server
 * cluster (sim/cluster.h), one summary line per seed, failover quantiles
 * over all seeds. cli/cmd_sim.c hands the command line over when --servers
 * is present.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "commands.h"

static const char simcl_usage[] =
    "usage: chorus sim --servers N [--seed S | --seeds A..B] [--duration SECONDS]\n"
    "                  [--crashes K] [--partitions K] [--loss P]\n"
    "                  [--delay MIN_MS:MAX_MS] [--trace FILE] [--quiet]\n"
    "\n"
    "  --servers N       replicas, 1..9 (heartbeats every 100 ms)\n"
    "  --duration S      workload and faults, 1..3600 s (default 20)\n"
    "  --crashes K       leader crashes (kill -9, restart 1-3 s later), 0..16\n"
    "                    (default 2)\n"
    "  --partitions K    splits of the replicas for 1-3 s, 0..16 (default 1)\n"
    "  --loss P          datagram loss probability, 0..0.5 (default 0.01)\n"
    "  --delay MIN:MAX   one-way delay in ms (default 1:10)\n"
    "Checks: one write-acknowledging leader per epoch, no acknowledged write\n"
    "lost, offline messages exactly once and in each sender's order; prints\n"
    "failover times (leader crash to a new leader serving). Exit 1 on a\n"
    "violation, with the command that replays it.\n";

typedef struct simcl_args {
  chorus_simcl_config cfg;
  uint64_t first, last;
  int quiet, range;
  const char *trace;
  char given[512]; /* the options, to print the replay command */
} simcl_args;

static int simcl_bad(const char *what, const char *v) {
  fprintf(stderr, "chorus sim: %s%s%s\n%s", what, v ? " " : "", v ? v : "", simcl_usage);
  return 2;
}

static int simcl_num(const char *v, double lo, double hi, double *out) {
  char *end;
  double d = strtod(v, &end);
  if (end == v || *end != '\0' || !(d >= lo && d <= hi)) return 0;
  *out = d;
  return 1;
}

static int simcl_opt(simcl_args *a, const char *o, const char *v) {
  double d;
  unsigned long long x, y;
  char tail;
  if (!strcmp(o, "--servers") && simcl_num(v, 1, 9, &d)) a->cfg.servers = (size_t)d;
  else if (!strcmp(o, "--duration") && simcl_num(v, 1, 3600, &d))
    a->cfg.duration_us = (uint64_t)(d * 1e6);
  else if (!strcmp(o, "--crashes") && simcl_num(v, 0, 16, &d)) a->cfg.crashes = (size_t)d;
  else if (!strcmp(o, "--partitions") && simcl_num(v, 0, 16, &d)) a->cfg.partitions = (size_t)d;
  else if (!strcmp(o, "--loss") && simcl_num(v, 0, 0.5, &d)) a->cfg.loss_ppm = (uint32_t)(d * 1e6);
  else if (!strcmp(o, "--delay") && sscanf(v, "%llu:%llu%c", &x, &y, &tail) == 2 && x <= y &&
           y <= 60000) {
    a->cfg.delay_min_us = (uint32_t)(x * 1000);
    a->cfg.delay_max_us = (uint32_t)(y * 1000);
  } else if (!strcmp(o, "--seed") && sscanf(v, "%llu%c", &x, &tail) == 1) {
    a->first = a->last = x;
    return 1;
  } else if (!strcmp(o, "--seeds") && sscanf(v, "%llu..%llu%c", &x, &y, &tail) == 2 && x <= y) {
    a->first = x;
    a->last = y;
    a->range = 1;
    return 1;
  } else if (!strcmp(o, "--trace")) {
    a->trace = v;
    return 1;
  } else {
    return 0;
  }
  size_t n = strlen(a->given);
  snprintf(a->given + n, sizeof a->given - n, " %s %s", o, v);
  return 1;
}

static int simcl_parse(int argc, char **argv, simcl_args *a) {
  memset(a, 0, sizeof *a);
  chorus_simcl_config_default(&a->cfg);
  a->first = a->last = 1;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help")) return -1;
    if (!strcmp(argv[i], "--quiet")) {
      a->quiet = 1;
      continue;
    }
    if (i + 1 >= argc) return simcl_bad("missing value for", argv[i]);
    if (!simcl_opt(a, argv[i], argv[i + 1])) return simcl_bad("bad option or value:", argv[i]);
    i++;
  }
  return 0;
}

static int simcl_cmp(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return a < b ? -1 : a > b;
}

/* q-th quantile (0..1) of sorted v[0..n), nearest rank. */
static uint64_t simcl_q(const uint64_t *v, size_t n, double q) {
  if (n == 0) return 0;
  size_t k = (size_t)(q * (double)n + 0.999999);
  return v[k == 0 ? 0 : k - 1];
}

static void simcl_line(const simcl_args *a, uint64_t seed, const chorus_simcl_result *r) {
  printf("seed=%llu servers=%zu hash=%016llx signups=%llu/%llu stores=%llu fetched=%llu "
         "crashes=%llu partitions=%llu failovers=%zu",
         (unsigned long long)seed, a->cfg.servers, (unsigned long long)r->hash,
         (unsigned long long)r->signups_acked, (unsigned long long)r->signups_sent,
         (unsigned long long)r->stores_acked, (unsigned long long)r->fetched,
         (unsigned long long)r->crashes, (unsigned long long)r->partitions, r->failovers);
  for (size_t i = 0; i < r->failovers; i++)
    printf("%s%llu", i ? "," : " failover_ms=", (unsigned long long)(r->failover_us[i] / 1000));
  printf(" verdict=%s\n", chorus_simcl_verdict_name((int)r->verdict));
}

int chorus_cmd_sim_cluster(int argc, char **argv) {
  simcl_args a;
  int rc = simcl_parse(argc, argv, &a);
  if (rc == -1) {
    fputs(simcl_usage, stdout);
    return 0;
  }
  if (rc) return rc;
  FILE *trace = a.trace ? (strcmp(a.trace, "-") ? fopen(a.trace, "w") : stdout) : NULL;
  if (a.trace && trace == NULL) return simcl_bad("cannot write", a.trace);
  a.cfg.trace = trace;
  size_t cap = (size_t)(a.last - a.first + 1) * CHORUS_SIMCL_FAILOVERS_MAX, nf = 0;
  uint64_t *fo = malloc((cap < 1 << 20 ? cap : 1 << 20) * sizeof *fo);
  uint64_t passed = 0, failed = 0;
  for (uint64_t seed = a.first; fo != NULL; seed++) {
    chorus_simcl_result r;
    a.cfg.seed = seed;
    if (chorus_simcl_run(&a.cfg, &r) != 0) {
      fprintf(stderr, "chorus sim: cannot run seed %llu\n", (unsigned long long)seed);
      failed++;
      break;
    }
    int ok = r.verdict == CHORUS_SIMCL_OK;
    ok ? passed++ : failed++;
    if (!ok || !a.quiet) simcl_line(&a, seed, &r);
    if (!ok)
      printf("  violated: %s, first %s\n  replay: chorus sim --seed %llu%s\n",
             chorus_simcl_verdict_name((int)r.verdict), r.first_bad,
             (unsigned long long)seed, a.given);
    for (size_t i = 0; i < r.failovers && nf < (1u << 20); i++) fo[nf++] = r.failover_us[i];
    if (seed == a.last) break;
  }
  if (fo && (a.range || a.quiet)) {
    qsort(fo, nf, sizeof *fo, simcl_cmp);
    printf("servers=%zu seeds=%llu passed=%llu failed=%llu failovers=%zu failover_ms p50=%llu "
           "p99=%llu max=%llu\n",
           a.cfg.servers, (unsigned long long)(passed + failed), (unsigned long long)passed,
           (unsigned long long)failed, nf, (unsigned long long)(simcl_q(fo, nf, 0.5) / 1000),
           (unsigned long long)(simcl_q(fo, nf, 0.99) / 1000),
           (unsigned long long)(nf ? fo[nf - 1] / 1000 : 0));
  }
  free(fo);
  if (trace && trace != stdout) fclose(trace);
  return failed ? 1 : 0;
}
