/*
 * chorus sim: command-line front end of the deterministic simulator
 * (sim/sim.h). Parses the options, runs one or many seeds, prints one
 * summary line per seed and, on a violated property, the first offending
 * event and the exact command that replays it.
 *
 * Exit codes: 0 every seed passed, 1 a property failed or the simulator
 * stopped with an error (for --seeds, at the first failing seed), 2 bad
 * usage.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "sim.h"

#define SIM_DURATION_S_MAX 100000.0
#define SIM_RATE_MAX 1000000.0
#define SIM_DELAY_MS_MAX 60000.0
#define SIM_DETECT_BOUND_MS_MAX 3600000u
#define SIM_HISTORY_MAX 10000u

static const char sim_usage[] =
    "usage: chorus sim [--seed N | --seeds A..B] [--swarm] [--nodes N]\n"
    "                  [--duration S] [--rate MSGS_PER_S] [--private P]\n"
    "                  [--loss P] [--dup P] [--reorder P] [--delay MIN_MS:MAX_MS]\n"
    "                  [--order fifo|causal|total|safe|mixed] [--crashes K]\n"
    "                  [--crash-mode M] [--crash-victim V] [--detect MIN_MS:MAX_MS]\n"
    "                  [--fd off|default|fast] [--detect-bound MS] [--restarts K]\n"
    "                  [--downtime MIN_MS:MAX_MS] [--history N] [--partitions K]\n"
    "                  [--via-server] [--leaves K] [--server-crashes K]\n"
    "                  [--msg-max BYTES] [--trace FILE] [--quiet] [--stats]\n"
    "                  [--keep-going] [--pool SLOTS]\n"
    "                  [--mutate KIND]\n"
    "\n"
    "Deterministic simulation of N chorus peers (n0..n9) in virtual time.\n"
    "Safety phase: for --duration seconds a random live node sends a room\n"
    "message or (--private share) a private one at random times (--rate per\n"
    "second in total) while the network loses, duplicates and reorders\n"
    "datagrams and --crashes nodes crash, some in the middle of a broadcast\n"
    "(--restarts of them boot again later with a new epoch); survivors are\n"
    "told after a detection delay (--detect), or with --fd the peers' own\n"
    "failure detectors must find the crashes. Heal phase: faults stop; every\n"
    "message must reach every live receiver within 30 s of simulated time.\n"
    "Checked: integrity, exactly-once, FIFO per sender, each room message's\n"
    "order (causal, same relative order everywhere for total and safe, safe\n"
    "only once all of the view hold it), liveness, agreement (a crashed\n"
    "sender's message: delivered by all survivors or by none), and membership:\n"
    "no node that is up is removed, every crash is removed by every survivor\n"
    "(within the bound with --fd), survivors install the same views, and a\n"
    "restarted node catches up the history it missed before it joins.\n"
    "\n"
    "  --seed N          seed of every random choice (default 1)\n"
    "  --seeds A..B      run seeds A to B, stop at the first failure\n"
    "  --swarm           draw nodes, delays, faults, rate, private share, order\n"
    "                    crashes and partitions from each seed; options given\n"
    "                    pin a value\n"
    "  --nodes N         2..10 nodes (default 5)\n"
    "  --duration S      seconds of workload (default 10)\n"
    "  --rate R          messages per second, all nodes together (default 50)\n"
    "  --private P       share of private messages, 0..1 (default 0.2; 0 for\n"
    "                    pure broadcast, so that msgs/op counts room traffic only)\n"
    "  --loss P          probability a datagram is lost, 0..1 (default 0)\n"
    "  --dup P           probability a datagram is duplicated, 0..1 (default 0)\n"
    "  --reorder P       probability a datagram is held back, 0..1 (default 0)\n"
    "  --delay MIN:MAX   one-way delay range in ms (default 1:10)\n"
    "  --order MODE      order of room messages: fifo|causal|total|safe, or\n"
    "                    mixed: each message draws one of the four (total)\n"
    "  --crashes K       nodes that crash for good, 0..nodes-2 (default 0)\n"
    "  --crash-mode M    drawn|clean|mid-send|mid-output (default drawn): crash\n"
    "                    between events, right after submitting a room message\n"
    "                    with only its first datagrams out, or in the middle of\n"
    "                    the next burst of output\n"
    "  --crash-victim V  drawn|sequencer (default drawn: half the crashes hit\n"
    "                    the sequencer, the lowest live node)\n"
    ;
/* The usage goes on here (one literal would be too long for ISO C). */
static const char sim_usage_more[] =
    "  --detect MIN:MAX  crash detection delay per survivor in ms (300:1500),\n"
    "                    with --fd off: the simulator removes crashed nodes\n"
    "  --fd MODE         off|default|fast (default off): the peers' failure\n"
    "                    detector (SWIM); the simulator removes nothing\n"
    "  --detect-bound MS crash-to-removal bound checked with --fd, per\n"
    "                    survivor (default 2500 fast, 6000 default, plus 8\n"
    "                    times the largest one-way delay)\n"
    "  --restarts K      that many of the crashes restart, 0..crashes (0)\n"
    "  --downtime MIN:MAX  restart downtime range in ms (default 500:8000)\n"
    "  --history N       room messages the peers keep for catch-up (100)\n"
    "  --partitions K    partition episodes, 0..8 (default 0): the nodes split\n"
    "                    in two sides (or one side's datagrams to the other\n"
    "                    are dropped) for 0.2..8 s; with --fd the views must\n"
    "                    merge again after the heal and each side deliver the\n"
    "                    other's messages in one order\n"
    "  --via-server      the peers join through a server node (core/server):\n"
    "                    each logs in, joins the room and gets a seat (its\n"
    "                    rank), staggered, before its core starts; members\n"
    "                    learn newcomers from the server every second and the\n"
    "                    coordinator admits them; a restarted node joins again\n"
    "                    (same seat). Implies --fd fast unless --fd is given.\n"
    "                    Also checked: seats, and at the end the server's room\n"
    "                    list against every view\n"
    "  --leaves K        via server: K nodes leave gracefully (0..8)\n"
    "  --server-crashes K  via server: the server crashes K times (0..4) and\n"
    "                    restarts from its snapshot 0.3..3 s later\n"
    "  --msg-max BYTES   the cores' message limit, 1..65536 (default 4096);\n"
    "                    messages are 1..160 bytes, and 10 % are longer than\n"
    "                    one datagram when the limit allows (1200 or less: none)\n"
    "  --trace FILE      write the event trace to FILE ('-' for stdout)\n"
    "  --quiet           print only failures and the final line\n"
    "  --stats           per-seed counters and simulator speed (the speed line\n"
    "                    is also printed for --seeds)\n"
    "  --keep-going      with --seeds, run every seed even after a failure\n"
    "  --pool SLOTS      datagrams in flight at most (default 65536)\n"
    "  --mutate KIND     self-test: corrupt|duplicate|reorder|lose|causal|total|\n"
    "                    safe|agreement|view|false-removal|catch-up|merge: a\n"
    "                    deliberately wrong delivery or view change before the\n"
    "                    checker sees it (the run must fail)\n"
    "\n"
    "One line per seed: seed (and the drawn options with --swarm), trace hash,\n"
    "messages sent (room)/delivered/refused/skipped, msgs/op (datagrams per\n"
    "room message), latency p50/p99/max in ms at the other members per order\n"
    "and for private messages, datagrams lost/duplicated/reordered, crashes\n"
    "(node@time:mode:in-flight fate, +downtime if it restarted) and agreement\n"
    "counts (crashed senders' messages delivered by all survivors/by none),\n"
    "with --fd or --restarts the detection time p50/max (crash to each\n"
    "survivor's removal), false removals, view changes and the rejoin time\n"
    "p50/max (restart to its own JOIN), verdict. The closing line of --seeds\n"
    "adds the same over all seeds and false removals per simulated hour.\n"
    "Exit 0 if all passed, 1 on a violation (with the command that replays\n"
    "it), 2 on bad usage.\n";

