#include "peer_server.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "seat.h"
#include "server_loop.h"
#include "session.h"

/* A private message for a user outside the room, until the server has it. */
typedef struct srv_offline {
  char to[CHORUS_NAME_BYTES_MAX + 1];
  uint64_t msg_id;
  uint16_t len;
  uint8_t text[CHORUS_SRV_MSG_BYTES_MAX];
} srv_offline;

/* The newest offline message shown from one sender's boot. */
typedef struct srv_seen {
  char from[CHORUS_NAME_BYTES_MAX + 1];
  uint64_t epoch, msg_id;
} srv_seen;

struct chorus_peer_srv {
  chorus_session *session;
  chorus_show *view;
  char name[CHORUS_NAME_BYTES_MAX + 1];
  uint8_t password[CHORUS_SRV_PASSWORD_BYTES_MAX];
  size_t password_len;
  chorus_srv_addr addr;    /* registered peer address */
  chorus_seat seat;        /* login, seat, refresh (core/seat.h): guarded by mu */
  char servers_text[CHORUS_PEER_ARGS_SERVERS_MAX * CHORUS_PEER_ARGS_SERVER_TEXT_BYTES];
  /* The room, shared with the watcher: guarded by mu. */
  pthread_mutex_t mu;
  pthread_cond_t poke;
  char room[CHORUS_NAME_BYTES_MAX + 1]; /* "" outside a room */
  chorus_peer_roster roster;
  int poked, stop, watching, down;
  chorus_loop *loop;
  pthread_t thread;
  /* Offline messages out (guarded by mu) and in (watcher only). */
  srv_offline *outbox; /* ring of CHORUS_PEER_SRV_OUTBOX_MAX */
  size_t out_head, out_count;
  uint64_t epoch, next_msg_id;
  srv_seen seen[CHORUS_PEER_SRV_SENDERS_MAX];
  size_t seen_count, seen_next;
};

/* ---- password ------------------------------------------------------------ */

/* Strip the line end; 0 if the rest is a usable password. */
static int srv_password_set(chorus_peer_srv *s, char *line, size_t n) {
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
  if (n == 0 || n > CHORUS_SRV_PASSWORD_BYTES_MAX) return -1;
  memcpy(s->password, line, n);
  s->password_len = n;
  return 0;
}

static int srv_password_file(chorus_peer_srv *s, const char *path, char *err, size_t err_bytes) {
  char line[CHORUS_SRV_PASSWORD_BYTES_MAX + 4];
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, err_bytes, "cannot read --password-file %s: %s", path, strerror(errno));
    return 1;
  }
  int ok = fgets(line, sizeof line, f) != NULL && srv_password_set(s, line, strlen(line)) == 0;
  fclose(f);
  memset(line, 0, sizeof line);
  if (!ok) snprintf(err, err_bytes, "--password-file %s: the first line must hold 1-128 bytes", path);
  return ok ? 0 : 1;
}

/* Ask on the terminal with echo off. */
static int srv_password_tty(chorus_peer_srv *s, char *err, size_t err_bytes) {
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, err_bytes, "no terminal to ask the password on: give --password-file FILE");
    return 2;
  }
  struct termios old, quiet;
  int have = tcgetattr(fd, &old) == 0;
  quiet = old;
  quiet.c_lflag &= ~(tcflag_t)ECHO;
  if (have) tcsetattr(fd, TCSAFLUSH, &quiet);
  char prompt[64], line[CHORUS_SRV_PASSWORD_BYTES_MAX + 4];
  int plen = snprintf(prompt, sizeof prompt, "password for %s: ", s->name);
  ssize_t w = write(fd, prompt, (size_t)plen);
  ssize_t n = read(fd, line, sizeof line - 1);
  if (have) tcsetattr(fd, TCSAFLUSH, &old);
  w = write(fd, "\n", 1);
  (void)w;
  close(fd);
  int ok = n > 0 && srv_password_set(s, line, (size_t)n) == 0;
  memset(line, 0, sizeof line);
  if (!ok) snprintf(err, err_bytes, "no password given (1-128 bytes)");
  return ok ? 0 : 1;
}

/* ---- addresses ----------------------------------------------------------- */

static int srv_wildcard(const chorus_udp_addr *a) {
  if (a->ss.ss_family == AF_INET) {
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)&a->ss;
    return v4->sin_addr.s_addr == htonl(INADDR_ANY);
  }
  const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&a->ss;
  static const struct in6_addr any = IN6ADDR_ANY_INIT;
  return memcmp(&v6->sin6_addr, &any, sizeof any) == 0;
}

