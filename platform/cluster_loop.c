#include "cluster_loop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "clwire.h"
#include "fio.h"
#include "replica.h"
#include "server_loop.h"
#include "udp.h"
#include "wal.h"

#define CL_RX_BYTES 2048

typedef struct cl_app {
  const chorus_cluster_loop_config *cfg;
  chorus_replica *core;
  chorus_wal *wal;
  int dir_fd;
  int cfd, pfd; /* client and peer sockets */
  chorus_udp_addr peers[CHORUS_CLUSTER_REPLICAS_MAX];
  int dirty;    /* appended since the last sync */
  uint8_t *pay; /* WAL payload: epoch + snapshot */
  size_t pay_cap;
  uint8_t rx[CL_RX_BYTES];
  char *err;
  size_t err_bytes;
  uint64_t send_failed;
} cl_app;

static int cl_fail(cl_app *a, int rc, const char *fmt, const char *x, const char *y) {
  if (a->err && a->err_bytes) snprintf(a->err, a->err_bytes, fmt, x, y);
  return rc;
}

static void cl_log(const cl_app *a, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void cl_log(const cl_app *a, const char *fmt, ...) {
  if (a->cfg->log == NULL) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(a->cfg->log, "server %s: ", a->cfg->cluster->replicas[a->cfg->self].id);
  vfprintf(a->cfg->log, fmt, ap);
  fputc('\n', a->cfg->log);
  fflush(a->cfg->log);
  va_end(ap);
}

/* ---- the epoch file ----------------------------------------------------- */

static int cl_epoch_read(cl_app *a, uint64_t *epoch) {
  *epoch = 0;
  int fd = openat(a->dir_fd, CHORUS_CLUSTER_LOOP_EPOCH, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return 0;
  if (fd < 0) return cl_fail(a, 1, "cannot open %s/epoch: %s", a->cfg->data_dir, strerror(errno));
  uint8_t b[17];
  ssize_t n = read(fd, b, sizeof b);
  close(fd);
  uint64_t e = n == 16 ? chorus_clw_get_u64(b) : 0, c = n == 16 ? chorus_clw_get_u64(b + 8) : 0;
  if (n != 16 || e != ~c)
    return cl_fail(a, 1, "corrupt data directory %s: %s is not a valid epoch file",
                   a->cfg->data_dir, CHORUS_CLUSTER_LOOP_EPOCH);
  *epoch = e;
  return 0;
}

/* Rewrite the epoch crash-safely; a failure stops the replica. */
static int cl_epoch_write(cl_app *a, uint64_t epoch) {
  uint8_t b[16];
  chorus_clw_put_u64(b, epoch);
  chorus_clw_put_u64(b + 8, ~epoch);
  const chorus_fio *io = chorus_fio_posix();
  int fd = openat(a->dir_fd, CHORUS_CLUSTER_LOOP_EPOCH_TEMP,
                  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || chorus_fio_write_all(io, fd, b, sizeof b, 0) != 0) {
    if (fd >= 0) close(fd);
    return cl_fail(a, 1, "cannot write %s/epoch.tmp: %s", a->cfg->data_dir, strerror(errno));
  }
  int step = chorus_fio_install(io, a->dir_fd, fd, CHORUS_CLUSTER_LOOP_EPOCH_TEMP,
                                CHORUS_CLUSTER_LOOP_EPOCH);
  if (step != 0) {
    if (step == CHORUS_FIO_STEP_FSYNC || step == CHORUS_FIO_STEP_DIR_FSYNC) abort();
    return cl_fail(a, 1, "%s the epoch file: %s", chorus_fio_step_text(step), strerror(errno));
  }
  return 0;
}

/* ---- the log ------------------------------------------------------------ */

typedef struct cl_replay {
  cl_app *a;
  uint64_t last_real; /* last record index that is not a filler */
  int fillers;        /* a filler was seen: the rest is dropped */
  const char *why;
} cl_replay;

static int cl_replay_fn(void *arg, uint8_t type, uint64_t index, const uint8_t *p, size_t len) {
  cl_replay *r = arg;
  if (type == CHORUS_CLUSTER_LOOP_WAL_FILLER || r->fillers) {
    r->fillers = 1; /* a crash between fillers and their snapshot */
    return 0;
  }
  if (len < 8 || (type != CHORUS_WAL_TYPE_SNAPSHOT && type != CHORUS_CLUSTER_LOOP_WAL_RECORD)) {
    r->why = "a log record of an unknown kind";
    return CHORUS_ERR_CORRUPT;
  }
  int rc = chorus_replica_restore(r->a->core, type == CHORUS_WAL_TYPE_SNAPSHOT, index,
                                  chorus_clw_get_u64(p), p + 8, len - 8, &r->why);
  if (rc != 0) {
    if (rc != CHORUS_ERR_CORRUPT) r->why = chorus_strerror(rc);
    return CHORUS_ERR_CORRUPT;
  }
  r->last_real = index;
  return 0;
}

static int cl_open_log(cl_app *a) {
  char warn[CHORUS_WAL_WARN_BYTES] = "";
  chorus_wal_config wc;
  chorus_wal_config_default(&wc);
  wc.snapshot_bytes_max = a->pay_cap;
  cl_replay r = {a, 0, 0, NULL};
  int rc = chorus_wal_open(a->cfg->data_dir, &wc, cl_replay_fn, &r, &a->wal, warn, sizeof warn);
  if (rc != 0)
    return cl_fail(a, 1, "cannot recover the data directory: %s%s", r.why ? r.why : warn,
                   r.why ? "" : "");
  if (warn[0]) cl_log(a, "warning: %s", warn);
  if (r.fillers && chorus_wal_truncate_after(a->wal, r.last_real) != 0)
    return cl_fail(a, 1, "cannot drop filler records in %s%s", a->cfg->data_dir, "");
  a->dir_fd = open(a->cfg->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (a->dir_fd < 0)
    return cl_fail(a, 1, "cannot open %s: %s", a->cfg->data_dir, strerror(errno));
  cl_log(a, "log recovered: last index %llu, snapshot at %llu",
         (unsigned long long)chorus_wal_last_index(a->wal),
         (unsigned long long)chorus_wal_snapshot_index(a->wal));
  return 0;
}

static int cl_log_snapshot(cl_app *a, const chorus_replica_output *o) {
  static const uint8_t none[8];
  while (chorus_wal_last_index(a->wal) < o->index) {
    if (chorus_wal_append(a->wal, CHORUS_CLUSTER_LOOP_WAL_FILLER,
                          chorus_wal_last_index(a->wal) + 1, none, sizeof none) != 0)
      return cl_fail(a, 1, "cannot extend the log to a received snapshot%s%s", "", "");
  }
  if (o->len + 8 > a->pay_cap) return cl_fail(a, 1, "snapshot too large%s%s", "", "");
  chorus_clw_put_u64(a->pay, o->epoch);
  memcpy(a->pay + 8, o->data, o->len);
  if (chorus_wal_snapshot(a->wal, o->index, a->pay, o->len + 8) != 0)
    return cl_fail(a, 1, "cannot write a snapshot to %s%s", a->cfg->data_dir, "");
  a->dirty = 0;
  return 0;
}

static int cl_log_out(cl_app *a, const chorus_replica_output *o) {
  uint8_t b[8 + CHORUS_CLW_DATAGRAM_BYTES_MAX];
  switch (o->kind) {
  case CHORUS_REPLICA_OUT_EPOCH: return cl_epoch_write(a, o->epoch);
  case CHORUS_REPLICA_OUT_LOG_APPEND:
    chorus_clw_put_u64(b, o->epoch);
    memcpy(b + 8, o->data, o->len);
    if (chorus_wal_append(a->wal, CHORUS_CLUSTER_LOOP_WAL_RECORD, o->index, b, o->len + 8) != 0)
      return cl_fail(a, 1, "cannot append to the log in %s%s", a->cfg->data_dir, "");
    a->dirty = 1;
    return 0;
  case CHORUS_REPLICA_OUT_LOG_TRUNCATE:
    if (o->index < chorus_wal_last_index(a->wal) &&
        chorus_wal_truncate_after(a->wal, o->index) != 0)
      return cl_fail(a, 1, "cannot truncate the log in %s%s", a->cfg->data_dir, "");
    return 0;
  case CHORUS_REPLICA_OUT_LOG_SNAPSHOT: return cl_log_snapshot(a, o);
  default: return 0;
  }
}

/* ---- sockets ------------------------------------------------------------ */

/* "HOST:PORT" with brackets around a bare IPv6 host. */
static void cl_hostport(const chorus_cluster_replica *r, uint16_t port, char *out, size_t n) {
  int v6 = strchr(r->host, ':') != NULL && r->host[0] != '[';
  snprintf(out, n, v6 ? "[%s]:%u" : "%s:%u", r->host, (unsigned)port);
}

static int cl_bind(cl_app *a, uint16_t port, int *fd) {
  char text[CHORUS_CLUSTER_HOST_BYTES_MAX + 16], why[CHORUS_CLUSTER_LOOP_ERR_BYTES];
  chorus_udp_addr local;
  cl_hostport(&a->cfg->cluster->replicas[a->cfg->self], port, text, sizeof text);
  if (chorus_udp_resolve(text, AF_UNSPEC, 1, &local, why, sizeof why) != 0)
    return cl_fail(a, 2, "%s%s", why, "");
  if (chorus_udp_open(&local, CHORUS_UDP_SOCKBUF_BYTES_DEFAULT, fd, why, sizeof why) != 0)
    return cl_fail(a, 1, "%s%s", why, "");
  return 0;
}

static int cl_sockets(cl_app *a) {
  const chorus_cluster_replica *me = &a->cfg->cluster->replicas[a->cfg->self];
  int rc = cl_bind(a, me->client_port, &a->cfd);
  if (rc == 0) rc = cl_bind(a, me->peer_port, &a->pfd);
  for (size_t i = 0; rc == 0 && i < a->cfg->cluster->count; i++) {
    char text[CHORUS_CLUSTER_HOST_BYTES_MAX + 16], why[CHORUS_CLUSTER_LOOP_ERR_BYTES];
    const chorus_cluster_replica *r = &a->cfg->cluster->replicas[i];
    cl_hostport(r, r->peer_port, text, sizeof text);
    if (chorus_udp_resolve(text, AF_UNSPEC, 0, &a->peers[i], why, sizeof why) != 0)
      rc = cl_fail(a, 2, "replica %s: %s", r->id, why);
  }
  if (rc == 0)
    cl_log(a, "replica %zu of %zu: clients on %s:%u, peers on port %u, priority %u",
           a->cfg->self + 1, a->cfg->cluster->count, me->host, (unsigned)me->client_port,
           (unsigned)me->peer_port, (unsigned)me->priority);
  return rc;
}

/* ---- outputs ------------------------------------------------------------ */

static void cl_sync(cl_app *a) {
  if (!a->dirty) return;
  chorus_wal_sync(a->wal); /* aborts on failure */
  a->dirty = 0;
}

static void cl_role(const cl_app *a, const chorus_replica_output *o) {
  if (o->leader < 0) {
    cl_log(a, "no leader known (epoch %llu.%d): electing", (unsigned long long)(o->epoch >> 8),
           (int)(o->epoch & 0xff));
    return;
  }
  cl_log(a, "leader %s, epoch %llu.%d%s", a->cfg->cluster->replicas[o->leader].id,
         (unsigned long long)(o->epoch >> 8), (int)(o->epoch & 0xff),
         o->serving ? " (serving: this replica leads)" : "");
}

static int cl_drain(cl_app *a) {
  for (;;) {
    chorus_replica_output o;
    chorus_replica_poll(a->core, &o);
    if (o.kind == CHORUS_REPLICA_OUT_NONE) return 0;
    if (o.kind == CHORUS_REPLICA_OUT_PEER_SEND) {
      cl_sync(a);
      if (chorus_udp_send(a->pfd, &a->peers[o.peer], o.data, o.len) != CHORUS_UDP_OK)
        a->send_failed++; /* retransmitted by the protocol */
    } else if (o.kind == CHORUS_REPLICA_OUT_CLIENT_SEND) {
      chorus_udp_addr to;
      cl_sync(a);
      if (chorus_server_loop_addr_unpack(&o.to, &to) != 0 ||
          chorus_udp_send(a->cfd, &to, o.data, o.len) != CHORUS_UDP_OK)
        a->send_failed++;
    } else if (o.kind == CHORUS_REPLICA_OUT_ROLE) {
      cl_role(a, &o);
    } else if (o.kind == CHORUS_REPLICA_OUT_EVENT) {
      cl_log(a, "%s %s%s%s", chorus_server_event_name(o.event.event), o.event.user,
             o.event.room[0] ? " in room " : "", o.event.room);
    } else if (cl_log_out(a, &o) != 0) {
      return 1;
    }
  }
}

static int cl_receive(cl_app *a, int peer) {
  for (int i = 0; i < 64; i++) {
    chorus_udp_addr from;
    size_t len = 0;
    if (chorus_udp_recv(peer ? a->pfd : a->cfd, a->rx, sizeof a->rx, &len, &from) !=
        CHORUS_UDP_OK)
      return 0;
    uint64_t now = chorus_clock_now_us();
    if (peer) {
      chorus_replica_peer_recv(a->core, now, a->rx, len);
    } else {
      chorus_srv_addr blob;
      if (chorus_server_loop_addr_pack(&from, &blob) != 0) continue;
      chorus_replica_client_recv(a->core, now, &blob, a->rx, len);
    }
    if (cl_drain(a) != 0) return 1;
  }
  return 0;
}

static int cl_wait_ms(const cl_app *a) {
  uint64_t d = chorus_replica_deadline(a->core), now = chorus_clock_now_us();
  if (d <= now) return 0;
  uint64_t ms = (d - now + 999) / 1000;
  return ms > 60000 ? 60000 : (int)ms;
}

static int cl_loop(cl_app *a) {
  for (;;) {
    if (cl_drain(a) != 0) return 1;
    struct pollfd p[3];
    p[0].fd = a->cfd;
    p[1].fd = a->pfd;
    p[2].fd = a->cfg->stop_fd;
    p[0].events = p[1].events = p[2].events = POLLIN;
    int n = poll(p, a->cfg->stop_fd >= 0 ? 3 : 2, cl_wait_ms(a));
    if (n < 0 && errno != EINTR) return cl_fail(a, 1, "poll failed: %s%s", strerror(errno), "");
    if (n > 0 && a->cfg->stop_fd >= 0 && (p[2].revents & (POLLIN | POLLHUP))) return 0;
    if (n > 0 && (p[1].revents & POLLIN) && cl_receive(a, 1) != 0) return 1;
    if (n > 0 && (p[0].revents & POLLIN) && cl_receive(a, 0) != 0) return 1;
    uint64_t now = chorus_clock_now_us();
    if (chorus_replica_deadline(a->core) <= now) chorus_replica_tick(a->core, now);
  }
}

/* ---- setup -------------------------------------------------------------- */

static int cl_entropy(cl_app *a, uint8_t *out, size_t n) {
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  ssize_t k = fd >= 0 ? read(fd, out, n) : -1;
  if (fd >= 0) close(fd);
  if (k != (ssize_t)n) return cl_fail(a, 1, "cannot read %s%s", "/dev/urandom", "");
  return 0;
}

static int cl_core(cl_app *a, uint64_t epoch) {
  uint8_t rnd[32];
  if (cl_entropy(a, rnd, sizeof rnd) != 0) return 1;
  chorus_replica_config c;
  chorus_replica_config_default(&c);
  c.server = a->cfg->core;
  for (int i = 0; i < 8; i++) c.server.seed = (c.server.seed << 8) | rnd[i];
  c.bully.n = a->cfg->cluster->count;
  c.bully.self = a->cfg->self;
  for (size_t i = 0; i < c.bully.n; i++) c.bully.priority[i] = a->cfg->cluster->replicas[i].priority;
  int rc = chorus_replica_new(&c, epoch, &a->core);
  if (rc == 0) rc = chorus_replica_entropy(a->core, rnd, sizeof rnd);
  memset(rnd, 0, sizeof rnd);
  if (rc != 0)
    return cl_fail(a, rc == CHORUS_ERR_CONFIG ? 2 : 1, "cannot create the replica: %s%s",
                   chorus_strerror(rc), "");
  chorus_server *probe;
  if (chorus_server_new(&c.server, &probe) != 0) return cl_fail(a, 1, "out of memory%s%s", "", "");
  a->pay_cap = chorus_server_poll_bytes_min(probe) + 8;
  chorus_server_free(probe);
  a->pay = malloc(a->pay_cap);
  return a->pay ? 0 : cl_fail(a, 1, "out of memory%s%s", "", "");
}

/* The epoch file needs the directory, which the log creates: read it
 * after the log is open, then create the core with it, then replay. */
static int cl_setup(cl_app *a) {
  if (mkdir(a->cfg->data_dir, 0700) != 0 && errno != EEXIST)
    return cl_fail(a, 1, "cannot create %s: %s", a->cfg->data_dir, strerror(errno));
  a->dir_fd = open(a->cfg->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (a->dir_fd < 0) return cl_fail(a, 1, "cannot open %s: %s", a->cfg->data_dir, strerror(errno));
  uint64_t epoch = 0;
  int rc = cl_epoch_read(a, &epoch);
  if (rc == 0) rc = cl_core(a, epoch);
  close(a->dir_fd);
  a->dir_fd = -1;
  if (rc == 0) rc = cl_open_log(a);
  return rc;
}

int chorus_cluster_loop_run(const chorus_cluster_loop_config *cfg, char *err, size_t err_bytes) {
  cl_app *a = calloc(1, sizeof *a);
  if (a == NULL) return 1;
  a->cfg = cfg;
  a->cfd = a->pfd = a->dir_fd = -1;
  a->err = err;
  a->err_bytes = err_bytes;
  int rc = cl_setup(a);
  if (rc == 0) rc = cl_sockets(a);
  if (rc == 0) {
    chorus_replica_start(a->core, chorus_clock_now_us());
    rc = cl_loop(a);
  }
  if (rc == 0) {
    chorus_replica_stats st;
    chorus_replica_stats_get(a->core, &st);
    cl_log(a, "stopped: log at %llu, committed %llu", (unsigned long long)st.last,
           (unsigned long long)st.commit);
  }
  if (a->wal) {
    if (a->dirty) chorus_wal_sync(a->wal);
    chorus_wal_close(a->wal);
  }
  if (a->dir_fd >= 0) close(a->dir_fd);
  chorus_udp_close(a->cfd);
  chorus_udp_close(a->pfd);
  chorus_replica_free(a->core);
  free(a->pay);
  free(a);
  return rc;
}
