/*
 * `chorus peer`: one chat node on a real UDP socket.
 *
 * The main thread reads commands from stdin; the network loop
 * (platform/loop.h) owns the protocol state and prints events through the
 * view (cli/peer_show.h). On /quit, end of input, SIGINT or SIGTERM the
 * node leaves gracefully: it announces the leave (the others remove it in a
 * view change with reason "leave" instead of waiting for the failure
 * detector), then waits up to --grace-ms (5 s by default) for the
 * announcement and its messages to be acknowledged, so a script that writes
 * messages and closes stdin loses none of them.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "clock.h"
#include "commands.h"
#include "line.h"
#include "loop.h"
#include "peer_args.h"
#include "peer_server.h"
#include "peer_show.h"
#include "store.h"
#include "udp.h"
#include "utf8.h"

/* When the loop's command queue is full, stop reading stdin until a slot
 * frees: the pipe (or the terminal) then holds further input, so a script
 * that writes many lines at once loses none. (--block additionally makes a
 * full send window wait instead of failing.) */
#define CHORUS_PEER_SUBMIT_WAIT 1
#define CHORUS_PEER_LINE_SLACK 64 /* "/msg " + name + space, beyond the text */
#define CHORUS_PEER_ERR_BYTES 512

/* Set by SIGINT/SIGTERM; the only global state, as signals require. */
static volatile sig_atomic_t peer_signalled;

typedef struct peer_app {
  chorus_peer_args args;
  const char *names[CHORUS_MEMBERS_MAX];
  size_t count;
  chorus_udp_addr addrs[CHORUS_MEMBERS_MAX];
  char listen_text[CHORUS_UDP_TEXT_BYTES];
  int fd;
  uint32_t epoch;
  chorus_show view;
  chorus_loop *loop;   /* NULL while outside a room (server mode) */
  uint64_t next_tag;
  chorus_peer_srv *srv; /* --server: the session and the room's watcher */
  chorus_peer_roster roster;
  char msg_user[CHORUS_NAME_BYTES_MAX + 1]; /* /msg's user, for its errors */
  chorus_store store; /* --data: the last epoch used */
  int has_store;
} peer_app;

/* --data's file: 'C' 'P' | version 1 | last epoch (u32, big-endian). */
#define PEER_DATA_BYTES 7

static int peer_usage(const char *why) {
  fprintf(stderr, "chorus peer: %s\n%s", why, chorus_peer_args_usage);
  return 2;
}

/* ---- setup ------------------------------------------------------------- */

/* Resolve --listen and every --peer; 0, or an exit code. */
static int peer_resolve(peer_app *app) {
  char err[CHORUS_PEER_ERR_BYTES];
  const chorus_peer_args *a = &app->args;
  if (chorus_udp_resolve(a->listen, AF_UNSPEC, 1, &app->addrs[0], err, sizeof err) != 0)
    return peer_usage(err);
  int family = app->addrs[0].ss.ss_family;
  app->names[0] = a->name;
  for (size_t i = 0; i < a->peer_count; i++) {
    app->names[i + 1] = a->peer_names[i];
    if (chorus_udp_resolve(a->peer_addrs[i], family, 0, &app->addrs[i + 1], err, sizeof err) != 0)
      return peer_usage(err);
  }
  app->count = a->peer_count + 1;
  return 0;
}

static uint64_t peer_seed(const chorus_peer_args *a) {
  if (a->seed_set) return a->seed;
  return ((uint64_t)getpid() << 32) ^ chorus_clock_now_us();
}

/* Server mode: member i is whoever sits in seat i (NULL: a free seat). */
static void peer_loop_slots(peer_app *app, chorus_loop_config *lc) {
  const chorus_peer_roster *r = &app->roster;
  lc->peer.slots = 1;
  lc->peer.member_count = CHORUS_MEMBERS_MAX;
  for (size_t i = 0; i < CHORUS_MEMBERS_MAX; i++) {
    lc->peer.member_names[i] = r->names[i][0] ? r->names[i] : NULL;
    lc->addrs[i] = i == r->self ? app->addrs[0] : r->addrs[i];
    if (i != r->self && r->names[i][0]) lc->peer.joining = 1; /* others hold the room */
  }
  lc->on_event = chorus_peer_srv_on_event;
  lc->ctx = app->srv;
}