/* The address the others reach us at: `local`, or for a wildcard bind the
 * host's address on the route to `server` (a connected UDP socket's name). */
static void srv_public_addr(const chorus_udp_addr *local, const chorus_udp_addr *server,
                            chorus_udp_addr *out) {
  *out = *local;
  if (!srv_wildcard(local) || local->ss.ss_family != server->ss.ss_family) return;
  int fd = socket(server->ss.ss_family, SOCK_DGRAM, 0);
  if (fd < 0) return;
  chorus_udp_addr me;
  me.len = sizeof me.ss;
  if (connect(fd, (const struct sockaddr *)&server->ss, server->len) == 0 &&
      getsockname(fd, (struct sockaddr *)&me.ss, &me.len) == 0) {
    in_port_t port = local->ss.ss_family == AF_INET
                         ? ((const struct sockaddr_in *)&local->ss)->sin_port
                         : ((const struct sockaddr_in6 *)&local->ss)->sin6_port;
    if (me.ss.ss_family == AF_INET) ((struct sockaddr_in *)&me.ss)->sin_port = port;
    else ((struct sockaddr_in6 *)&me.ss)->sin6_port = port;
    *out = me;
  }
  close(fd);
}

static int srv_resolve(chorus_peer_srv *s, const chorus_peer_args *a, int family,
                       chorus_udp_addr *servers, char *err, size_t err_bytes) {
  for (size_t i = 0; i < a->server_count; i++) {
    char why[CHORUS_PEER_SRV_ERR_BYTES];
    if (chorus_udp_resolve(a->servers[i], family, 0, &servers[i], why, sizeof why) != 0) {
      snprintf(err, err_bytes, "bad --server: %s", why);
      return 2;
    }
    size_t used = strlen(s->servers_text);
    snprintf(s->servers_text + used, sizeof s->servers_text - used, "%s%s", i ? "," : "",
             a->servers[i]);
  }
  return 0;
}

/* ---- requests ------------------------------------------------------------ */

static chorus_srv_request srv_req(uint8_t op) {
  chorus_srv_request q;
  memset(&q, 0, sizeof q);
  q.op = op;
  return q;
}

static int srv_call(chorus_peer_srv *s, chorus_srv_request *q, chorus_srv_response *p) {
  int st = chorus_session_call(s->session, q, p);
  memset(q->password, 0, sizeof q->password);
  if (st == CHORUS_SRV_NOT_LOGGED_IN) chorus_session_logged_out(s->session);
  return st;
}

/* Runs the seat machine's requests that are due, one blocking call each
 * (at most SRV_DRIVE_MAX, a bound should a server keep forgetting us);
 * returns the events they caused. The caller does not hold mu. */
#define SRV_DRIVE_MAX 16
static unsigned srv_drive(chorus_peer_srv *s) {
  unsigned ev = 0;
  for (int i = 0; i < SRV_DRIVE_MAX; i++) {
    chorus_srv_request q;
    chorus_srv_response p;
    pthread_mutex_lock(&s->mu);
    int due = chorus_seat_next(&s->seat, chorus_clock_now_us(), &q);
    pthread_mutex_unlock(&s->mu);
    if (!due) break;
    int st = srv_call(s, &q, &p);
    pthread_mutex_lock(&s->mu);
    ev |= chorus_seat_answer(&s->seat, chorus_clock_now_us(), st, &p);
    pthread_mutex_unlock(&s->mu);
  }
  return ev;
}

/* LOGIN again (SIGNUP first for a new name), and join the room again if
 * in one; the status. *created says whether the account was made. */
static int srv_login(chorus_peer_srv *s, int *created) {
  pthread_mutex_lock(&s->mu);
  chorus_seat_relogin(&s->seat, chorus_clock_now_us());
  pthread_mutex_unlock(&s->mu);
  unsigned ev = srv_drive(s);
  *created = (ev & CHORUS_SEAT_EV_SIGNED_UP) != 0;
  pthread_mutex_lock(&s->mu);
  int st = chorus_seat_logged_in(&s->seat) ? CHORUS_SRV_OK : chorus_seat_status(&s->seat);
  pthread_mutex_unlock(&s->mu);
  return st;
}

static const char *srv_why(chorus_peer_srv *s, int st, char *buf, size_t bytes) {
  if (st == CHORUS_SRV_UNREACHABLE)
    snprintf(buf, bytes, "no server answers (%.300s)", s->servers_text);
  else
    snprintf(buf, bytes, "%s", chorus_srv_strerror(st));
  return buf;
}

