/*
 * srvclient: a small scriptable client of `chorus server`, for the
 * integration tests (built by tests/integration/server_*.sh with the
 * Makefile's flags). It drives core/client.h over a real UDP socket.
 *
 *   srvclient --server HOST:PORT[,HOST:PORT...] [--timeout-ms N] [--loss P]
 *             [--seed N]
 *
 * Reads one command per line on stdin and prints one result line per
 * command on stdout, in order:
 *
 *   signup NAME PASSWORD          login NAME PASSWORD [PEER_HOST:PORT]
 *   logout NAME                   keepalive NAME
 *   users NAME PATTERN [START]    delete NAME PASSWORD
 *   setaddr NAME HOST:PORT        create NAME ROOM
 *   join NAME ROOM [create]       leave NAME
 *   rooms NAME [START]            members NAME ROOM
 *   store NAME TO EPOCH ID TEXT   (an offline message from NAME to TO)
 *   fetch NAME                    (OK waiting=N seq:from:epoch:id:text ...)
 *   ack NAME UPTO                 (deletes NAME's messages up to seq UPTO)
 *   badversion V                  (a KEEPALIVE sent with version byte V)
 *   echo TEXT                     (prints TEXT: a marker for scripts)
 *
 * NAME picks the session (the token of NAME's last login). Results:
 *   OK [details]                          the server accepted
 *   ERR STATUSNAME text [detail=N]        the server refused, or
 *                                         CHORUS_SRV_UNREACHABLE
 * --loss P drops each datagram, sent or received, with probability P, so
 * the retransmission and the server's reply cache are exercised for real.
 * Exit 0 at end of input, 2 on bad usage, 1 on a socket failure.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "clock.h"
#include "prng.h"
#include "server_loop.h"
#include "srvwire.h"
#include "udp.h"

#define SC_USERS_MAX 64
#define SC_LINE_BYTES 1024
#define SC_ERR_BYTES 512

typedef struct sc_user {
  char name[CHORUS_NAME_BYTES_MAX + 1];
  uint8_t token[CHORUS_SRV_TOKEN_BYTES];
} sc_user;

typedef struct sc {
  int fd;
  chorus_client *c;
  chorus_client_config cfg;
  chorus_udp_addr servers[CHORUS_CLIENT_SERVERS_MAX];
  chorus_prng rng;
  uint32_t loss_ppm;
  sc_user users[SC_USERS_MAX];
  size_t nusers;
} sc;

static int sc_usage(const char *why) {
  fprintf(stderr,
          "srvclient: %s\nusage: srvclient --server HOST:PORT[,HOST:PORT...] "
          "[--timeout-ms N] [--loss P] [--seed N]\n",
          why);
  return 2;
}

static sc_user *sc_user_get(sc *s, const char *name) {
  for (size_t i = 0; i < s->nusers; i++)
    if (strcmp(s->users[i].name, name) == 0) return &s->users[i];
  if (s->nusers == SC_USERS_MAX || strlen(name) > CHORUS_NAME_BYTES_MAX) return NULL;
  sc_user *u = &s->users[s->nusers++];
  memset(u, 0, sizeof *u);
  strcpy(u->name, name);
  return u;
}

static int sc_lost(sc *s) { return chorus_prng_chance_ppm(&s->rng, s->loss_ppm); }

/* ---- one exchange ------------------------------------------------------- */

static void sc_receive(sc *s) {
  uint8_t buf[2048];
  for (;;) {
    size_t len = 0;
    chorus_udp_addr from;
    chorus_srv_addr blob;
    if (chorus_udp_recv(s->fd, buf, sizeof buf, &len, &from) != CHORUS_UDP_OK) return;
    if (sc_lost(s) || chorus_server_loop_addr_pack(&from, &blob) != 0) continue;
    chorus_client_recv(s->c, chorus_clock_now_us(), &blob, buf, len);
  }
}

/* Send datagrams; return 1 with *out set once the result is there. */
static int sc_drain(sc *s, chorus_client_output *out) {
  for (;;) {
    chorus_client_poll(s->c, out);
    if (out->kind == CHORUS_CLIENT_OUT_NONE) return 0;
    if (out->kind != CHORUS_CLIENT_OUT_DATAGRAM) return 1;
    if (!sc_lost(s)) chorus_udp_send(s->fd, &s->servers[out->server], out->data, out->len);
  }
}