/* Options that change the run, kept as typed so the replay command is exact. */
enum sim_opt {
  OPT_NODES, OPT_DURATION, OPT_RATE, OPT_LOSS, OPT_DUP, OPT_REORDER, OPT_DELAY,
  OPT_ORDER, OPT_POOL, OPT_MUTATE, OPT_PRIVATE, OPT_CRASHES, OPT_CRASH_MODE,
  OPT_CRASH_VICTIM, OPT_DETECT, OPT_MSG_MAX, OPT_FD, OPT_DETECT_BOUND, OPT_RESTARTS,
  OPT_DOWNTIME, OPT_HISTORY, OPT_PARTITIONS, OPT_LEAVES, OPT_SERVER_CRASHES, OPT_COUNT
};
static const char *const OPT_NAMES[OPT_COUNT] = {
    "--nodes", "--duration", "--rate", "--loss", "--dup", "--reorder",
    "--delay", "--order", "--pool", "--mutate", "--private", "--crashes",
    "--crash-mode", "--crash-victim", "--detect", "--msg-max", "--fd",
    "--detect-bound", "--restarts", "--downtime", "--history", "--partitions",
    "--leaves", "--server-crashes"};
/* What each option accepts, for the one-line reason of a usage error. */
static const char *const OPT_WANTS[OPT_COUNT] = {
    "a node count 2..10", "seconds > 0 and <= 100000", "messages per second, 0.001..1000000",
    "a probability 0..1", "a probability 0..1", "a probability 0..1",
    "MIN_MS:MAX_MS with 0 <= MIN <= MAX <= 60000", "fifo, causal, total, safe or mixed",
    "a slot count 1..1048576",
    ("corrupt, duplicate, reorder, lose, causal, total, safe, agreement, view, "
     "false-removal, catch-up or merge"),
    "a probability 0..1", "a crash count 0..8 (at most nodes-2)",
    "drawn, clean, mid-send or mid-output", "drawn or sequencer",
    "MIN_MS:MAX_MS with 0 <= MIN <= MAX <= 60000", "a byte count 1..65536",
    "off, default or fast", "milliseconds 0..3600000 (0: by --fd profile)",
    "a restart count 0..8 (at most --crashes)",
    "MIN_MS:MAX_MS with 0 <= MIN <= MAX <= 60000", "a message count 0..10000",
    "a partition count 0..8", "a leave count 0..8 (with --via-server)",
    "a server crash count 0..4 (with --via-server)"};
