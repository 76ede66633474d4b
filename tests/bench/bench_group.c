#include "bench_group.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"

void bench_group_ready(const bench_node_ctx *c) {
  const uint8_t ok = 'r';
  if (bench_write_all(c->result_fd, &ok, 1) < 0) _exit(3);
}

/* The parent closes the write end: read returns 0 in every node at once. */
static void bench_group_wait_eof(int fd) {
  uint8_t b;
  while (read(fd, &b, 1) > 0) {
  }
}

void bench_group_wait_go(const bench_node_ctx *c) { bench_group_wait_eof(c->go_fd); }

void bench_group_wait_stop(const bench_node_ctx *c) { bench_group_wait_eof(c->stop_fd); }

void bench_group_report(const bench_node_ctx *c, const bench_node_result *r,
                        const uint32_t *samples) {
  if (bench_write_all(c->result_fd, r, sizeof *r) < 0 ||
      bench_write_all(c->result_fd, samples, (size_t)r->samples * sizeof *samples) < 0)
    _exit(3);
}

typedef struct group_pipes {
  int go[2], stop[2];
  int result[BENCH_GROUP_NODES_MAX][2];
  pid_t pid[BENCH_GROUP_NODES_MAX];
} group_pipes;

static void group_pipe(int p[2]) {
  if (pipe(p) != 0) {
    perror("bench: pipe");
    exit(1);
  }
}

/* Child: keep only its own ends, run the node, leave without atexit work
 * (the parent's stdio buffers must not be flushed twice). */
static void group_child(bench_node_ctx *c, group_pipes *p, int fds[], bench_node_fn fn) {
  close(p->go[1]);
  close(p->stop[1]);
  for (size_t i = 0; i < c->nodes; i++) {
    close(p->result[i][0]);
    if (i != c->index) {
      close(p->result[i][1]);
      close(fds[i]);
    }
  }
  c->fd = fds[c->index];
  c->go_fd = p->go[0];
  c->stop_fd = p->stop[0];
  c->result_fd = p->result[c->index][1];
  _exit(fn(c));
}

/* Fold one node's report into g; samples are appended at all[*n]. */
static void group_collect(bench_group_result *g, int fd, uint32_t *all, size_t cap,
                          size_t *n) {
  bench_node_result r;
  if (bench_read_all(fd, &r, sizeof r) < 0 || r.samples > cap - *n ||
      bench_read_all(fd, all + *n, (size_t)r.samples * sizeof *all) < 0) {
    g->failed = 1;
    return;
  }
  *n += (size_t)r.samples;
  g->delivered += r.delivered;
  g->expected += r.expected;
  g->datagrams_sent += r.datagrams_sent;
  g->bytes_sent += r.bytes_sent;
  g->send_drops += r.send_drops;
  g->retransmits += r.retransmits;
  g->timeouts += r.timeouts;
  if (r.last_us > g->end_us) g->end_us = r.last_us;
  if (r.idle.rss_kib > g->idle_max.rss_kib) g->idle_max.rss_kib = r.idle.rss_kib;
  if (r.idle.hwm_kib > g->idle_max.hwm_kib) g->idle_max.hwm_kib = r.idle.hwm_kib;
  if (r.loaded.rss_kib > g->loaded_max.rss_kib) g->loaded_max.rss_kib = r.loaded.rss_kib;
  if (r.loaded.hwm_kib > g->loaded_max.hwm_kib) g->loaded_max.hwm_kib = r.loaded.hwm_kib;
  if (r.loaded.anon_kib > g->loaded_max.anon_kib) g->loaded_max.anon_kib = r.loaded.anon_kib;
}

static void group_fork(bench_node_ctx *c, group_pipes *p, int fds[], bench_node_fn fn) {
  fflush(NULL);
  for (size_t i = 0; i < c->nodes; i++) {
    group_pipe(p->result[i]);
  }
  for (size_t i = 0; i < c->nodes; i++) {
    p->pid[i] = fork();
    if (p->pid[i] < 0) {
      perror("bench: fork");
      exit(1);
    }
    if (p->pid[i] == 0) {
      c->index = i;
      group_child(c, p, fds, fn);
    }
  }
  for (size_t i = 0; i < c->nodes; i++) {
    close(p->result[i][1]);
    close(fds[i]); /* the nodes own them now */
  }
  close(p->go[0]);
  close(p->stop[0]);
}

/* Release the nodes, gather the reports, stop the nodes and reap them. */
static void group_drive(bench_group_result *g, group_pipes *p, size_t nodes, size_t cap) {
  uint32_t *all = malloc((cap > 0 ? cap : 1) * sizeof *all);
  size_t n = 0;
  uint8_t b;
  if (all == NULL) exit(1);
  for (size_t i = 0; i < nodes; i++)
    if (bench_read_all(p->result[i][0], &b, 1) < 0) g->failed = 1;
  g->start_us = chorus_clock_now_us();
  close(p->go[1]);
  for (size_t i = 0; i < nodes; i++) group_collect(g, p->result[i][0], all, cap, &n);
  close(p->stop[1]);
  for (size_t i = 0; i < nodes; i++) {
    int st = 0;
    if (waitpid(p->pid[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) g->failed = 1;
    close(p->result[i][0]);
  }
  g->latency = bench_quantiles(all, n);
  free(all);
}

bench_group_result bench_group_run(size_t nodes, size_t msgs, size_t size_bytes,
                                   bench_node_fn fn, const void *arg) {
  bench_group_result g;
  bench_node_ctx c;
  group_pipes p;
  int fds[BENCH_GROUP_NODES_MAX];
  memset(&g, 0, sizeof g);
  memset(&c, 0, sizeof c);
  g.nodes = c.nodes = nodes;
  c.msgs = msgs;
  c.size_bytes = size_bytes;
  c.arg = arg;
  for (size_t i = 0; i < nodes; i++) fds[i] = bench_open(&c.addrs[i]);
  group_pipe(p.go);
  group_pipe(p.stop);
  group_fork(&c, &p, fds, fn);
  group_drive(&g, &p, nodes, nodes * (nodes - 1) * msgs);
  return g;
}

double bench_group_rate(const bench_group_result *g) {
  if (g->end_us <= g->start_us || g->delivered == 0) return 0;
  return (double)g->delivered * 1e6 / (double)(g->end_us - g->start_us);
}