static void sc_exchange(sc *s, const chorus_srv_request *q, chorus_client_output *out) {
  if (chorus_client_submit(s->c, chorus_clock_now_us(), q, 0, NULL) != 0) {
    memset(out, 0, sizeof *out);
    out->resp.status = CHORUS_SRV_BAD_REQUEST; /* did not encode */
    return;
  }
  while (!sc_drain(s, out)) {
    uint64_t d = chorus_client_deadline(s->c), now = chorus_clock_now_us();
    int ms = d <= now ? 0 : (int)((d - now + 999) / 1000);
    struct pollfd p = {s->fd, POLLIN, 0};
    if (poll(&p, 1, ms) > 0) sc_receive(s);
    chorus_client_tick(s->c, chorus_clock_now_us());
  }
}

/* ---- printing ----------------------------------------------------------- */

static void sc_addr_text(const chorus_srv_addr *a, char *buf, size_t n) {
  chorus_udp_addr u;
  if (a->len == 0) snprintf(buf, n, "-");
  else if (chorus_server_loop_addr_unpack(a, &u) != 0) snprintf(buf, n, "?");
  else chorus_udp_format(&u, buf, n);
}

static void sc_print_ok(const chorus_client_output *o) {
  const chorus_srv_response *p = &o->resp;
  char addr[CHORUS_UDP_TEXT_BYTES];
  printf("OK");
  switch (p->op) {
  case CHORUS_SRV_OP_LOGIN:
    printf(" lease=%u room=%s", p->lease_ms, p->room[0] ? p->room : "-");
    break;
  case CHORUS_SRV_OP_KEEPALIVE:
    printf(" lease=%u", p->lease_ms);
    break;
  case CHORUS_SRV_OP_USERS:
  case CHORUS_SRV_OP_ROOM_LIST:
    printf(" total=%u", p->total);
    for (size_t i = 0; i < p->count; i++) {
      if (p->op == CHORUS_SRV_OP_USERS)
        printf(" %s%s", p->entries[i].name, p->entries[i].value & CHORUS_SRV_FLAG_ONLINE ? "*" : "");
      else
        printf(" %s:%u", p->entries[i].name, p->entries[i].value);
    }
    break;
  case CHORUS_SRV_OP_MSG_FETCH:
    printf(" waiting=%u", p->waiting);
    for (size_t i = 0; i < p->msg_count; i++) {
      const chorus_srv_message *m = &p->msgs[i];
      printf(" %llu:%s:%llu:%llu:%.*s", (unsigned long long)m->seq, m->from,
             (unsigned long long)m->sender_epoch, (unsigned long long)m->msg_id,
             (int)m->text_len, (const char *)p->text + m->text_off);
    }
    break;
  case CHORUS_SRV_OP_ROOM_JOIN:
  case CHORUS_SRV_OP_ROOM_MEMBERS:
    printf(" room=%s count=%u", p->room, p->count);
    for (size_t i = 0; i < p->count; i++) {
      sc_addr_text(&p->members[i].addr, addr, sizeof addr);
      printf(" %s@%s%s", p->members[i].name, addr,
             p->members[i].flags & CHORUS_SRV_FLAG_ONLINE ? "*" : "");
    }
    break;
  default:
    break;
  }
  printf("\n");
}

static void sc_print(const chorus_client_output *o) {
  const chorus_srv_response *p = &o->resp;
  if (p->status == CHORUS_SRV_OK) sc_print_ok(o);
  else
    printf("ERR %s %s detail=%u\n", chorus_srv_statusname(p->status),
           chorus_srv_strerror(p->status), p->detail);
  fflush(stdout);
}

/* ---- commands ----------------------------------------------------------- */

static int sc_resolve_blob(const char *text, chorus_srv_addr *out) {
  chorus_udp_addr a;
  char err[SC_ERR_BYTES];
  if (chorus_udp_resolve(text, AF_UNSPEC, 0, &a, err, sizeof err) != 0) return -1;
  return chorus_server_loop_addr_pack(&a, out);
}

static void sc_copy(char *dst, size_t cap, const char *src) {
  snprintf(dst, cap, "%s", src ? src : "");
}