/* Options a swarm run draws (and prints, so that they replay it). */
static const int SWARM_DRAWN[] = {OPT_NODES, OPT_DELAY, OPT_LOSS, OPT_DUP, OPT_REORDER,
                                  OPT_RATE, OPT_PRIVATE, OPT_ORDER, OPT_CRASHES,
                                  OPT_PARTITIONS};
#define SWARM_DRAWN_COUNT (sizeof SWARM_DRAWN / sizeof *SWARM_DRAWN)
#define OPTS_TEXT_BYTES 320 /* the drawn options as text */

typedef struct sim_args {
  chorus_sim_config cfg;
  uint64_t seed_first, seed_last;
  const char *given[OPT_COUNT]; /* value as typed, NULL if defaulted */
  const char *trace_path;
  int quiet, stats, swarm, keep_going;
  int range; /* --seeds given: the closing line is printed even for A..A */
} sim_args;

static void print_usage(FILE *f) {
  fputs(sim_usage, f);
  fputs(sim_usage_more, f);
}

static int usage_error(const char *what, const char *arg) {
  fprintf(stderr, "chorus sim: %s%s%s%s\n", what, arg ? " '" : "", arg ? arg : "",
          arg ? "'" : "");
  print_usage(stderr);
  return 2;
}

/* ---- number parsing: whole string, no sign, no spaces ------------------ */

static int starts_like_number(const char *s) {
  return (*s >= '0' && *s <= '9') || *s == '.';
}

static int parse_u64(const char *s, uint64_t *out) {
  if (!(*s >= '0' && *s <= '9')) return 0;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (*end != '\0' || errno) return 0;
  *out = (uint64_t)v;
  return 1;
}

static int parse_double(const char *s, double lo, double hi, double *out) {
  if (!starts_like_number(s)) return 0;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (*end != '\0' || errno || !(v >= lo && v <= hi)) return 0;
  *out = v;
  return 1;
}

/* Probability P in [0, 1] to parts per million. */
static int parse_ppm(const char *s, uint32_t *ppm) {
  double v;
  if (!parse_double(s, 0.0, 1.0, &v)) return 0;
  *ppm = (uint32_t)(v * 1e6 + 0.5);
  return 1;
}

/* "MIN:MAX" in milliseconds (decimals allowed) to microseconds. */
static int parse_ms_range(const char *s, uint32_t *min_us, uint32_t *max_us) {
  char buf[64];
  const char *colon = strchr(s, ':');
  size_t n = colon ? (size_t)(colon - s) : 0;
  if (!colon || n == 0 || n >= sizeof buf) return 0;
  memcpy(buf, s, n);
  buf[n] = '\0';
  double lo, hi;
  if (!parse_double(buf, 0.0, SIM_DELAY_MS_MAX, &lo) ||
      !parse_double(colon + 1, 0.0, SIM_DELAY_MS_MAX, &hi) || lo > hi)
    return 0;
  *min_us = (uint32_t)(lo * 1000.0 + 0.5);
  *max_us = (uint32_t)(hi * 1000.0 + 0.5);
  return 1;
}

/* "A..B" with A <= B. */
static int parse_seed_range(const char *s, uint64_t *first, uint64_t *last) {
  char buf[32];
  const char *dots = strstr(s, "..");
  size_t n = dots ? (size_t)(dots - s) : 0;
  if (!dots || n == 0 || n >= sizeof buf) return 0;
  memcpy(buf, s, n);
  buf[n] = '\0';
  return parse_u64(buf, first) && parse_u64(dots + 2, last) && *first <= *last;
}

/* ---- options ---------------------------------------------------------- */

static int opt_index(const char *name) {
  for (int i = 0; i < OPT_COUNT; i++)
    if (strcmp(name, OPT_NAMES[i]) == 0) return i;
  return -1;
}

static int apply_more_opt(chorus_sim_config *c, int opt, const char *v);