static void peer_loop_config(peer_app *app, chorus_loop_config *lc) {
  const chorus_peer_args *a = &app->args;
  uint64_t seed = peer_seed(a);
  chorus_loop_config_default(lc);
  lc->peer.self_name = a->name;
  for (size_t i = 0; i < app->count; i++) {
    lc->peer.member_names[i] = app->names[i];
    lc->addrs[i] = app->addrs[i];
  }
  lc->peer.member_count = app->count;
  if (app->srv) peer_loop_slots(app, lc);
  lc->peer.epoch = app->epoch;
  lc->peer.seed = seed;
  lc->peer.msg_bytes_max = a->max_msg_bytes;
  lc->peer.order = a->order;
  lc->peer.fd_mode = a->fd_mode;
  lc->fd = app->fd;
  lc->fault.drop_ppm = a->drop_ppm;
  lc->fault.dup_ppm = a->dup_ppm;
  lc->fault.delay_ppm = a->delay_ppm;
  lc->fault.delay_max_us = a->delay_ms * 1000u;
  /* A separate stream, so fault decisions do not shift the protocol's. */
  lc->fault.seed = seed ^ 0x9E3779B97F4A7C15ull;
  lc->hold_when_full = a->block;
  if (!app->srv) {
    lc->on_event = chorus_show_on_event;
    lc->ctx = &app->view;
  }
}

/* Bind the peer socket. 0 or an exit code. */
static int peer_bind(peer_app *app) {
  char err[CHORUS_PEER_ERR_BYTES];
  if (chorus_udp_open(&app->addrs[0], CHORUS_UDP_SOCKBUF_BYTES_DEFAULT, &app->fd, err,
                      sizeof err) != 0) {
    fprintf(stderr, "chorus peer: %s\n", err);
    return 1;
  }
  chorus_udp_local(app->fd, &app->addrs[0]);
  chorus_udp_format(&app->addrs[0], app->listen_text, sizeof app->listen_text);
  return 0;
}

/* Build the loop on the bound socket, announce. 0 or an exit code. */
/* --data: load the last epoch used (0 if none). 0, or 1 with the reason
 * printed. */
static int peer_data_open(peer_app *app) {
  char err[CHORUS_STORE_ERR_BYTES];
  uint8_t b[PEER_DATA_BYTES + 1];
  size_t n = 0;
  if (chorus_store_open_as(&app->store, app->args.data_dir, "peer", "chorus peer", err,
                           sizeof err) != CHORUS_STORE_OK) {
    fprintf(stderr, "chorus peer: %s\n", err);
    return 1;
  }
  app->has_store = 1;
  int rc = chorus_store_load(&app->store, b, sizeof b, &n, err, sizeof err);
  if (rc == CHORUS_STORE_EMPTY) return 0;
  if (rc == CHORUS_STORE_OK && (n != PEER_DATA_BYTES || b[0] != 'C' || b[1] != 'P' || b[2] != 1))
    snprintf(err, sizeof err, "%s/peer.snap is not a chorus peer's data file (version 1)",
             app->args.data_dir);
  else if (rc == CHORUS_STORE_OK) {
    app->epoch = (uint32_t)b[3] << 24 | (uint32_t)b[4] << 16 | (uint32_t)b[5] << 8 | b[6];
    return 0;
  }
  fprintf(stderr, "chorus peer: %s\n", err);
  return 1;
}

/* --data: make `epoch` durable before it is used. 0, or 1 (printed). */
static int peer_data_save(peer_app *app, uint32_t epoch) {
  char err[CHORUS_STORE_ERR_BYTES];
  uint8_t b[PEER_DATA_BYTES] = {'C', 'P', 1, (uint8_t)(epoch >> 24), (uint8_t)(epoch >> 16),
                                (uint8_t)(epoch >> 8), (uint8_t)epoch};
  if (!app->has_store || chorus_store_save(&app->store, b, sizeof b, err, sizeof err) == 0)
    return 0;
  fprintf(stderr, "chorus peer: %s\n", err);
  return 1;
}