/* Fill q from the words of a command; -1 for a usage error. */
static int sc_build(sc_user *u, char **w, int n, chorus_srv_request *q) {
  const char *cmd = w[0];
  memcpy(q->token, u->token, sizeof q->token);
  if (!strcmp(cmd, "signup") || !strcmp(cmd, "login") || !strcmp(cmd, "delete")) {
    if (n < 3) return -1;
    q->op = !strcmp(cmd, "signup") ? CHORUS_SRV_OP_SIGNUP
            : !strcmp(cmd, "login") ? CHORUS_SRV_OP_LOGIN : CHORUS_SRV_OP_DELETE;
    sc_copy(q->user, sizeof q->user, w[1]);
    size_t pl = strlen(w[2]);
    q->password_len = (uint8_t)(pl > CHORUS_SRV_PASSWORD_BYTES_MAX ? 255 : pl);
    memcpy(q->password, w[2], pl > sizeof q->password ? sizeof q->password : pl);
    if (q->op == CHORUS_SRV_OP_LOGIN && n >= 4 && sc_resolve_blob(w[3], &q->addr) != 0) return -1;
    return 0;
  }
  if (!strcmp(cmd, "logout")) q->op = CHORUS_SRV_OP_LOGOUT;
  else if (!strcmp(cmd, "keepalive")) q->op = CHORUS_SRV_OP_KEEPALIVE;
  else if (!strcmp(cmd, "leave")) q->op = CHORUS_SRV_OP_ROOM_LEAVE;
  else if (!strcmp(cmd, "rooms")) {
    q->op = CHORUS_SRV_OP_ROOM_LIST;
    q->start = (uint16_t)(n >= 3 ? atoi(w[2]) : 0);
  } else if (!strcmp(cmd, "users") && n >= 3) {
    q->op = CHORUS_SRV_OP_USERS;
    sc_copy(q->pattern, sizeof q->pattern, w[2]);
    q->start = (uint16_t)(n >= 4 ? atoi(w[3]) : 0);
  } else if (!strcmp(cmd, "store") && n >= 6) {
    q->op = CHORUS_SRV_OP_MSG_STORE;
    sc_copy(q->to, sizeof q->to, w[2]);
    q->sender_epoch = strtoull(w[3], NULL, 10);
    q->msg_id = strtoull(w[4], NULL, 10);
    size_t tl = strlen(w[5]);
    q->text_len = (uint16_t)(tl > CHORUS_SRV_MSG_BYTES_MAX ? CHORUS_SRV_MSG_BYTES_MAX : tl);
    memcpy(q->text, w[5], q->text_len);
  } else if (!strcmp(cmd, "fetch")) {
    q->op = CHORUS_SRV_OP_MSG_FETCH;
  } else if (!strcmp(cmd, "ack") && n >= 3) {
    q->op = CHORUS_SRV_OP_MSG_ACK;
    q->upto = strtoull(w[2], NULL, 10);
  } else if (!strcmp(cmd, "setaddr") && n >= 3) {
    q->op = CHORUS_SRV_OP_SET_ADDR;
    if (sc_resolve_blob(w[2], &q->addr) != 0) return -1;
  } else if ((!strcmp(cmd, "create") || !strcmp(cmd, "join") || !strcmp(cmd, "members")) &&
             n >= 3) {
    q->op = !strcmp(cmd, "create") ? CHORUS_SRV_OP_ROOM_CREATE
            : !strcmp(cmd, "join") ? CHORUS_SRV_OP_ROOM_JOIN : CHORUS_SRV_OP_ROOM_MEMBERS;
    sc_copy(q->room, sizeof q->room, w[2]);
    if (q->op == CHORUS_SRV_OP_ROOM_JOIN && n >= 4 && !strcmp(w[3], "create"))
      q->flags = CHORUS_SRV_JOIN_CREATE;
  } else {
    return -1;
  }
  return 0;
}

/* badversion V: a raw KEEPALIVE with another version byte. */
static void sc_badversion(sc *s, int version) {
  chorus_srv_request q;
  uint8_t b[64], r[2048];
  memset(&q, 0, sizeof q);
  q.op = CHORUS_SRV_OP_KEEPALIVE;
  q.rid = 7;
  int n = chorus_srv_request_encode(b, sizeof b, &q);
  b[2] = (uint8_t)version;
  for (int attempt = 0; attempt < 20; attempt++) {
    chorus_udp_send(s->fd, &s->servers[0], b, (size_t)n);
    struct pollfd p = {s->fd, POLLIN, 0};
    size_t len = 0;
    if (poll(&p, 1, 250) <= 0 || chorus_udp_recv(s->fd, r, sizeof r, &len, NULL) != 0) continue;
    chorus_client_output o;
    memset(&o, 0, sizeof o);
    if (chorus_srv_response_decode(r, len, &o.resp) != 0 || o.resp.rid != 7) continue;
    sc_print(&o);
    return;
  }
  printf("ERR %s %s detail=0\n", chorus_srv_statusname(CHORUS_SRV_UNREACHABLE),
         chorus_srv_strerror(CHORUS_SRV_UNREACHABLE));
}