/* Applies one run-changing option to *c; returns 1 if the value is valid. */
static int apply_opt(chorus_sim_config *c, int opt, const char *v) {
  uint64_t u;
  double d;
  int m;
  switch (opt) {
  case OPT_NODES:
    if (!parse_u64(v, &u) || u < 2 || u > CHORUS_MEMBERS_MAX) return 0;
    c->nodes = (size_t)u;
    return 1;
  case OPT_DURATION:
    if (!parse_double(v, 1e-6, SIM_DURATION_S_MAX, &d)) return 0;
    c->duration_us = (uint64_t)(d * 1e6 + 0.5);
    return 1;
  case OPT_RATE:
    if (!parse_double(v, 1e-3, SIM_RATE_MAX, &d)) return 0;
    c->send_interval_us = (uint64_t)(1e6 / d + 0.5);
    if (c->send_interval_us == 0) c->send_interval_us = 1;
    return 1;
  case OPT_LOSS:
    return parse_ppm(v, &c->link.loss_ppm);
  case OPT_DUP:
    return parse_ppm(v, &c->link.dup_ppm);
  case OPT_REORDER:
    return parse_ppm(v, &c->link.reorder_ppm);
  case OPT_DELAY:
    return parse_ms_range(v, &c->link.delay_min_us, &c->link.delay_max_us);
  case OPT_DETECT:
    return parse_ms_range(v, &c->detect_min_us, &c->detect_max_us);
  case OPT_PRIVATE:
    return parse_ppm(v, &c->private_ppm);
  case OPT_ORDER:
    c->order_mixed = strcmp(v, "mixed") == 0;
    m = c->order_mixed ? CHORUS_ORDER_TOTAL : chorus_sim_order_parse(v);
    if (m < 0) return 0;
    c->order = (enum chorus_order)m;
    return 1;
  case OPT_CRASHES:
    if (!parse_u64(v, &u) || u > CHORUS_MEMBERS_MAX - 2) return 0;
    c->crashes = (size_t)u;
    return 1;
  case OPT_CRASH_MODE:
    m = chorus_sim_crash_mode_parse(v);
    if (m < 0) return 0;
    c->crash_mode = (enum chorus_sim_crash_mode)m;
    return 1;
  case OPT_CRASH_VICTIM:
    m = chorus_sim_victim_parse(v);
    if (m < 0) return 0;
    c->crash_victim = (enum chorus_sim_victim)m;
    return 1;
  case OPT_MSG_MAX:
    if (!parse_u64(v, &u) || u < 1 || u > CHORUS_MSG_BYTES_MAX) return 0;
    c->msg_bytes_max = (size_t)u;
    return 1;
  default:
    return apply_more_opt(c, opt, v);
  }
}

/* The detector, restart and simulator options (apply_opt goes on here);
 * returns 1 if the value is valid. */
static int apply_more_opt(chorus_sim_config *c, int opt, const char *v) {
  uint64_t u;
  int m;
  switch (opt) {
  case OPT_FD:
    m = chorus_sim_fd_parse(v);
    if (m < 0) return 0;
    c->fd_mode = (enum chorus_fd_mode)m;
    return 1;
  case OPT_DETECT_BOUND:
    if (!parse_u64(v, &u) || u > SIM_DETECT_BOUND_MS_MAX) return 0;
    c->detect_bound_us = u * 1000;
    return 1;
  case OPT_RESTARTS:
    if (!parse_u64(v, &u) || u > CHORUS_MEMBERS_MAX - 2) return 0;
    c->restarts = (size_t)u;
    return 1;
  case OPT_DOWNTIME:
    return parse_ms_range(v, &c->down_min_us, &c->down_max_us);
  case OPT_HISTORY:
    if (!parse_u64(v, &u) || u > SIM_HISTORY_MAX) return 0;
    c->history_msgs = (size_t)u;
    return 1;
  case OPT_PARTITIONS:
    if (!parse_u64(v, &u) || u > CHORUS_SIM_PARTITIONS_MAX) return 0;
    c->partitions = (size_t)u;
    return 1;
  case OPT_LEAVES:
    if (!parse_u64(v, &u) || u > CHORUS_SIM_LEAVES_MAX) return 0;
    c->leaves = (size_t)u;
    return 1;
  case OPT_SERVER_CRASHES:
    if (!parse_u64(v, &u) || u > CHORUS_SIM_SERVER_CRASHES_MAX) return 0;
    c->server_crashes = (size_t)u;
    return 1;
  case OPT_POOL:
    if (!parse_u64(v, &u) || u < 1 || u > CHORUS_NET_POOL_SLOTS_MAX) return 0;
    c->pool_slots = (size_t)u;
    return 1;
  case OPT_MUTATE:
    m = chorus_sim_mutate_parse(v);
    if (m <= 0) return 0;
    c->mutate = (enum chorus_sim_mutate)m;
    return 1;
  default:
    return 0;
  }
}

/* Options that take no value, and those that do not change the run.
 * Returns 1 if handled, 0 if unknown, 2 on a usage error (printed). */