int chorus_peer_srv_open(const chorus_peer_args *args, chorus_show *view,
                         const chorus_udp_addr *local, chorus_peer_srv **out, char *err,
                         size_t err_bytes) {
  chorus_udp_addr servers[CHORUS_PEER_ARGS_SERVERS_MAX], pub;
  chorus_peer_srv *s = calloc(1, sizeof *s);
  srv_offline *outbox = calloc(CHORUS_PEER_SRV_OUTBOX_MAX, sizeof *outbox);
  if (!s || !outbox || pthread_mutex_init(&s->mu, NULL) != 0 ||
      pthread_cond_init(&s->poke, NULL) != 0) {
    snprintf(err, err_bytes, "out of memory");
    free(outbox);
    free(s);
    return 1;
  }
  s->outbox = outbox;
  /* (epoch, id) of this boot's offline messages: above every earlier
   * boot's, as the server's duplicate check needs. */
  s->epoch = chorus_clock_boot_epoch();
  s->next_msg_id = 1;
  s->view = view;
  memcpy(s->name, args->name, strlen(args->name) + 1);
  *out = s;
  int rc = srv_resolve(s, args, local->ss.ss_family, servers, err, err_bytes);
  if (rc == 0)
    rc = args->password_file ? srv_password_file(s, args->password_file, err, err_bytes)
                             : srv_password_tty(s, err, err_bytes);
  if (rc != 0) return rc;
  srv_public_addr(local, &servers[0], &pub);
  chorus_server_loop_addr_pack(&pub, &s->addr);
  uint64_t seed = ((uint64_t)getpid() << 32) ^ chorus_clock_now_us();
  if (chorus_session_new(servers, args->server_count, seed, CHORUS_SESSION_DEADLINE_US_DEFAULT,
                         &s->session, err, err_bytes) != 0)
    return 1;
  chorus_seat_config sc = {s->name, s->password, s->password_len, s->addr,
                           (uint64_t)CHORUS_PEER_SRV_REFRESH_MS * 1000u};
  chorus_seat_init(&s->seat, &sc);
  int created = 0, st = srv_login(s, &created);
  if (st != CHORUS_SRV_OK) {
    char why[CHORUS_PEER_SRV_ERR_BYTES];
    snprintf(err, err_bytes, "cannot log in as %s: %s", s->name, srv_why(s, st, why, sizeof why));
    return 1;
  }
  if (created) chorus_show_server(view, "signup", "created the account %s", s->name);
  chorus_show_server(view, "login", "logged in as %s", s->name);
  return 0;
}

/* ---- the room ------------------------------------------------------------ */

/* The CLI's roster (platform addresses) from the seat machine's. */
static void srv_roster(const chorus_seat_roster *from, chorus_peer_roster *r) {
  memset(r, 0, sizeof *r);
  for (size_t i = 0; i < CHORUS_MEMBERS_MAX; i++) {
    memcpy(r->names[i], from->names[i], sizeof r->names[i]);
    if (from->names[i][0]) chorus_server_loop_addr_unpack(&from->addrs[i], &r->addrs[i]);
  }
  r->self = from->self;
}

int chorus_peer_srv_join(chorus_peer_srv *s, const char *room, chorus_peer_roster *roster,
                         char *err, size_t err_bytes) {
  pthread_mutex_lock(&s->mu);
  chorus_seat_enter(&s->seat, chorus_clock_now_us(), room);
  pthread_mutex_unlock(&s->mu);
  srv_drive(s);
  pthread_mutex_lock(&s->mu);
  int st = chorus_seat_status(&s->seat);
  if (chorus_seat_seated(&s->seat)) {
    memcpy(s->room, room, strlen(room) + 1);
    srv_roster(&s->seat.roster, &s->roster);
    *roster = s->roster;
    st = CHORUS_SRV_OK;
  } else {
    if (st == CHORUS_SRV_OK) st = CHORUS_SRV_NOT_IN_ROOM;
    chorus_seat_leave(&s->seat, chorus_clock_now_us()); /* no retries outside */
  }
  pthread_mutex_unlock(&s->mu);
  if (st != CHORUS_SRV_OK) {
    char why[CHORUS_PEER_SRV_ERR_BYTES];
    snprintf(err, err_bytes, "cannot join room %s: %s", room, srv_why(s, st, why, sizeof why));
    return 1;
  }
  chorus_show_server(s->view, "join", "joined room %s (seat %zu)", room, roster->self);
  return 0;
}