static void sc_command(sc *s, char **w, int n) {
  if (!strcmp(w[0], "echo")) {
    for (int i = 1; i < n; i++) printf("%s%s", w[i], i + 1 < n ? " " : "");
    printf("\n");
    return;
  }
  if (!strcmp(w[0], "badversion") && n >= 2) {
    sc_badversion(s, atoi(w[1]));
    return;
  }
  sc_user *u = n >= 2 ? sc_user_get(s, w[1]) : NULL;
  chorus_srv_request q;
  memset(&q, 0, sizeof q);
  if (u == NULL || sc_build(u, w, n, &q) != 0) {
    printf("USAGE %s\n", w[0]);
    return;
  }
  chorus_client_output o;
  sc_exchange(s, &q, &o);
  if (o.resp.status == CHORUS_SRV_OK && q.op == CHORUS_SRV_OP_LOGIN)
    memcpy(u->token, o.resp.token, sizeof u->token);
  sc_print(&o);
}

static void sc_run(sc *s) {
  char line[SC_LINE_BYTES];
  while (fgets(line, sizeof line, stdin) != NULL) {
    char *w[8];
    int n = 0;
    for (char *t = strtok(line, " \t\r\n"); t && n < 8; t = strtok(NULL, " \t\r\n")) w[n++] = t;
    if (n > 0) sc_command(s, w, n);
    fflush(stdout);
  }
}

/* ---- setup -------------------------------------------------------------- */

static int sc_servers(sc *s, char *list) {
  char err[SC_ERR_BYTES];
  for (char *t = strtok(list, ","); t; t = strtok(NULL, ",")) {
    size_t i = s->cfg.server_count;
    if (i == CHORUS_CLIENT_SERVERS_MAX) return sc_usage("at most 9 servers");
    if (chorus_udp_resolve(t, AF_UNSPEC, 0, &s->servers[i], err, sizeof err) != 0)
      return sc_usage(err);
    chorus_server_loop_addr_pack(&s->servers[i], &s->cfg.servers[i]);
    s->cfg.server_count++;
  }
  return s->cfg.server_count ? 0 : sc_usage("missing --server");
}

static int sc_socket(sc *s) {
  chorus_udp_addr local;
  char err[SC_ERR_BYTES];
  memset(&local, 0, sizeof local);
  if (s->servers[0].ss.ss_family == AF_INET6) {
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_any;
    memcpy(&local.ss, &a, sizeof a);
    local.len = sizeof a;
  } else {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    memcpy(&local.ss, &a, sizeof a);
    local.len = sizeof a;
  }
  if (chorus_udp_open(&local, 0, &s->fd, err, sizeof err) != 0) {
    fprintf(stderr, "srvclient: %s\n", err);
    return 1;
  }
  return 0;
}

static int sc_args(sc *s, int argc, char **argv) {
  chorus_client_config_default(&s->cfg);
  s->cfg.seed = chorus_clock_now_us();
  uint64_t seed = 1;
  char *list = NULL;
  for (int i = 1; i < argc; i++) {
    if (i + 1 >= argc) return sc_usage("every option needs a value");
    const char *o = argv[i], *v = argv[++i];
    if (!strcmp(o, "--server")) list = argv[i];
    else if (!strcmp(o, "--timeout-ms")) s->cfg.deadline_us = strtoull(v, NULL, 10) * 1000;
    else if (!strcmp(o, "--loss")) s->loss_ppm = (uint32_t)(atof(v) * 1e6);
    else if (!strcmp(o, "--seed")) seed = strtoull(v, NULL, 10);
    else return sc_usage("unknown option");
  }
  chorus_prng_init(&s->rng, seed);
  if (list == NULL) return sc_usage("missing --server");
  return sc_servers(s, list);
}

int main(int argc, char **argv) {
  static sc s;
  s.fd = -1;
  int rc = sc_args(&s, argc, argv);
  if (rc != 0) return rc;
  if (chorus_client_new(&s.cfg, &s.c) != 0) return sc_usage("bad client configuration");
  rc = sc_socket(&s);
  if (rc == 0) sc_run(&s);
  chorus_client_free(s.c);
  chorus_udp_close(s.fd);
  return rc;
}