static int apply_other(sim_args *a, const char *name, const char *v, int *used_value) {
  *used_value = 0;
  if (strcmp(name, "--quiet") == 0) return a->quiet = 1;
  if (strcmp(name, "--stats") == 0) return a->stats = 1;
  if (strcmp(name, "--swarm") == 0) return a->swarm = 1;
  if (strcmp(name, "--keep-going") == 0) return a->keep_going = 1;
  if (strcmp(name, "--via-server") == 0) return a->cfg.via_server = 1;
  int is_seed = strcmp(name, "--seed") == 0, is_seeds = strcmp(name, "--seeds") == 0;
  int is_trace = strcmp(name, "--trace") == 0;
  if (!is_seed && !is_seeds && !is_trace) return 0;
  if (!v) return usage_error("missing value for", name);
  *used_value = 1;
  if (is_trace) {
    a->trace_path = v;
    return 1;
  }
  if (is_seed && parse_u64(v, &a->seed_first)) {
    a->seed_last = a->seed_first;
    return 1;
  }
  if (is_seeds && parse_seed_range(v, &a->seed_first, &a->seed_last)) return a->range = 1;
  return usage_error(is_seed ? "bad seed" : "bad seed range (want A..B, A <= B)", v);
}

static int parse_args(int argc, char **argv, sim_args *a) {
  memset(a, 0, sizeof *a);
  chorus_sim_config_default(&a->cfg);
  a->seed_first = a->seed_last = a->cfg.seed;
  int seen_seed = 0;
  for (int i = 1; i < argc; i++) {
    const char *name = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    int opt = opt_index(name), used = 0;
    if (opt >= 0) {
      if (!v) return usage_error("missing value for", name);
      if (!apply_opt(&a->cfg, opt, v)) {
        fprintf(stderr, "chorus sim: %s wants %s, got '%s'\n", name,
                OPT_WANTS[opt], v);
        print_usage(stderr);
        return 2;
      }
      a->given[opt] = v;
      i++;
      continue;
    }
    if (strcmp(name, "--seed") == 0 || strcmp(name, "--seeds") == 0) {
      if (seen_seed++) return usage_error("give --seed or --seeds once", NULL);
    }
    int rc = apply_other(a, name, v, &used);
    if (rc == 0) return usage_error("unknown option", name);
    if (rc == 2) return 2;
    i += used;
  }
  if (chorus_sim_messages_max(&a->cfg) > CHORUS_CHECK_MESSAGES_MAX)
    return usage_error("--rate times --duration is too large", NULL);
  /* With --swarm the node count is drawn and made room for the crashes. */
  if (a->cfg.crashes + 2 > a->cfg.nodes && (!a->swarm || a->given[OPT_NODES]))
    return usage_error("--crashes must leave at least two nodes up", NULL);
  if ((a->cfg.leaves || a->cfg.server_crashes) && !a->cfg.via_server)
    return usage_error("--leaves and --server-crashes need --via-server", NULL);
  /* Through the server the peers detect crashes themselves, as the CLI's. */
  if (a->cfg.via_server && !a->given[OPT_FD]) a->cfg.fd_mode = CHORUS_FD_MODE_FAST;
  if (a->cfg.via_server && a->cfg.fd_mode == CHORUS_FD_MODE_OFF)
    return usage_error("--via-server needs --fd default or fast", NULL);
  if (a->cfg.via_server && a->cfg.crashes + a->cfg.leaves + 2 > a->cfg.nodes &&
      (!a->swarm || a->given[OPT_NODES]))
    return usage_error("--crashes plus --leaves must leave at least two nodes up", NULL);
  /* With --swarm the crash count is drawn and raised to the restarts. */
  if (a->cfg.restarts > a->cfg.crashes && (!a->swarm || a->given[OPT_CRASHES]))
    return usage_error("--restarts must be at most --crashes", NULL);
  return 0;
}

/* ---- the configuration of one seed ---------------------------------- */

/* The configuration of `seed`: the options given, or with --swarm the
 * drawn mix with the options given pinned on top of it. */
static void seed_config(const sim_args *a, uint64_t seed, chorus_sim_config *c) {
  *c = a->cfg;
  c->seed = seed;
  if (!a->swarm) return;
  chorus_sim_swarm(c);
  for (int i = 0; i < OPT_COUNT; i++)
    if (a->given[i]) (void)apply_opt(c, i, a->given[i]); /* valid: parsed once */
  if (c->restarts > c->crashes) c->crashes = c->restarts;
  if (c->crashes + 2 > c->nodes) c->nodes = c->crashes + 2;
  if (c->crashes + c->leaves + 2 > c->nodes) c->nodes = c->crashes + c->leaves + 2;
  if (c->via_server && c->partitions) c->partitions = 0; /* not with a server yet */
}

/* Appends printf output to buf[0..cap), keeping it terminated. */
static void append(char *buf, size_t cap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void append(char *buf, size_t cap, const char *fmt, ...) {
  size_t len = strlen(buf);
  if (len + 1 >= cap) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + len, cap - len, fmt, ap);
  va_end(ap);
}

/* `value` / `scale` as a decimal with up to `digits` digits after the
 * point, trailing zeros cut: exact, so that it parses back to `value`. */