void chorus_peer_srv_leave(chorus_peer_srv *s) {
  pthread_mutex_lock(&s->mu);
  char room[CHORUS_NAME_BYTES_MAX + 1];
  memcpy(room, s->room, sizeof room);
  s->room[0] = '\0';
  if (room[0]) chorus_seat_leave(&s->seat, chorus_clock_now_us());
  pthread_mutex_unlock(&s->mu);
  if (room[0] && (srv_drive(s) & CHORUS_SEAT_EV_LEFT))
    chorus_show_server(s->view, "leave", "left room %s", room);
}

int chorus_peer_srv_find(chorus_peer_srv *s, const char *name) {
  int seat = -1;
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < CHORUS_MEMBERS_MAX && s->room[0]; i++)
    if (strcmp(s->roster.names[i], name) == 0) seat = (int)i;
  pthread_mutex_unlock(&s->mu);
  return seat;
}

/* ---- the watcher --------------------------------------------------------- */

/* Tell the loop who sits where (no-ops for unchanged seats). */
static void srv_apply(chorus_peer_srv *s, const chorus_peer_roster *r) {
  for (size_t i = 0; i < CHORUS_MEMBERS_MAX; i++)
    if (i != r->self && r->names[i][0])
      chorus_loop_set_member(s->loop, i, r->names[i], &r->addrs[i]); /* full: next round */
}

static void srv_reachable(chorus_peer_srv *s, unsigned ev) {
  if (ev & CHORUS_SEAT_EV_UNREACHABLE)
    chorus_show_warning(s->view, "CHORUS_SRV_UNREACHABLE",
                        "no server answers (%.300s): chatting goes on, retrying in the background",
                        s->servers_text);
  if (ev & CHORUS_SEAT_EV_BACK) chorus_show_server(s->view, "back", "a server answers again");
}

/* One round of the watcher: the members (or, when the server forgot the
 * session or the seat, log in and join again), then name new occupants. */
static void srv_refresh(chorus_peer_srv *s) {
  pthread_mutex_lock(&s->mu);
  int in_room = s->room[0] != '\0';
  size_t was = s->roster.self;
  pthread_mutex_unlock(&s->mu);
  if (!in_room) return;
  unsigned ev = srv_drive(s);
  srv_reachable(s, ev);
  pthread_mutex_lock(&s->mu);
  s->down = s->seat.down;
  chorus_peer_roster r;
  srv_roster(&s->seat.roster, &r);
  if ((ev & CHORUS_SEAT_EV_ROSTER) && s->room[0]) s->roster = r;
  char room[CHORUS_NAME_BYTES_MAX + 1];
  memcpy(room, s->room, sizeof room);
  pthread_mutex_unlock(&s->mu);
  if ((ev & CHORUS_SEAT_EV_SEATED) && (ev & CHORUS_SEAT_EV_LOST))
    chorus_show_server(s->view, "reregistered", "registered again with the server (room %s)",
                       room);
  if (ev & CHORUS_SEAT_EV_MOVED)
    chorus_show_warning(s->view, "CLI_SEAT_MOVED",
                        "the server gave this node seat %zu instead of %zu: /join %s again",
                        r.self, was, room);
  if (ev & CHORUS_SEAT_EV_ROSTER) srv_apply(s, &r);
}

/* ---- offline messages --------------------------------------------------- */

int chorus_peer_srv_offline(chorus_peer_srv *s, const char *to, const uint8_t *text,
                            size_t len_bytes, char *err, size_t err_bytes) {
  if (!chorus_srv_name_valid(to, strlen(to))) {
    snprintf(err, err_bytes, "unknown user (not a valid name)");
    return -1;
  }
  if (len_bytes == 0 || len_bytes > CHORUS_SRV_MSG_BYTES_MAX) {
    snprintf(err, err_bytes, "a message for an offline user holds 1 to %d bytes",
             CHORUS_SRV_MSG_BYTES_MAX);
    return -1;
  }
  pthread_mutex_lock(&s->mu);
  int full = s->out_count == CHORUS_PEER_SRV_OUTBOX_MAX;
  if (!full) {
    srv_offline *o = &s->outbox[(s->out_head + s->out_count++) % CHORUS_PEER_SRV_OUTBOX_MAX];
    memcpy(o->to, to, strlen(to) + 1);
    o->msg_id = s->next_msg_id++;
    o->len = (uint16_t)len_bytes;
    memcpy(o->text, text, len_bytes);
    s->poked = 1;
    pthread_cond_signal(&s->poke);
  }
  pthread_mutex_unlock(&s->mu);
  if (full)
    snprintf(err, err_bytes, "%d offline messages already wait to be stored: try later",
             CHORUS_PEER_SRV_OUTBOX_MAX);
  return full ? -1 : 0;
}


