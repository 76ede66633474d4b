#include "server_loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "store.h"

/* ---- address blobs ------------------------------------------------------ */

int chorus_server_loop_addr_pack(const chorus_udp_addr *in, chorus_srv_addr *out) {
  memset(out, 0, sizeof *out);
  if (in->ss.ss_family == AF_INET) {
    struct sockaddr_in v4;
    memcpy(&v4, &in->ss, sizeof v4);
    uint16_t port = ntohs(v4.sin_port);
    out->bytes[0] = 4;
    out->bytes[1] = (uint8_t)(port >> 8);
    out->bytes[2] = (uint8_t)port;
    memcpy(out->bytes + 3, &v4.sin_addr, 4); /* already network order */
    out->len = 7;
    return 0;
  }
  if (in->ss.ss_family == AF_INET6) {
    struct sockaddr_in6 v6;
    memcpy(&v6, &in->ss, sizeof v6);
    uint16_t port = ntohs(v6.sin6_port);
    uint32_t scope = v6.sin6_scope_id;
    out->bytes[0] = 6;
    out->bytes[1] = (uint8_t)(port >> 8);
    out->bytes[2] = (uint8_t)port;
    memcpy(out->bytes + 3, v6.sin6_addr.s6_addr, 16);
    for (int i = 0; i < 4; i++) out->bytes[19 + i] = (uint8_t)(scope >> (24 - 8 * i));
    out->len = 23;
    return 0;
  }
  return -1;
}

int chorus_server_loop_addr_unpack(const chorus_srv_addr *in, chorus_udp_addr *out) {
  memset(out, 0, sizeof *out);
  uint16_t port = (uint16_t)((in->bytes[1] << 8) | in->bytes[2]);
  if (in->len == 7 && in->bytes[0] == 4) {
    struct sockaddr_in v4;
    memset(&v4, 0, sizeof v4);
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    memcpy(&v4.sin_addr, in->bytes + 3, 4);
    memcpy(&out->ss, &v4, sizeof v4);
    out->len = (socklen_t)sizeof v4;
    return 0;
  }
  if (in->len == 23 && in->bytes[0] == 6) {
    struct sockaddr_in6 v6;
    memset(&v6, 0, sizeof v6);
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    memcpy(v6.sin6_addr.s6_addr, in->bytes + 3, 16);
    uint32_t scope = 0;
    for (int i = 0; i < 4; i++) scope = (scope << 8) | in->bytes[19 + i];
    v6.sin6_scope_id = scope;
    memcpy(&out->ss, &v6, sizeof v6);
    out->len = (socklen_t)sizeof v6;
    return 0;
  }
  return -1;
}

/* ---- the loop ----------------------------------------------------------- */

typedef struct srv_app {
  const chorus_server_loop_config *cfg;
  chorus_server *core;
  chorus_store store;
  int have_store;
  int fd;
  uint8_t *buf; /* poll buffer: the largest snapshot */
  size_t cap;
  uint8_t rx[CHORUS_SERVER_LOOP_RX_BYTES];
  char *err;
  size_t err_bytes;
  uint64_t send_failed;
} srv_app;

static int app_fail(srv_app *a, int rc, const char *fmt, const char *x, const char *y) {
  if (a->err && a->err_bytes) snprintf(a->err, a->err_bytes, fmt, x, y);
  return rc;
}