static void append_fixed(char *buf, size_t cap, uint64_t value, uint64_t scale,
                         int digits) {
  char frac[24];
  snprintf(frac, sizeof frac, "%0*llu", digits, (unsigned long long)(value % scale));
  size_t n = strlen(frac);
  while (n > 0 && frac[n - 1] == '0') frac[--n] = '\0';
  append(buf, cap, "%llu%s%s", (unsigned long long)(value / scale), n ? "." : "", frac);
}

/* The value of a drawn option in `c`, as the command line takes it. */
static void append_opt_value(char *buf, size_t cap, int opt, const chorus_sim_config *c) {
  const chorus_net_link *l = &c->link;
  switch (opt) {
  case OPT_NODES: append(buf, cap, "%zu", c->nodes); break;
  case OPT_DELAY:
    append_fixed(buf, cap, l->delay_min_us, 1000, 3);
    append(buf, cap, ":");
    append_fixed(buf, cap, l->delay_max_us, 1000, 3);
    break;
  case OPT_LOSS: append_fixed(buf, cap, l->loss_ppm, 1000000, 6); break;
  case OPT_DUP: append_fixed(buf, cap, l->dup_ppm, 1000000, 6); break;
  case OPT_REORDER: append_fixed(buf, cap, l->reorder_ppm, 1000000, 6); break;
  case OPT_RATE: /* swarm rates are whole and convert back exactly */
    append(buf, cap, "%llu", (unsigned long long)(1e6 / (double)c->send_interval_us + 0.5));
    break;
  case OPT_PRIVATE: append_fixed(buf, cap, c->private_ppm, 1000000, 6); break;
  case OPT_ORDER:
    append(buf, cap, "%s", c->order_mixed ? "mixed" : chorus_sim_order_name(c->order));
    break;
  case OPT_CRASHES: append(buf, cap, "%zu", c->crashes); break;
  case OPT_PARTITIONS: append(buf, cap, "%zu", c->partitions); break;
  default: break;
  }
}

/* The drawn options of a swarm seed, "--nodes 7 --delay 1.5:80 ...". */
static void swarm_opts(const chorus_sim_config *c, char *buf, size_t cap) {
  buf[0] = '\0';
  for (size_t k = 0; k < SWARM_DRAWN_COUNT; k++) {
    append(buf, cap, "%s%s ", k ? " " : "", OPT_NAMES[SWARM_DRAWN[k]]);
    append_opt_value(buf, cap, SWARM_DRAWN[k], c);
  }
}

static int is_drawn(int opt) {
  for (size_t k = 0; k < SWARM_DRAWN_COUNT; k++)
    if (SWARM_DRAWN[k] == opt) return 1;
  return 0;
}

/* ---- output ----------------------------------------------------------- */

/* Prints value/divisor with one decimal, rounded. */
static void print_tenths(uint64_t value, uint64_t divisor) {
  uint64_t tenths = divisor ? (value * 10 + divisor / 2) / divisor : 0;
  printf("%llu.%llu", (unsigned long long)(tenths / 10),
         (unsigned long long)(tenths % 10));
}

static const char *verdict_name(enum chorus_sim_verdict v) {
  return v == CHORUS_SIM_OK ? "ok" : v == CHORUS_SIM_VIOLATION ? "VIOLATION" : "ERROR";
}

static const char *const CLASS_NAMES[CHORUS_CHECK_CLASSES] = {
    "fifo", "causal", "total", "safe", "priv"};

/* "total=2.0/4.1/5.3" per class that had deliveries (ms, p50/p99/max). */
static void print_latency(const chorus_sim_result *r) {
  printf(" lat_ms(p50/p99/max)");
  for (int k = 0; k < CHORUS_CHECK_CLASSES; k++) {
    const chorus_check_quantiles *q = &r->lat[k];
    if (q->count == 0) continue;
    printf(" %s=", CLASS_NAMES[k]);
    print_tenths(q->p50_us, 1000);
    printf("/");
    print_tenths(q->p99_us, 1000);
    printf("/");
    print_tenths(q->max_us, 1000);
  }
}

/* " name_ms(p50/max)=1.9/2.3", or "=-" without samples. */
static void print_p50_max(const char *name, const chorus_check_quantiles *q) {
  printf(" %s_ms(p50/max)=", name);
  if (q->count == 0) {
    printf("-");
    return;
  }
  print_tenths(q->p50_us, 1000);
  printf("/");
  print_tenths(q->max_us, 1000);
}

/* Detection, false removals, views and rejoins of one run. */
static void print_membership(const chorus_sim_config *c, const chorus_sim_result *r) {
  printf(" fd=%s", chorus_sim_fd_name(c->fd_mode));
  print_p50_max("detect", &r->detect);
  printf(" false_removals=%llu views=%llu", (unsigned long long)r->false_removals,
         (unsigned long long)r->views);
  if (!c->restarts) return;
  printf(" rejoined=%llu/%zu history=%llu", (unsigned long long)r->joined, r->restarted,
         (unsigned long long)r->history);
  print_p50_max("rejoin", &r->rejoin);
}