/* Store the queued messages, oldest first, each until the server has it
 * durably. Stops at the first that must wait (no server, no quorum). */
static void srv_outbox_drain(chorus_peer_srv *s) {
  for (;;) {
    chorus_srv_request q = srv_req(CHORUS_SRV_OP_MSG_STORE);
    chorus_srv_response p;
    pthread_mutex_lock(&s->mu);
    int empty = s->out_count == 0;
    if (!empty) {
      const srv_offline *o = &s->outbox[s->out_head];
      memcpy(q.to, o->to, sizeof q.to);
      q.msg_id = o->msg_id;
      q.text_len = o->len;
      memcpy(q.text, o->text, o->len);
    }
    pthread_mutex_unlock(&s->mu);
    if (empty) return;
    q.sender_epoch = s->epoch;
    int st = srv_call(s, &q, &p);
    if (st == CHORUS_SRV_NOT_LOGGED_IN) {
      int created;
      st = srv_login(s, &created);
      if (st == CHORUS_SRV_OK) continue;
    }
    if (st == CHORUS_SRV_OK)
      chorus_show_server(s->view, "stored",
                         "%s is offline: the message waits on the server until %s logs in",
                         q.to, q.to);
    else if (st == CHORUS_SRV_UNKNOWN_USER || st == CHORUS_SRV_BAD_TEXT)
      chorus_show_error(s->view, chorus_srv_statusname(st), "/msg %s: %s", q.to,
                        chorus_srv_strerror(st));
    else
      return; /* unreachable, no quorum, full: the next round tries again */
    pthread_mutex_lock(&s->mu);
    s->out_head = (s->out_head + 1) % CHORUS_PEER_SRV_OUTBOX_MAX;
    s->out_count--;
    pthread_mutex_unlock(&s->mu);
  }
}

/* 1 if this sender's message was shown already (a fetch repeated after a
 * lost ACK); else remembers it. */
static int srv_seen_before(chorus_peer_srv *s, const chorus_srv_message *m) {
  for (size_t i = 0; i < s->seen_count; i++) {
    srv_seen *e = &s->seen[i];
    if (strcmp(e->from, m->from) != 0) continue;
    if (m->sender_epoch < e->epoch || (m->sender_epoch == e->epoch && m->msg_id <= e->msg_id))
      return 1;
    e->epoch = m->sender_epoch;
    e->msg_id = m->msg_id;
    return 0;
  }
  srv_seen *e = &s->seen[s->seen_next]; /* bounded: the oldest entry goes */
  s->seen_next = (s->seen_next + 1) % CHORUS_PEER_SRV_SENDERS_MAX;
  if (s->seen_count < CHORUS_PEER_SRV_SENDERS_MAX) s->seen_count++;
  memcpy(e->from, m->from, sizeof e->from);
  e->epoch = m->sender_epoch;
  e->msg_id = m->msg_id;
  return 0;
}

/* Fetch, show and acknowledge what waited for this user. */
static void srv_fetch(chorus_peer_srv *s) {
  for (int round = 0; round < 64; round++) { /* bounded per refresh */
    chorus_srv_request q = srv_req(CHORUS_SRV_OP_MSG_FETCH);
    chorus_srv_response p;
    if (srv_call(s, &q, &p) != CHORUS_SRV_OK || p.msg_count == 0) return;
    for (size_t i = 0; i < p.msg_count; i++) {
      const chorus_srv_message *m = &p.msgs[i];
      if (!srv_seen_before(s, m))
        chorus_show_offline(s->view, m->from, m->sender_epoch, m->msg_id,
                            p.text + m->text_off, m->text_len);
    }
    chorus_srv_request a = srv_req(CHORUS_SRV_OP_MSG_ACK);
    a.upto = p.msgs[p.msg_count - 1].seq;
    if (srv_call(s, &a, &p) != CHORUS_SRV_OK) return;
  }
}

void chorus_peer_srv_finish(chorus_peer_srv *s) {
  if (!s || !s->session) return;
  chorus_peer_srv_unwatch(s);
  srv_outbox_drain(s);
  if (s->out_count > 0)
    chorus_show_warning(s->view, "CLI_UNSTORED",
                        "%zu offline messages could not be stored on a server (none answers)",
                        s->out_count);
}