static int peer_open(peer_app *app) {
  /* A new boot of this node, or a later room of it: a new epoch, above the
   * last one used (remembered in --data across boots). */
  uint32_t epoch = app->args.epoch ? app->args.epoch : chorus_clock_boot_epoch();
  app->epoch = epoch > app->epoch ? epoch : app->epoch + 1;
  if (peer_data_save(app, app->epoch) != 0) return 1;
  chorus_loop_config lc;
  peer_loop_config(app, &lc);
  int rc = chorus_loop_new(&lc, &app->loop);
  if (rc == CHORUS_LOOP_ERR_SYS || rc == CHORUS_ERR_NOMEM) {
    fprintf(stderr, "chorus peer: cannot start: %s\n",
            rc == CHORUS_LOOP_ERR_SYS ? strerror(errno) : chorus_strerror(rc));
    return 1;
  }
  if (rc != CHORUS_OK) {
    char why[CHORUS_PEER_ERR_BYTES];
    snprintf(why, sizeof why, "invalid configuration: %s", chorus_strerror(rc));
    return peer_usage(why);
  }
  app->fd = -1; /* the loop owns it now */
  const char *names[CHORUS_MEMBERS_MAX];
  size_t n = 0;
  for (size_t i = 0; i < lc.peer.member_count; i++)
    if (lc.peer.member_names[i]) names[n++] = lc.peer.member_names[i];
  chorus_show_ready(&app->view, app->epoch, names, n, app->listen_text);
  return 0;
}

static void peer_on_signal(int sig) {
  (void)sig;
  peer_signalled = 1;
}

/* No SA_RESTART: a signal interrupts the blocking read of stdin. */
static void peer_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = peer_on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

/* Start the loop with SIGINT/SIGTERM blocked, so only this thread gets them. */
static int peer_start(peer_app *app) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  int rc = chorus_loop_start(app->loop);
  if (rc == CHORUS_OK && app->srv && chorus_peer_srv_watch(app->srv, app->loop) != 0)
    rc = CHORUS_LOOP_ERR_SYS;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != CHORUS_OK) {
    fprintf(stderr, "chorus peer: cannot start the network thread: %s\n", strerror(errno));
    return 1;
  }
  return 0;
}

/* Server mode: join `room` and start chatting there. 0, or an exit code
 * (the error is shown). */
static int peer_enter(peer_app *app, const char *room) {
  char err[CHORUS_PEER_ERR_BYTES];
  if (chorus_peer_srv_join(app->srv, room, &app->roster, err, sizeof err) != 0) {
    chorus_show_error(&app->view, "CLI_JOIN", "%s", err);
    return 1;
  }
  int rc = app->fd >= 0 ? 0 : peer_bind(app);
  if (rc == 0) rc = peer_open(app);
  if (rc == 0) rc = peer_start(app);
  if (rc != 0) {
    chorus_loop_free(app->loop);
    app->loop = NULL;
    chorus_peer_srv_leave(app->srv);
  }
  return rc;
}

/* Outside a room (server mode), room commands are refused. */
static int peer_in_room(peer_app *app) {
  if (app->loop) return 1;
  chorus_show_error(&app->view, "CLI_NOT_IN_ROOM", "not in a room: /join ROOM first");
  return 0;
}

/* ---- commands ---------------------------------------------------------- */

/* Check and submit one message; `cut` is how many bytes the reader dropped. */
static void peer_send(peer_app *app, int priv, size_t member, const uint8_t *text, size_t len,
                      size_t cut) {
  if (!peer_in_room(app)) return;
  const char *user = priv ? (app->srv ? app->msg_user : app->names[member]) : NULL;
  size_t full = len + cut;
  int rc = CHORUS_OK;
  if (full > app->args.max_msg_bytes) rc = CHORUS_ERR_MSG_TOO_LONG;
  else if (len == 0) rc = CHORUS_ERR_EMPTY;
  else if (!chorus_utf8_valid(text, len)) rc = CHORUS_ERR_BAD_UTF8;
  else
    rc = chorus_loop_submit(app->loop, priv ? CHORUS_LOOP_CMD_PRIVATE : CHORUS_LOOP_CMD_ROOM,
                            member, text, len, ++app->next_tag, CHORUS_PEER_SUBMIT_WAIT);
  if (rc != CHORUS_OK) chorus_show_error_code(&app->view, rc, user, full);
}

/* Server mode, /msg to a user outside the room: the server keeps it until
 * the user logs in (the watcher stores it). */
static void peer_offline(peer_app *app, const char *user, const uint8_t *text, size_t len,
                         size_t cut) {
  char err[CHORUS_PEER_ERR_BYTES];
  if (cut > 0 || len == 0 || !chorus_utf8_valid(text, len)) {
    chorus_show_error_code(&app->view,
                           cut > 0 ? CHORUS_ERR_MSG_TOO_LONG
                                   : len == 0 ? CHORUS_ERR_EMPTY : CHORUS_ERR_BAD_UTF8,
                           user, len + cut);
    return;
  }
  if (chorus_peer_srv_offline(app->srv, user, text, len, err, sizeof err) != 0)
    chorus_show_error(&app->view, "CLI_OFFLINE", "/msg %s: %s", user, err);
}