static void print_summary(const sim_args *a, const chorus_sim_config *c,
                          const chorus_sim_result *r) {
  printf("seed=%llu", (unsigned long long)c->seed);
  if (a->swarm) {
    char opts[OPTS_TEXT_BYTES];
    swarm_opts(c, opts, sizeof opts);
    printf(" swarm[%s]", opts);
  }
  printf(" hash=%016llx sent=%llu room=%llu delivered=%llu refused=%llu skipped=%llu "
         "msgs/op=", (unsigned long long)r->trace_hash, (unsigned long long)r->sent,
         (unsigned long long)r->sent_room, (unsigned long long)r->delivered,
         (unsigned long long)r->refused, (unsigned long long)r->skipped);
  print_tenths(r->datagrams, r->sent_room);
  print_latency(r);
  printf(" lost=%llu dup=%llu reorder=%llu", (unsigned long long)r->lost,
         (unsigned long long)r->duplicated, (unsigned long long)r->reordered);
  if (c->crashes)
    printf(" crashes=%s agree=all:%llu/none:%llu room_dlv=%llu",
           r->crashed ? r->crash_desc : "none", (unsigned long long)r->agreed_all,
           (unsigned long long)r->agreed_none, (unsigned long long)r->survivor_room);
  if (c->fd_mode != CHORUS_FD_MODE_OFF || c->restarts) print_membership(c, r);
  if (c->partitions) {
    printf(" partitions=%zu merge_dlv=%llu", r->partitioned, (unsigned long long)r->merged);
    print_p50_max("heal_to_merged", &r->merge);
  }
  printf(" verdict=%s\n", verdict_name(r->verdict));
}

static void print_given(const sim_args *a, int skip_drawn) {
  for (int i = 0; i < OPT_COUNT; i++)
    if (a->given[i] && !(skip_drawn && is_drawn(i))) printf(" %s %s", OPT_NAMES[i], a->given[i]);
}

static void print_replay(const sim_args *a, const chorus_sim_config *c) {
  printf("replay: ./chorus sim --seed %llu%s%s", (unsigned long long)c->seed,
         a->swarm ? " --swarm" : "", c->via_server ? " --via-server" : "");
  print_given(a, 0);
  printf("\n");
  if (!a->swarm) return;
  char opts[OPTS_TEXT_BYTES];
  swarm_opts(c, opts, sizeof opts);
  printf("same as: ./chorus sim --seed %llu%s %s", (unsigned long long)c->seed,
         c->via_server ? " --via-server" : "", opts);
  print_given(a, 1);
  printf("\n");
}

static void print_failure(const sim_args *a, const chorus_sim_config *c,
                          const chorus_sim_result *r) {
  if (r->verdict == CHORUS_SIM_VIOLATION)
    printf("violation: %s at %llu us on n%zu: %s\n", r->violation.property,
           (unsigned long long)r->violation.at_us, r->violation.node,
           r->violation.detail);
  else
    printf("error: %s\n", r->error);
  print_replay(a, c);
}

static double wall_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A growing list of samples (µs) over all seeds. */
typedef struct sample_list {
  uint64_t *v;
  size_t n, cap;
} sample_list;

typedef struct sim_totals {
  uint64_t seeds, passed, failed, events, sim_us;
  uint64_t false_removals, restarted, joined;
  sample_list detect, rejoin, merge;
  int oom; /* a sample list could not grow: its quantiles are partial */
} sim_totals;