static void *srv_watch_main(void *arg) {
  chorus_peer_srv *s = arg;
  pthread_mutex_lock(&s->mu);
  while (!s->stop) {
    if (!s->poked) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_sec += CHORUS_PEER_SRV_REFRESH_MS / 1000;
      ts.tv_nsec += (long)(CHORUS_PEER_SRV_REFRESH_MS % 1000) * 1000000L;
      if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
      pthread_cond_timedwait(&s->poke, &s->mu, &ts);
    }
    s->poked = 0;
    if (s->stop) break;
    pthread_mutex_unlock(&s->mu);
    srv_refresh(s);
    if (!s->down) {
      srv_outbox_drain(s);
      srv_fetch(s);
    }
    pthread_mutex_lock(&s->mu);
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

int chorus_peer_srv_watch(chorus_peer_srv *s, chorus_loop *loop) {
  s->loop = loop;
  s->stop = 0;
  if (pthread_create(&s->thread, NULL, srv_watch_main, s) != 0) return -1;
  s->watching = 1;
  pthread_mutex_lock(&s->mu);
  srv_apply(s, &s->roster); /* the seats as the join listed them */
  pthread_mutex_unlock(&s->mu);
  return 0;
}

void chorus_peer_srv_unwatch(chorus_peer_srv *s) {
  if (!s->watching) return;
  pthread_mutex_lock(&s->mu);
  s->stop = 1;
  pthread_cond_signal(&s->poke);
  pthread_mutex_unlock(&s->mu);
  pthread_join(s->thread, NULL);
  s->watching = 0;
  s->loop = NULL;
}

void chorus_peer_srv_on_event(void *ctx, const chorus_loop_event *ev) {
  chorus_peer_srv *s = ctx;
  if (ev->kind == CHORUS_LOOP_EV_STRANGER) {
    pthread_mutex_lock(&s->mu);
    chorus_seat_poke(&s->seat, chorus_clock_now_us());
    s->poked = 1;
    pthread_cond_signal(&s->poke);
    pthread_mutex_unlock(&s->mu);
    return;
  }
  chorus_show_on_event(s->view, ev);
}

/* ---- /rooms, /users ------------------------------------------------------ */

static void srv_list(chorus_peer_srv *s, chorus_srv_request *q, int rooms) {
  chorus_srv_response p;
  int st = srv_call(s, q, &p);
  if (st == CHORUS_SRV_NOT_LOGGED_IN) {
    int created;
    st = srv_login(s, &created);
    if (st == CHORUS_SRV_OK) st = srv_call(s, q, &p);
  }
  if (st != CHORUS_SRV_OK) {
    char why[CHORUS_PEER_SRV_ERR_BYTES];
    chorus_show_error(s->view, chorus_srv_statusname(st), "%s: %s", rooms ? "/rooms" : "/users",
                      srv_why(s, st, why, sizeof why));
    return;
  }
  chorus_show_entries(s->view, rooms, p.entries, p.count, p.total);
}

void chorus_peer_srv_rooms(chorus_peer_srv *s) {
  chorus_srv_request q = srv_req(CHORUS_SRV_OP_ROOM_LIST);
  srv_list(s, &q, 1);
}

void chorus_peer_srv_users(chorus_peer_srv *s, const char *pattern) {
  chorus_srv_request q = srv_req(CHORUS_SRV_OP_USERS);
  size_t len = strlen(pattern);
  if (!chorus_srv_pattern_valid(pattern, len)) {
    chorus_show_error(s->view, "CHORUS_SRV_BAD_PATTERN", "/users: %s",
                      chorus_srv_strerror(CHORUS_SRV_BAD_PATTERN));
    return;
  }
  memcpy(q.pattern, pattern, len + 1);
  srv_list(s, &q, 0);
}

void chorus_peer_srv_free(chorus_peer_srv *s) {
  if (!s) return;
  chorus_peer_srv_unwatch(s);
  if (s->session) {
    chorus_srv_request q = srv_req(CHORUS_SRV_OP_LOGOUT);
    chorus_srv_response p;
    if (!s->down) srv_call(s, &q, &p);
    chorus_session_free(s->session);
  }
  memset(s->password, 0, sizeof s->password);
  memset(&s->seat, 0, sizeof s->seat); /* its copy of the password */
  free(s->outbox);
  pthread_cond_destroy(&s->poke);
  pthread_mutex_destroy(&s->mu);
  free(s);
}