/* "/msg USER TEXT" (s points after "/msg"). */
static void peer_cmd_msg(peer_app *app, const uint8_t *s, size_t len, size_t cut) {
  size_t i = 0;
  while (i < len && s[i] == ' ') i++;
  size_t u = i;
  while (i < len && s[i] != ' ') i++;
  if (u == i || i == len) {
    chorus_show_error(&app->view, CHORUS_VIEW_CODE_USAGE, "usage: /msg USER TEXT");
    return;
  }
  char user[CHORUS_NAME_BYTES_MAX + 1];
  size_t ulen = i - u;
  int member = -1;
  if (ulen <= CHORUS_NAME_BYTES_MAX) {
    memcpy(user, s + u, ulen);
    user[ulen] = '\0';
    for (size_t m = 0; m < app->count && !app->srv; m++)
      if (strcmp(app->names[m], user) == 0) member = (int)m;
    if (app->srv) member = chorus_peer_srv_find(app->srv, user);
  } else {
    memcpy(user, s + u, CHORUS_NAME_BYTES_MAX - 3);
    memcpy(user + CHORUS_NAME_BYTES_MAX - 3, "...", 4);
  }
  if (member < 0 && app->srv && ulen <= CHORUS_NAME_BYTES_MAX) {
    peer_offline(app, user, s + i + 1, len - i - 1, cut);
  } else if (member < 0) {
    /* The name is shown back, so only if it is printable UTF-8. */
    if (!chorus_utf8_valid((const uint8_t *)user, strlen(user))) strcpy(user, "?");
    chorus_show_error_code(&app->view, CHORUS_ERR_UNKNOWN_USER, user, 0);
  } else if ((size_t)member == (app->srv ? app->roster.self : 0)) {
    chorus_show_error_code(&app->view, CHORUS_ERR_SELF, user, 0);
  } else {
    memcpy(app->msg_user, user, sizeof app->msg_user);
    peer_send(app, 1, (size_t)member, s + i + 1, len - i - 1, cut);
  }
}

static int peer_word_is(const uint8_t *s, size_t len, const char *word) {
  size_t n = strlen(word);
  return len >= n && memcmp(s, word, n) == 0 && (len == n || s[n] == ' ');
}

static int peer_rest_blank(const uint8_t *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (s[i] != ' ' && s[i] != '\t') return 0;
  return 1;
}

static void peer_query(peer_app *app, enum chorus_loop_cmd_kind kind) {
  if (!peer_in_room(app)) return;
  int rc = chorus_loop_submit(app->loop, kind, 0, NULL, 0, ++app->next_tag, CHORUS_PEER_SUBMIT_WAIT);
  if (rc != CHORUS_OK) chorus_show_error_code(&app->view, rc, NULL, 0);
}

static void peer_depart(peer_app *app);

/* The word after a command, into out (NUL-terminated); 0 if there is none,
 * -1 if there is more than one or it is too long. */
static int peer_argument(const uint8_t *s, size_t len, char *out, size_t out_bytes) {
  size_t i = 0;
  while (i < len && s[i] == ' ') i++;
  size_t a = i;
  while (i < len && s[i] != ' ') i++;
  if (a == i) return 0;
  if (!peer_rest_blank(s + i, len - i) || i - a >= out_bytes) return -1;
  memcpy(out, s + a, i - a);
  out[i - a] = '\0';
  return 1;
}

/* /join ROOM: leave the current room first. */
static void peer_cmd_join(peer_app *app, const char *room) {
  if (app->loop) peer_depart(app);
  peer_enter(app, room);
}