static void samples_add(sim_totals *t, sample_list *l, const uint64_t *v, size_t n) {
  if (n == 0) return;
  if (l->n + n > l->cap) {
    size_t cap = l->cap ? l->cap : 256;
    while (cap < l->n + n) cap *= 2;
    uint64_t *grown = realloc(l->v, cap * sizeof *grown);
    if (!grown) {
      t->oom = 1;
      return;
    }
    l->v = grown;
    l->cap = cap;
  }
  memcpy(l->v + l->n, v, n * sizeof *v);
  l->n += n;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Count, p50 (nearest rank) and maximum of a list; sorts it. */
static void samples_quantiles(sample_list *l, chorus_check_quantiles *q) {
  memset(q, 0, sizeof *q);
  if (l->n == 0) return;
  qsort(l->v, l->n, sizeof *l->v, cmp_u64);
  q->count = l->n;
  q->p50_us = l->v[(l->n + 1) / 2 - 1];
  q->max_us = l->v[l->n - 1];
}

/* Membership over all seeds: detection and rejoin times, false removals
 * per simulated hour. */
static void print_membership_totals(sim_totals *t) {
  chorus_check_quantiles d, j;
  samples_quantiles(&t->detect, &d);
  samples_quantiles(&t->rejoin, &j);
  print_p50_max("detect", &d);
  printf(" detections=%llu", (unsigned long long)d.count);
  double hours = (double)t->sim_us / 3.6e9;
  printf(" false_removals=%llu sim_hours=%.2f false_removals_per_hour=%.2f",
         (unsigned long long)t->false_removals, hours,
         hours > 0 ? (double)t->false_removals / hours : 0.0);
  if (t->restarted) {
    printf(" rejoined=%llu/%llu", (unsigned long long)t->joined,
           (unsigned long long)t->restarted);
    print_p50_max("rejoin", &j);
  }
  if (t->oom) printf(" (samples partial: out of memory)");
}

static void print_stats(const sim_args *a, sim_totals *t, double wall) {
  if (wall <= 0) wall = 1e-9;
  printf("seeds=%llu..%llu ran=%llu passed=%llu failed=%llu events=%llu wall_s=%.3f "
         "events_per_s=%.0f sim_s_per_wall_s=%.1f",
         (unsigned long long)a->seed_first, (unsigned long long)a->seed_last,
         (unsigned long long)t->seeds, (unsigned long long)t->passed,
         (unsigned long long)t->failed, (unsigned long long)t->events, wall,
         (double)t->events / wall, (double)t->sim_us / 1e6 / wall);
  if (a->cfg.fd_mode != CHORUS_FD_MODE_OFF || a->cfg.restarts) print_membership_totals(t);
  if (a->cfg.partitions || a->swarm) {
    chorus_check_quantiles m;
    samples_quantiles(&t->merge, &m);
    print_p50_max("heal_to_merged", &m);
    printf(" merges=%llu", (unsigned long long)m.count);
  }
  printf("\n");
}

/* Runs one seed; returns 1 if it passed. */
static int run_one(sim_args *a, uint64_t seed, sim_totals *t) {
  chorus_sim_config c;
  chorus_sim_result r;
  seed_config(a, seed, &c);
  chorus_sim_run(&c, &r);
  int ok = r.verdict == CHORUS_SIM_OK;
  t->seeds++;
  t->events += r.events;
  t->sim_us += r.end_us;
  t->false_removals += r.false_removals;
  t->restarted += r.restarted;
  t->joined += r.joined;
  samples_add(t, &t->detect, r.detect_us, r.detect_count);
  samples_add(t, &t->rejoin, r.rejoin_us, r.rejoin_count);
  samples_add(t, &t->merge, r.merge_us, r.merge_count);
  if (ok) t->passed++;
  else t->failed++;
  if (!ok || !a->quiet) print_summary(a, &c, &r);
  if (a->stats && !a->quiet)
    printf("  events=%llu sim_end_s=%.3f heal_s=%.3f all_delivered_s=%.3f "
           "evq_high=%zu pool_high=%zu rx_rejected=%llu obligations=%llu "
           "datagrams=%llu down_dropped=%llu removals=%llu dup_deliveries=%llu "
           "fd_suspicions=%llu fd_refutations=%llu\n",
           (unsigned long long)r.events, (double)r.end_us / 1e6,
           (double)r.heal_us / 1e6, (double)r.quiet_us / 1e6, r.evq_high_water,
           r.pool_high_water, (unsigned long long)r.rx_rejected,
           (unsigned long long)r.obligations, (unsigned long long)r.datagrams,
           (unsigned long long)r.down_dropped, (unsigned long long)r.removals,
           (unsigned long long)r.duplicates, (unsigned long long)r.fd_suspicions,
           (unsigned long long)r.fd_refutations);
  if (!ok) print_failure(a, &c, &r);
  fflush(stdout);
  return ok;
}

static int run_all(sim_args *a) {
  FILE *trace = NULL;
  if (a->trace_path) {
    trace = strcmp(a->trace_path, "-") == 0 ? stdout : fopen(a->trace_path, "w");
    if (!trace) {
      fprintf(stderr, "chorus sim: cannot write trace '%s': %s\n", a->trace_path,
              strerror(errno));
      return 1;
    }
  }
  a->cfg.trace = trace;
  sim_totals t;
  memset(&t, 0, sizeof t);
  double start = wall_s();
  for (uint64_t seed = a->seed_first;; seed++) {
    if ((!run_one(a, seed, &t) && !a->keep_going) || seed == a->seed_last) break;
  }
  double wall = wall_s() - start;
  if (a->stats || a->range) print_stats(a, &t, wall);
  free(t.detect.v);
  free(t.rejoin.v);
  free(t.merge.v);
  if (trace && trace != stdout && fclose(trace) != 0) {
    fprintf(stderr, "chorus sim: writing trace '%s' failed\n", a->trace_path);
    return 1;
  }
  return t.failed ? 1 : 0;
}

int chorus_cmd_sim(int argc, char **argv) {
  for (int i = 1; i < argc; i++) /* a server cluster: its own simulation */
    if (strcmp(argv[i], "--servers") == 0) return chorus_cmd_sim_cluster(argc, argv);
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      print_usage(stdout);
      return 0;
    }
  sim_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc) return rc;
  return run_all(&a);
}