static void app_log(const srv_app *a, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void app_log(const srv_app *a, const char *fmt, ...) {
  if (a->cfg->log == NULL) return;
  va_list ap;
  va_start(ap, fmt);
  fputs("server: ", a->cfg->log);
  vfprintf(a->cfg->log, fmt, ap);
  fputc('\n', a->cfg->log);
  fflush(a->cfg->log);
  va_end(ap);
}

/* 32 bytes from /dev/urandom: the seed and fresh entropy. */
static int app_entropy(srv_app *a, uint8_t *out, size_t n) {
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return app_fail(a, 1, "cannot open %s: %s", "/dev/urandom", strerror(errno));
  size_t got = 0;
  while (got < n) {
    ssize_t k = read(fd, out + got, n - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      int e = k < 0 ? errno : EIO;
      close(fd);
      return app_fail(a, 1, "cannot read %s: %s", "/dev/urandom", strerror(e));
    }
    got += (size_t)k;
  }
  close(fd);
  return 0;
}

static int app_core(srv_app *a) {
  uint8_t rnd[CHORUS_SERVER_LOOP_ENTROPY_BYTES];
  int rc = app_entropy(a, rnd, sizeof rnd);
  if (rc != 0) return rc;
  chorus_server_config c = a->cfg->core;
  c.seed = 0;
  for (int i = 0; i < 8; i++) c.seed = (c.seed << 8) | rnd[i];
  rc = chorus_server_new(&c, &a->core);
  if (rc == 0) rc = chorus_server_entropy(a->core, rnd, sizeof rnd);
  memset(rnd, 0, sizeof rnd);
  if (rc != 0) return app_fail(a, rc == CHORUS_ERR_CONFIG ? 2 : 1, "cannot create the server: %s%s",
                               chorus_strerror(rc), "");
  a->cap = chorus_server_poll_bytes_min(a->core);
  a->buf = malloc(a->cap);
  if (a->buf == NULL) return app_fail(a, 1, "cannot allocate %s%s", "the snapshot buffer", "");
  return 0;
}

/* Open the data directory and load its snapshot. */
static int app_load(srv_app *a) {
  const char *dir = a->cfg->data_dir;
  if (dir == NULL) return 0;
  int rc = chorus_store_open(&a->store, dir, a->err, a->err_bytes);
  if (rc != CHORUS_STORE_OK) return 1;
  a->have_store = 1;
  size_t len = 0;
  rc = chorus_store_load(&a->store, a->buf, a->cap, &len, a->err, a->err_bytes);
  if (rc == CHORUS_STORE_EMPTY) {
    app_log(a, "data directory %s has no snapshot yet: starting empty", dir);
    return 0;
  }
  if (rc != CHORUS_STORE_OK) return 1;
  const char *why = NULL;
  rc = chorus_server_load(a->core, chorus_clock_now_us(), a->buf, len, &why);
  if (rc != 0)
    return app_fail(a, 1, "corrupt data directory %s: " CHORUS_STORE_SNAPSHOT ": %s", dir, why);
  chorus_server_stats st;
  chorus_server_stats_get(a->core, &st);
  app_log(a, "loaded %s/%s: %u accounts, %u rooms", dir, CHORUS_STORE_SNAPSHOT, st.accounts,
          st.rooms);
  return 0;
}

static int app_socket(srv_app *a) {
  chorus_udp_addr local;
  char why[CHORUS_SERVER_LOOP_ERR_BYTES], text[CHORUS_UDP_TEXT_BYTES];
  if (chorus_udp_resolve(a->cfg->listen, AF_UNSPEC, 1, &local, why, sizeof why) != 0)
    return app_fail(a, 2, "%s%s", why, "");
  if (chorus_udp_open(&local, CHORUS_UDP_SOCKBUF_BYTES_DEFAULT, &a->fd, why, sizeof why) != 0)
    return app_fail(a, 1, "%s%s", why, "");
  chorus_udp_local(a->fd, &local);
  chorus_udp_format(&local, text, sizeof text);
  app_log(a, "listening on %s (%s%s), PBKDF2 iterations %u", text,
          a->cfg->data_dir ? "data directory " : "no data directory: nothing is persisted",
          a->cfg->data_dir ? a->cfg->data_dir : "", a->cfg->core.iterations);
  return 0;
}

static void app_event(const srv_app *a, const chorus_server_output *o) {
  const char *ev = chorus_server_event_name(o->event);
  switch (o->event) {
  case CHORUS_SERVER_EV_LOGIN_FAILED:
    app_log(a, "%s %s (wrong password, %u in a row)", ev, o->user, o->detail);
    break;
  case CHORUS_SERVER_EV_LOCKED_OUT:
    app_log(a, "%s %s for %.1f s", ev, o->user, o->detail / 1000.0);
    break;
  case CHORUS_SERVER_EV_ROOM_CREATE:
    app_log(a, "%s %s by %s", ev, o->room, o->user);
    break;
  case CHORUS_SERVER_EV_JOIN:
  case CHORUS_SERVER_EV_LEAVE:
    app_log(a, "%s %s %s (%u in the room)", ev, o->user, o->room, o->detail);
    break;
  case CHORUS_SERVER_EV_EXPIRED:
    app_log(a, "%s %s (session lease ran out)", ev, o->user);
    break;
  default:
    app_log(a, "%s %s%s%s", ev, o->user, o->room[0] ? " in room " : "", o->room);
    break;
  }
}

/* Carry out every pending output, in order. 0, or 1 on a fatal error. */
static int app_drain(srv_app *a) {
  for (;;) {
    chorus_server_output o;
    int rc = chorus_server_poll(a->core, &o, a->buf, a->cap);
    if (rc != 0)
      return app_fail(a, 1, "internal error: cannot take an output: %s%s", chorus_strerror(rc), "");
    if (o.kind == CHORUS_SERVER_OUT_NONE) return 0;
    if (o.kind == CHORUS_SERVER_OUT_PERSIST && a->have_store) {
      char why[CHORUS_STORE_ERR_BYTES];
      if (chorus_store_save(&a->store, o.data, o.len, why, sizeof why) != CHORUS_STORE_OK)
        return app_fail(a, 1, "cannot make a snapshot durable, stopping: %s%s", why, "");
    } else if (o.kind == CHORUS_SERVER_OUT_RESPONSE) {
      chorus_udp_addr to;
      if (chorus_server_loop_addr_unpack(&o.to, &to) != 0 ||
          chorus_udp_send(a->fd, &to, o.data, o.len) != CHORUS_UDP_OK)
        a->send_failed++; /* the client retransmits; the cache answers */
    } else if (o.kind == CHORUS_SERVER_OUT_EVENT) {
      app_event(a, &o);
    }
  }
}

/* Read up to a batch of datagrams; 0, or 1 on a fatal error. */
static int app_receive(srv_app *a) {
  for (int i = 0; i < CHORUS_SERVER_LOOP_RECV_BATCH; i++) {
    chorus_udp_addr from;
    chorus_srv_addr blob;
    size_t len = 0;
    int rc = chorus_udp_recv(a->fd, a->rx, sizeof a->rx, &len, &from);
    if (rc != CHORUS_UDP_OK) return 0; /* WOULD_BLOCK, or an ICMP error: go on */
    if (chorus_server_loop_addr_pack(&from, &blob) != 0) continue;
    chorus_server_recv(a->core, chorus_clock_now_us(), &blob, a->rx, len);
    if (app_drain(a) != 0) return 1; /* drained after each: the queue never fills */
  }
  return 0;
}

static int app_wait_ms(const srv_app *a) {
  uint64_t d = chorus_server_deadline(a->core), now = chorus_clock_now_us();
  if (d <= now) return 0;
  uint64_t ms = (d - now + 999) / 1000;
  return ms > CHORUS_SERVER_LOOP_WAIT_MS_MAX ? CHORUS_SERVER_LOOP_WAIT_MS_MAX : (int)ms;
}

static int app_loop(srv_app *a) {
  for (;;) {
    if (app_drain(a) != 0) return 1;
    struct pollfd p[2];
    p[0].fd = a->fd;
    p[0].events = POLLIN;
    p[1].fd = a->cfg->stop_fd;
    p[1].events = POLLIN;
    int n = poll(p, a->cfg->stop_fd >= 0 ? 2 : 1, app_wait_ms(a));
    if (n < 0 && errno != EINTR)
      return app_fail(a, 1, "poll failed: %s%s", strerror(errno), "");
    if (n > 0 && a->cfg->stop_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP))) return 0;
    if (n > 0 && (p[0].revents & POLLIN) && app_receive(a) != 0) return 1;
    uint64_t now = chorus_clock_now_us();
    if (chorus_server_deadline(a->core) <= now) chorus_server_tick(a->core, now);
  }
}

int chorus_server_loop_run(const chorus_server_loop_config *cfg, char *err, size_t err_bytes) {
  srv_app *a = calloc(1, sizeof *a);
  if (a == NULL) {
    if (err && err_bytes) snprintf(err, err_bytes, "out of memory");
    return 1;
  }
  a->cfg = cfg;
  a->fd = -1;
  a->err = err;
  a->err_bytes = err_bytes;
  int rc = app_core(a);
  if (rc == 0) rc = app_load(a);
  if (rc == 0) rc = app_socket(a);
  if (rc == 0) rc = app_loop(a);
  if (rc == 0) {
    chorus_server_stats st;
    chorus_server_stats_get(a->core, &st);
    app_log(a, "stopped: %llu requests, %llu answered again from the cache, %llu rejected",
            (unsigned long long)st.requests, (unsigned long long)st.duplicates,
            (unsigned long long)(st.rx_too_big + st.rx_truncated + st.rx_bad_magic +
                                 st.rx_bad_version + st.rx_bad_frame + st.busy));
  }
  if (a->have_store) chorus_store_close(&a->store);
  chorus_udp_close(a->fd);
  chorus_server_free(a->core);
  free(a->buf);
  free(a);
  return rc;
}