/* /rooms, /users [PATTERN], /join ROOM, /leave. 1 if it was one of them. */
static int peer_server_command(peer_app *app, const uint8_t *s, size_t len) {
  static const char *const words[] = {"/rooms", "/users", "/join", "/leave"};
  char arg[CHORUS_SRV_PATTERN_BYTES_MAX + 1];
  for (size_t w = 0; w < 4; w++) {
    size_t n = strlen(words[w]);
    if (!peer_word_is(s, len, words[w])) continue;
    int has = peer_argument(s + n, len - n, arg, sizeof arg);
    int want = w == 2 ? 1 : w == 1 ? has : 0; /* /join needs one, /users may */
    if (has != want || has < 0) {
      static const char *const usage[] = {"usage: /rooms", "usage: /users [PATTERN]",
                                          "usage: /join ROOM", "usage: /leave"};
      chorus_show_error(&app->view, CHORUS_VIEW_CODE_USAGE, "%s", usage[w]);
    } else if (w == 0) {
      chorus_peer_srv_rooms(app->srv);
    } else if (w == 1) {
      chorus_peer_srv_users(app->srv, has ? arg : "*");
    } else if (w == 2) {
      if (!chorus_srv_name_valid(arg, strlen(arg)))
        chorus_show_error(&app->view, "CHORUS_SRV_BAD_NAME", "/join: %s",
                          chorus_srv_strerror(CHORUS_SRV_BAD_NAME));
      else peer_cmd_join(app, arg);
    } else if (peer_in_room(app)) {
      peer_depart(app);
    }
    return 1;
  }
  return 0;
}

/* "/history [N]": the last N messages shown (they stay in the CLI's ring
 * whether or not the peer is in a room). */
static void peer_cmd_history(peer_app *app, const uint8_t *s, size_t len) {
  char arg[16];
  unsigned long long n = CHORUS_RECENT_DEFAULT;
  int has = peer_argument(s, len, arg, sizeof arg);
  if (has < 0 || (has == 1 && !chorus_args_uint(arg, 1, CHORUS_RECENT_MSGS, &n))) {
    chorus_show_error(&app->view, CHORUS_VIEW_CODE_USAGE, "usage: /history [N], N from 1 to %d",
                      CHORUS_RECENT_MSGS);
    return;
  }
  chorus_show_recent(&app->view, (size_t)n);
}

/* A slash command; returns 1 for /quit. */
static int peer_command(peer_app *app, const uint8_t *s, size_t len, size_t cut) {
  if (peer_word_is(s, len, "/msg")) {
    peer_cmd_msg(app, s + 4, len - 4, cut);
    return 0;
  }
  if (app->srv && peer_server_command(app, s, len)) return 0;
  if (peer_word_is(s, len, "/history")) {
    peer_cmd_history(app, s + 8, len - 8);
    return 0;
  }
  static const char *const words[] = {"/quit", "/who", "/stats", "/help"};
  for (size_t w = 0; w < 4; w++) {
    size_t n = strlen(words[w]);
    if (!peer_word_is(s, len, words[w]) || !peer_rest_blank(s + n, len - n)) continue;
    if (w == 0) return 1;
    if (w == 1) peer_query(app, CHORUS_LOOP_CMD_WHO);
    if (w == 2) peer_query(app, CHORUS_LOOP_CMD_STATS);
    if (w == 3) chorus_show_help(&app->view);
    return 0;
  }
  size_t wl = 0;
  while (wl < len && wl < 32 && s[wl] != ' ') wl++;
  int printable = chorus_utf8_valid(s, wl);
  chorus_show_error(&app->view, CHORUS_VIEW_CODE_UNKNOWN_COMMAND,
                    "unknown command '%.*s' (try /help)", printable ? (int)wl : 1,
                    printable ? (const char *)s : "/");
  return 0;
}

/* One input line; returns 1 when the user asked to quit. */
static int peer_line(peer_app *app, const chorus_line *r) {
  const uint8_t *s = r->buf;
  size_t len = r->len, cut = r->total - r->len;
  if (r->total == 0) return 0;
  if (s[0] != '/') {
    peer_send(app, 0, 0, s, len, cut);
    return 0;
  }
  if (len >= 2 && s[1] == '/') {
    peer_send(app, 0, 0, s + 1, len - 1, cut);
    return 0;
  }
  return peer_command(app, s, len, cut);
}

static void peer_read_input(peer_app *app) {
  chorus_line r;
  if (chorus_line_init(&r, STDIN_FILENO, app->args.max_msg_bytes + CHORUS_PEER_LINE_SLACK) != 0) {
    chorus_show_error(&app->view, "CHORUS_ERR_NOMEM", "cannot allocate the input buffer");
    return;
  }
  while (!peer_signalled && !chorus_show_failed(&app->view)) {
    int rc = chorus_line_next(&r);
    if (rc == 0) break;
    if (rc < 0) {
      if (errno == EINTR) continue;
      chorus_show_error(&app->view, "CLI_INPUT", "cannot read stdin: %s", strerror(errno));
      break;
    }
    if (peer_line(app, &r)) break;
  }
  chorus_line_free(&r);
}

/* Announce the leave. The loop runs it after every command queued before
 * it; a full command queue is retried until end_us. */
static void peer_leave(peer_app *app, uint64_t end_us) {
  for (;;) {
    int rc =
        chorus_loop_submit(app->loop, CHORUS_LOOP_CMD_LEAVE, 0, NULL, 0, ++app->next_tag, 0);
    if (rc == CHORUS_OK) return;
    if (rc != CHORUS_ERR_QUEUE_FULL || chorus_clock_now_us() >= end_us) {
      chorus_show_error_code(&app->view, rc, NULL, 0);
      return;
    }
    chorus_loop_flush(app->loop, 50); /* a bounded wait for queue progress */
  }
}

static uint32_t peer_ms_until(uint64_t end_us) {
  uint64_t now = chorus_clock_now_us();
  return end_us > now ? (uint32_t)((end_us - now + 999) / 1000) : 0;
}

/* Leave the room: announce the leave, give it and unacknowledged messages
 * a bounded grace period, stop the loop; with a server, leave its room too. */
static void peer_depart(peer_app *app) {
  if (app->srv) chorus_peer_srv_unwatch(app->srv);
  uint64_t end_us = chorus_clock_now_us() + (uint64_t)app->args.grace_ms * 1000u;
  size_t left = chorus_loop_flush(app->loop, 0);
  if (left > 0 && app->args.grace_ms > 0)
    chorus_show_notice(&app->view, "waiting up to %.1f s for %zu unacknowledged messages/frames",
                       app->args.grace_ms / 1000.0, left);
  peer_leave(app, end_us);
  left = chorus_loop_flush(app->loop, peer_ms_until(end_us));
  if (left > 0)
    chorus_show_warning(&app->view, CHORUS_VIEW_CODE_UNACKED,
                        "%zu messages/frames were not acknowledged before exit", left);
  chorus_loop_stop(app->loop);
  if (app->srv) {
    chorus_loop_free(app->loop); /* closes the socket: the next room binds again */
    app->loop = NULL;
    chorus_peer_srv_leave(app->srv);
  }
}

/* Without a server: the members from --peer. With one: log in, join. */
static int peer_setup(peer_app *app) {
  if (!app->srv) {
    int rc = peer_bind(app);
    if (rc == 0) rc = peer_open(app);
    if (rc == 0) {
      peer_signals();
      rc = peer_start(app);
    }
    return rc;
  }
  peer_signals();
  return peer_enter(app, app->args.room);
}

int chorus_cmd_peer(int argc, char **argv) {
  peer_app app;
  char err[CHORUS_PEER_ERR_BYTES];
  memset(&app, 0, sizeof app);
  app.fd = -1;
  if (chorus_peer_args_parse(argc, argv, &app.args, err, sizeof err) != 0) return peer_usage(err);
  if (app.args.help) {
    fputs(chorus_peer_args_usage, stdout);
    return 0;
  }
  int rc = peer_resolve(&app);
  if (rc != 0) return rc;
  if (chorus_show_init(&app.view, stdout, app.args.json, app.args.name,
                       app.args.max_msg_bytes) != 0) {
    fprintf(stderr, "chorus peer: cannot create a mutex\n");
    return 1;
  }
  if (app.args.log_file && chorus_show_log_open(&app.view, app.args.log_file,
                                                app.args.log_level) != 0) {
    fprintf(stderr, "chorus peer: cannot open --log %s: %s\n", app.args.log_file,
            strerror(errno));
    chorus_show_destroy(&app.view);
    return 1;
  }
  if (app.args.data_dir) rc = peer_data_open(&app);
  if (rc == 0 && app.args.server_count > 0) {
    rc = peer_bind(&app);
    if (rc == 0)
      rc = chorus_peer_srv_open(&app.args, &app.view, &app.addrs[0], &app.srv, err, sizeof err);
    if (rc == 2) rc = peer_usage(err);
    else if (rc != 0 && app.srv) fprintf(stderr, "chorus peer: %s\n", err);
  }
  if (rc == 0) rc = peer_setup(&app);
  if (rc == 0) {
    peer_read_input(&app);
    if (app.loop) peer_depart(&app);
    chorus_peer_srv_finish(app.srv);
    chorus_show_bye(&app.view);
    rc = chorus_show_failed(&app.view) ? 1 : 0;
  }
  chorus_peer_srv_free(app.srv);
  chorus_loop_free(app.loop);
  chorus_udp_close(app.fd);
  if (app.has_store) chorus_store_close(&app.store);
  chorus_show_destroy(&app.view);
  return rc;
}
