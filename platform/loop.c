#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

typedef struct loop_cmd {
  enum chorus_loop_cmd_kind kind;
  size_t member;
  size_t len;
  uint64_t tag;
  uint8_t *text; /* small or large, whichever holds len */
  uint8_t *small, *large; /* this command's buffers in the arena */
  chorus_udp_addr addr; /* SET_MEMBER */
} loop_cmd;

struct chorus_loop {
  /* Owned by the network thread after start. */
  chorus_peer *peer;
  chorus_udp_fault *tx;
  int fd;
  int wake_rd, wake_wr;
  chorus_udp_addr addrs[CHORUS_MEMBERS_MAX];
  char names[CHORUS_MEMBERS_MAX][CHORUS_NAME_BYTES_MAX + 1];
  const char *name_ptrs[CHORUS_MEMBERS_MAX]; /* names[i], for VIEW events */
  chorus_loop_member_state mstate[CHORUS_MEMBERS_MAX]; /* removals seen */
  int leaving;         /* chorus_peer_leave succeeded */
  size_t member_count, self;
  uint32_t epoch;
  size_t msg_bytes_max;
  size_t slot_bytes; /* longest text of a command: max(msg_bytes_max, a name) */
  int hold_when_full;
  uint32_t linger_us, linger_max_us;
  uint64_t last_rx_us; /* when the last datagram arrived */
  uint64_t stranger_us; /* when the last STRANGER event left */
  chorus_loop_event_fn on_event;
  void *ctx;
  uint8_t *out_buf; /* chorus_peer_poll buffer */
  size_t out_cap;
  uint8_t *rx_mem;  /* rx_slots buffers of rx_slot_bytes */
  size_t rx_slots, rx_slot_bytes; /* GRO on: fewer, larger buffers */
  chorus_udp_msg rx[CHORUS_LOOP_RX_SLOTS]; /* data points into rx_mem */
  int head_held;    /* the head command waits for window space */
  chorus_loop_counters cnt;
  uint64_t deadline_us;

  /* Shared: guarded by mu. */
  pthread_mutex_t mu;
  pthread_cond_t space;    /* a queue slot became free, or stopping */
  pthread_cond_t progress; /* the loop published new pending counts */
  loop_cmd *queue;
  uint8_t *arena;
  size_t queue_max, head, count;
  size_t pending_frames;   /* published by the loop after each iteration */
  uint64_t queue_full;     /* refused submissions */
  int sleeping;            /* the loop is in (or about to enter) poll() */
  int wake_sent;           /* a wake-up byte is in the pipe */
  int stopping, started, joined;
  pthread_t thread;
};

void chorus_loop_config_default(chorus_loop_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  chorus_peer_config_default(&cfg->peer);
  chorus_udp_fault_config_default(&cfg->fault);
  cfg->fd = -1;
  cfg->queue_max = CHORUS_LOOP_QUEUE_DEFAULT;
  cfg->linger_us = CHORUS_LOOP_LINGER_US_DEFAULT;
  cfg->linger_max_us = CHORUS_LOOP_LINGER_MAX_US_DEFAULT;
}

/* ---- creation ---------------------------------------------------------- */

static int loop_pipe(chorus_loop *l) {
  int p[2];
  if (pipe(p) != 0) return CHORUS_LOOP_ERR_SYS;
  for (int i = 0; i < 2; i++) {
    int fl = fcntl(p[i], F_GETFL);
    int fdf = fcntl(p[i], F_GETFD);
    if (fl < 0 || fdf < 0 || fcntl(p[i], F_SETFL, fl | O_NONBLOCK) < 0 ||
        fcntl(p[i], F_SETFD, fdf | FD_CLOEXEC) < 0) {
      int e = errno;
      close(p[0]);
      close(p[1]);
      errno = e;
      return CHORUS_LOOP_ERR_SYS;
    }
  }
  l->wake_rd = p[0];
  l->wake_wr = p[1];
  return CHORUS_OK;
}

static int loop_sync_init(chorus_loop *l) {
  if (pthread_mutex_init(&l->mu, NULL) != 0) return CHORUS_LOOP_ERR_SYS;
  if (pthread_cond_init(&l->space, NULL) != 0) {
    pthread_mutex_destroy(&l->mu);
    return CHORUS_LOOP_ERR_SYS;
  }
  if (pthread_cond_init(&l->progress, NULL) != 0) {
    pthread_cond_destroy(&l->space);
    pthread_mutex_destroy(&l->mu);
    return CHORUS_LOOP_ERR_SYS;
  }
  return CHORUS_OK;
}

/* Copy the member names so the caller's strings need not outlive us. */
static int loop_copy_names(chorus_loop *l, chorus_peer_config *pc) {
  if (pc->member_count == 0 || pc->member_count > CHORUS_MEMBERS_MAX) return CHORUS_ERR_CONFIG;
  const char *self = pc->self_name;
  for (size_t i = 0; i < pc->member_count; i++) {
    const char *n = pc->member_names[i];
    l->name_ptrs[i] = l->names[i];
    if (n == NULL && pc->slots) continue; /* vacant: "" */
    if (n == NULL || strlen(n) > CHORUS_NAME_BYTES_MAX) return CHORUS_ERR_INVAL;
    memcpy(l->names[i], n, strlen(n) + 1);
    pc->member_names[i] = l->names[i];
    if (self != NULL && strcmp(n, self) == 0) pc->self_name = l->names[i];
  }
  return CHORUS_OK;
}

static int loop_alloc(chorus_loop *l, size_t queue_max) {
  l->out_cap = chorus_peer_poll_bytes_min(l->peer);
  l->out_buf = malloc(l->out_cap);
  l->rx_mem = malloc(l->rx_slots * l->rx_slot_bytes);
  l->queue = calloc(queue_max, sizeof *l->queue);
  /* A slot holds a message or a member name: in its small buffer if it
   * fits, so a queue of short messages writes only the small ones. */
  l->slot_bytes = l->msg_bytes_max > CHORUS_NAME_BYTES_MAX ? l->msg_bytes_max : CHORUS_NAME_BYTES_MAX;
  l->arena = malloc(queue_max * (CHORUS_LOOP_CMD_SMALL_BYTES + l->slot_bytes));
  if (!l->out_buf || !l->rx_mem || !l->queue || !l->arena) return CHORUS_ERR_NOMEM;
  for (size_t i = 0; i < l->rx_slots; i++) l->rx[i].data = l->rx_mem + i * l->rx_slot_bytes;
  uint8_t *large = l->arena + queue_max * CHORUS_LOOP_CMD_SMALL_BYTES;
  for (size_t i = 0; i < queue_max; i++) {
    l->queue[i].small = l->arena + i * CHORUS_LOOP_CMD_SMALL_BYTES;
    l->queue[i].large = large + i * l->slot_bytes;
  }
  l->queue_max = queue_max;
  return CHORUS_OK;
}

static void loop_release(chorus_loop *l) {
  chorus_peer_free(l->peer);
  chorus_udp_fault_free(l->tx);
  free(l->out_buf);
  free(l->rx_mem);
  free(l->queue);
  free(l->arena);
  if (l->wake_rd >= 0) close(l->wake_rd);
  if (l->wake_wr >= 0) close(l->wake_wr);
}

static int loop_build(chorus_loop *l, const chorus_loop_config *cfg) {
  chorus_peer_config pc = cfg->peer;
  int rc = loop_copy_names(l, &pc);
  if (rc == CHORUS_OK) rc = chorus_peer_new(&pc, &l->peer);
  if (rc == CHORUS_OK) rc = chorus_udp_fault_new(&cfg->fault, &l->tx);
  if (rc != CHORUS_OK) return rc;
  l->member_count = chorus_peer_member_count(l->peer);
  l->self = chorus_peer_self(l->peer);
  l->epoch = pc.epoch;
  l->msg_bytes_max = pc.msg_bytes_max;
  memcpy(l->addrs, cfg->addrs, sizeof l->addrs);
  /* Coalesced receives need buffers that hold 64 KiB: fewer of them. */
  int gro = chorus_udp_gro_enable(cfg->fd);
  l->rx_slots = gro ? CHORUS_LOOP_RX_SLOTS_GRO : CHORUS_LOOP_RX_SLOTS;
  l->rx_slot_bytes = gro ? CHORUS_UDP_GRO_BYTES : CHORUS_LOOP_RX_SLOT_BYTES;
  rc = loop_alloc(l, cfg->queue_max);
  if (rc == CHORUS_OK) rc = loop_pipe(l);
  return rc;
}

int chorus_loop_new(const chorus_loop_config *cfg, chorus_loop **out) {
  if (cfg == NULL || out == NULL || cfg->on_event == NULL || cfg->fd < 0)
    return CHORUS_ERR_INVAL;
  if (cfg->queue_max == 0 || cfg->queue_max > CHORUS_LOOP_QUEUE_MAX) return CHORUS_ERR_CONFIG;
  chorus_loop *l = calloc(1, sizeof *l);
  if (l == NULL) return CHORUS_ERR_NOMEM;
  l->wake_rd = l->wake_wr = -1;
  int rc = loop_build(l, cfg);
  if (rc == CHORUS_OK) rc = loop_sync_init(l);
  if (rc != CHORUS_OK) {
    int e = errno;
    loop_release(l);
    free(l);
    errno = e;
    return rc;
  }
  l->fd = cfg->fd;
  l->hold_when_full = cfg->hold_when_full;
  l->linger_us = cfg->linger_us;
  l->linger_max_us = cfg->linger_max_us;
  l->on_event = cfg->on_event;
  l->ctx = cfg->ctx;
  l->deadline_us = 0;
  *out = l;
  return CHORUS_OK;
}

/* ---- outputs ----------------------------------------------------------- */

static void loop_emit(chorus_loop *l, chorus_loop_event *ev) { l->on_event(l->ctx, ev); }

/* A member left the view (or joined it): remember why it left (for /who
 * and for errors of later private messages to it) and describe the new
 * view. */
static void loop_view(chorus_loop *l, const chorus_output *o, chorus_loop_event *ev) {
  chorus_loop_member_state *m = &l->mstate[o->member];
  int back = o->reason == CHORUS_VIEW_JOIN || o->reason == CHORUS_VIEW_MERGE;
  m->removal_seen = !back;
  m->reason = o->reason;
  m->view = o->view;
  l->cnt.view_changes++;
  ev->kind = CHORUS_LOOP_EV_VIEW;
  ev->view = o->view;
  ev->reason = o->reason;
  ev->members = o->members;
  ev->member_count = l->member_count;
  ev->names = l->name_ptrs;
}

/* Outputs that become events; 0 for a kind this driver does not know. */
static int loop_event_of(chorus_loop *l, const chorus_output *o, chorus_loop_event *ev) {
  switch (o->kind) {
    case CHORUS_OUT_DELIVER:
      ev->kind = CHORUS_LOOP_EV_DELIVER;
      ev->msg_kind = o->msg_kind;
      ev->order = o->order;
      ev->msg_id = o->msg_id;
      ev->text = o->data;
      ev->text_len = o->len;
      ev->view = o->view;
      ev->seq = o->seq;
      ev->history = o->history;
      ev->merge = o->merge;
      return 1;
    case CHORUS_OUT_PEER_UP: ev->kind = CHORUS_LOOP_EV_PEER_UP; return 1;
    case CHORUS_OUT_PEER_RESTARTED:
      ev->kind = CHORUS_LOOP_EV_PEER_RESTARTED;
      ev->dropped = o->dropped;
      return 1;
    case CHORUS_OUT_VIEW:
      if (o->member >= l->member_count) return 0;
      loop_view(l, o, ev);
      return 1;
    default: return 0; /* HELD (simulator only) and kinds added later */
  }
}

static void loop_output(chorus_loop *l, const chorus_output *o, uint64_t now_us) {
  if (o->kind == CHORUS_OUT_DATAGRAM) {
    if (o->member < l->member_count)
      chorus_udp_fault_send(l->tx, l->fd, &l->addrs[o->member], o->data, o->len, now_us);
    return;
  }
  chorus_loop_event ev;
  memset(&ev, 0, sizeof ev);
  ev.member = o->member;
  ev.name = o->member < l->member_count ? l->names[o->member] : "?";
  ev.epoch = o->epoch;
  if (!loop_event_of(l, o, &ev)) {
    l->cnt.unknown_outputs++;
    return;
  }
  loop_emit(l, &ev);
}

/* Carry out everything the core has queued. */
static void loop_drain(chorus_loop *l, uint64_t now_us) {
  for (;;) {
    chorus_output o;
    if (chorus_peer_poll(l->peer, now_us, &o, l->out_buf, l->out_cap) != CHORUS_OK) return;
    if (o.kind == CHORUS_OUT_NONE) return;
    loop_output(l, &o, now_us);
  }
}

/* ---- commands ---------------------------------------------------------- */

static void loop_snapshot(chorus_loop *l, chorus_loop_snapshot *s) {
  memset(s, 0, sizeof *s);
  s->member_count = l->member_count;
  s->self = l->self;
  s->self_epoch = l->epoch;
  s->now_us = chorus_clock_now_us();
  for (size_t i = 0; i < l->member_count; i++) {
    s->names[i] = l->names[i];
    s->addrs[i] = l->addrs[i];
    if (i != l->self) chorus_peer_link_stats_get(l->peer, i, &s->links[i]);
    s->state[i] = l->mstate[i];
    s->state[i].in_view = chorus_peer_in_view(l->peer, i);
  }
  s->leaving = l->leaving;
  chorus_peer_stats_get(l->peer, &s->peer);
  chorus_udp_fault_stats_get(l->tx, &s->tx);
  pthread_mutex_lock(&l->mu);
  s->queued_cmds = l->count > 0 ? (uint32_t)(l->count - 1) : 0; /* minus this query */
  l->cnt.queue_full = l->queue_full;
  pthread_mutex_unlock(&l->mu);
  s->loop = l->cnt;
}

/* Run a ROOM/PRIVATE command. Returns 0 if it must be retried later. */
static int loop_send(chorus_loop *l, const loop_cmd *c, uint64_t now_us) {
  uint32_t id = 0;
  int rc;
  if (c->kind == CHORUS_LOOP_CMD_ROOM)
    rc = chorus_peer_broadcast(l->peer, now_us, c->text, c->len, &id);
  else
    rc = chorus_peer_send_private(l->peer, now_us, c->member, c->text, c->len, &id);
  if (rc == CHORUS_ERR_WINDOW_FULL && l->hold_when_full) {
    l->cnt.cmds_held++;
    return 0;
  }
  chorus_loop_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = rc == CHORUS_OK ? CHORUS_LOOP_EV_SENT : CHORUS_LOOP_EV_ERROR;
  ev.cmd = c->kind;
  ev.member = c->member;
  /* A room message's window is the room's (messages not yet stable), not
   * one link's: only private sends name a member. */
  ev.name = c->kind == CHORUS_LOOP_CMD_PRIVATE && c->member < l->member_count
                ? l->names[c->member]
                : NULL;
  ev.msg_id = id;
  ev.text = c->text;
  ev.text_len = c->len;
  ev.err = rc;
  ev.tag = c->tag;
  /* The core refuses a removed member as an unknown user; say why. */
  if (rc == CHORUS_ERR_UNKNOWN_USER && ev.name != NULL && l->mstate[c->member].removal_seen) {
    ev.gone = 1;
    ev.reason = l->mstate[c->member].reason;
    ev.view = l->mstate[c->member].view;
  }
  if (rc != CHORUS_OK) l->cnt.cmds_refused++;
  loop_emit(l, &ev);
  return 1;
}

/* Announce our departure. Returns 0 while the core has no room for it:
 * the command then stays at the head of the queue and is retried as the
 * outbox drains. */
static int loop_leave(chorus_loop *l, const loop_cmd *c, uint64_t now_us) {
  int rc = chorus_peer_leave(l->peer, now_us);
  if (rc == CHORUS_ERR_QUEUE_FULL) {
    l->cnt.cmds_held++;
    return 0;
  }
  if (rc == CHORUS_OK) l->leaving = 1;
  chorus_loop_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = CHORUS_LOOP_EV_LEAVING;
  ev.cmd = CHORUS_LOOP_CMD_LEAVE;
  ev.err = rc;
  ev.tag = c->tag;
  loop_emit(l, &ev);
  return 1;
}

static void loop_set_member(chorus_loop *l, const loop_cmd *c, uint64_t now_us) {
  char name[CHORUS_NAME_BYTES_MAX + 1];
  memcpy(name, c->text, c->len);
  name[c->len] = '\0';
  if (chorus_peer_set_member(l->peer, now_us, c->member, name) != CHORUS_OK) {
    l->cnt.members_refused++;
    return;
  }
  memcpy(l->names[c->member], name, c->len + 1);
  l->addrs[c->member] = c->addr;
  l->cnt.members_set++;
}

/* Run one command. Returns 0 if it stays at the head of the queue. */
static int loop_exec(chorus_loop *l, const loop_cmd *c, uint64_t now_us) {
  if (c->kind == CHORUS_LOOP_CMD_SET_MEMBER) {
    loop_set_member(l, c, now_us);
  } else if (c->kind == CHORUS_LOOP_CMD_ROOM || c->kind == CHORUS_LOOP_CMD_PRIVATE) {
    if (!loop_send(l, c, now_us)) return 0;
  } else if (c->kind == CHORUS_LOOP_CMD_LEAVE) {
    if (!loop_leave(l, c, now_us)) return 0;
  } else {
    chorus_loop_snapshot snap;
    chorus_loop_event ev;
    loop_snapshot(l, &snap);
    memset(&ev, 0, sizeof ev);
    ev.kind = c->kind == CHORUS_LOOP_CMD_WHO ? CHORUS_LOOP_EV_WHO : CHORUS_LOOP_EV_STATS;
    ev.tag = c->tag;
    ev.snap = &snap;
    loop_emit(l, &ev);
  }
  l->cnt.cmds_done++;
  return 1;
}

/*
 * Frames not yet sent or acknowledged on the links to members of the view,
 * plus room sends still waiting for window space. (Not room stability, and
 * not links to removed members: neither ever settles once a member is gone,
 * and every later exit would wait its whole grace period for nothing.)
 */
static size_t loop_pending_frames(chorus_loop *l) {
  size_t n = chorus_peer_pending_frames(l->peer);
  if (l->leaving && !chorus_peer_leaving_done(l->peer)) n++; /* LEAVE not out yet */
  return n;
}

/*
 * Execute the queued commands in order, then drain the core once (several
 * messages can then share a datagram). The slots are read without the
 * lock: submitters only write free slots, and only this thread frees them.
 * The frames the commands queued are published together with the commands'
 * removal, so chorus_loop_flush never sees neither.
 */
static void loop_commands(chorus_loop *l, uint64_t now_us) {
  pthread_mutex_lock(&l->mu);
  size_t n = l->stopping ? 0 : l->count, head = l->head;
  pthread_mutex_unlock(&l->mu);
  size_t done = 0;
  while (done < n && loop_exec(l, &l->queue[(head + done) % l->queue_max], now_us)) done++;
  l->head_held = done < n;
  if (done == 0) return;
  loop_drain(l, now_us);
  size_t pending = loop_pending_frames(l);
  pthread_mutex_lock(&l->mu);
  l->pending_frames = pending;
  l->head = (l->head + done) % l->queue_max;
  l->count -= done;
  pthread_cond_broadcast(&l->space);
  pthread_mutex_unlock(&l->mu);
}

/* ---- the thread -------------------------------------------------------- */

/* Tell the caller, now and then, that someone it has not named speaks. */
static void loop_stranger(chorus_loop *l, uint64_t now_us) {
  l->cnt.rx_strangers++;
  if (l->stranger_us != 0 && now_us - l->stranger_us < CHORUS_LOOP_STRANGER_US) return;
  l->stranger_us = now_us;
  chorus_loop_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = CHORUS_LOOP_EV_STRANGER;
  loop_emit(l, &ev);
}

/* The core takes at most one event per datagram into its event ring
 * (CHORUS_EVENTS_MAX entries) and the ring is empty after a drain, so the
 * loop drains after every CHORUS_LOOP_RECV_BATCH datagrams. */
_Static_assert(CHORUS_LOOP_RECV_BATCH <= CHORUS_EVENTS_MAX, "a batch must fit the event ring");
_Static_assert(CHORUS_LOOP_RX_SLOTS <= CHORUS_UDP_BATCH_MAX, "one receive call fills the slots");
_Static_assert(CHORUS_LOOP_RX_SLOTS_GRO <= CHORUS_LOOP_RX_SLOTS, "the slots fit l->rx");

/* Feed one received datagram to the core. */
static void loop_feed(chorus_loop *l, uint64_t now_us, const uint8_t *data, size_t len) {
  int rc = chorus_peer_recv(l->peer, now_us, data, len);
  if (rc != CHORUS_OK) l->cnt.rx_rejected++;
  if (rc == CHORUS_ERR_UNKNOWN_SENDER) loop_stranger(l, now_us);
}

/* One receive call: feed every datagram (a coalesced buffer split into
 * its datagrams), draining every CHORUS_LOOP_RECV_BATCH of them and at the
 * end. Returns how many datagrams; *full is set when every slot was used
 * (more may be waiting). */
static size_t loop_recv_batch(chorus_loop *l, int *full) {
  size_t got = 0, fed = 0;
  int rc = chorus_udp_recv_batch(l->fd, l->rx, l->rx_slots, l->rx_slot_bytes, &got);
  if (rc == CHORUS_UDP_ERR_SYS) l->cnt.rx_errors++;
  *full = got == l->rx_slots;
  if (got == 0) return 0;
  uint64_t now_us = chorus_clock_now_us();
  l->last_rx_us = now_us;
  l->cnt.rx_batches++;
  for (size_t i = 0; i < got; i++) {
    size_t parts = chorus_udp_msg_parts(&l->rx[i]);
    if (parts > 1) l->cnt.rx_coalesced++;
    for (size_t k = 0; k < parts; k++) {
      if (fed > 0 && fed % CHORUS_LOOP_RECV_BATCH == 0) loop_drain(l, now_us);
      size_t len = 0;
      const uint8_t *data = chorus_udp_msg_part(&l->rx[i], k, &len);
      loop_feed(l, now_us, data, len);
      fed++;
    }
  }
  l->cnt.rx_datagrams += fed;
  loop_drain(l, now_us);
  return fed;
}

/* Read what is pending, up to about CHORUS_LOOP_RECV_DATAGRAMS. */
static void loop_recv(chorus_loop *l) {
  size_t done = 0;
  int full = 1;
  while (full && done < CHORUS_LOOP_RECV_DATAGRAMS) done += loop_recv_batch(l, &full);
}

static void loop_drain_wake(chorus_loop *l) {
  uint8_t junk[64];
  while (read(l->wake_rd, junk, sizeof junk) > 0) {
  }
}

/* Publish progress for chorus_loop_flush and announce the coming sleep to
 * submitters (they then write the wake-up pipe). *busy is set when
 * commands that can run wait: the loop must not sleep then. Returns 1 if
 * stop was asked. */
static int loop_publish(chorus_loop *l, int *busy) {
  size_t pending = loop_pending_frames(l);
  pthread_mutex_lock(&l->mu);
  l->pending_frames = pending;
  int stop = l->stopping;
  *busy = l->count > 0 && !l->head_held && !stop;
  l->sleeping = !*busy;
  pthread_cond_broadcast(&l->progress);
  pthread_mutex_unlock(&l->mu);
  return stop;
}

/* Awake: submitters need not write the pipe until the next sleep. */
static void loop_awake(chorus_loop *l) {
  pthread_mutex_lock(&l->mu);
  l->sleeping = 0;
  l->wake_sent = 0;
  pthread_mutex_unlock(&l->mu);
}

static uint64_t loop_min(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* Sleep in poll() until `due_us` or activity (not at all when busy);
 * returns socket readability. */
static int loop_wait(chorus_loop *l, uint64_t now_us, uint64_t due_us, int busy) {
  int timeout_ms = -1;
  if (busy) {
    timeout_ms = 0;
  } else if (due_us != UINT64_MAX) {
    uint64_t wait_us = due_us > now_us ? due_us - now_us : 0;
    /* Round up: waking early would spin until the deadline. */
    uint64_t ms = (wait_us + 999) / 1000;
    timeout_ms = ms > 60000 ? 60000 : (int)ms;
  }
  struct pollfd fds[2] = {{l->fd, POLLIN, 0}, {l->wake_rd, POLLIN, 0}};
  int n = poll(fds, 2, timeout_ms);
  loop_awake(l);
  if (n < 0) {
    if (errno != EINTR) l->cnt.poll_errors++;
    return 0;
  }
  if (fds[1].revents) loop_drain_wake(l);
  return (fds[0].revents & (POLLIN | POLLERR)) != 0;
}

/*
 * When to leave after a stop request at stop_us: once no datagram came for
 * linger_us (peers that still retransmit to us want our ACK), at the latest
 * linger_max_us after the request.
 */
static uint64_t loop_leave_at(const chorus_loop *l, uint64_t stop_us) {
  uint64_t quiet_from = l->last_rx_us > stop_us ? l->last_rx_us : stop_us;
  return loop_min(quiet_from + l->linger_us, stop_us + l->linger_max_us);
}

static void *loop_main(void *arg) {
  chorus_loop *l = arg;
  uint64_t stop_us = UINT64_MAX, leave_us = UINT64_MAX;
  for (;;) {
    uint64_t now = chorus_clock_now_us();
    int busy = 0;
    loop_drain(l, now);
    /* Everything due leaves in one batch before the loop may sleep. */
    chorus_udp_fault_flush(l->tx, l->fd, now);
    l->deadline_us = chorus_peer_deadline(l->peer);
    if (loop_publish(l, &busy) && stop_us == UINT64_MAX) stop_us = now;
    if (stop_us != UINT64_MAX) leave_us = loop_leave_at(l, stop_us);
    if (now >= leave_us) break;
    l->cnt.wakeups++;
    uint64_t due = loop_min(loop_min(l->deadline_us, chorus_udp_fault_deadline(l->tx)), leave_us);
    int readable = loop_wait(l, now, due, busy);
    if (readable) loop_recv(l);
    loop_commands(l, chorus_clock_now_us());
    now = chorus_clock_now_us();
    if (now >= l->deadline_us) {
      l->cnt.ticks++;
      chorus_peer_tick(l->peer, now);
    }
  }
  chorus_udp_fault_flush(l->tx, l->fd, chorus_clock_now_us());
  return NULL;
}

int chorus_loop_start(chorus_loop *l) {
  if (l == NULL || l->started) return CHORUS_ERR_INVAL;
  int rc = pthread_create(&l->thread, NULL, loop_main, l);
  if (rc != 0) {
    errno = rc;
    return CHORUS_LOOP_ERR_SYS;
  }
  l->started = 1;
  return CHORUS_OK;
}

/* ---- other threads ----------------------------------------------------- */

static void loop_wake(chorus_loop *l) {
  const uint8_t one = 1;
  /* A full pipe already guarantees a wake-up: ignore EAGAIN. */
  ssize_t n = write(l->wake_wr, &one, 1);
  (void)n;
}

/* Put one command in the queue (len_bytes of text, 0 for none). */
static int loop_enqueue(chorus_loop *l, enum chorus_loop_cmd_kind kind, size_t member,
                        const uint8_t *text, size_t len_bytes, const chorus_udp_addr *addr,
                        uint64_t tag, int block) {
  int has_text = len_bytes > 0;
  if (has_text && len_bytes > l->slot_bytes) return CHORUS_ERR_MSG_TOO_LONG;
  pthread_mutex_lock(&l->mu);
  while (block && l->count == l->queue_max && !l->stopping) pthread_cond_wait(&l->space, &l->mu);
  int rc = CHORUS_OK;
  if (l->stopping) rc = CHORUS_ERR_INVAL;
  else if (l->count == l->queue_max) {
    l->queue_full++;
    rc = CHORUS_ERR_QUEUE_FULL;
  } else {
    loop_cmd *c = &l->queue[(l->head + l->count) % l->queue_max];
    c->kind = kind;
    c->member = member;
    c->tag = tag;
    c->len = has_text ? len_bytes : 0;
    c->text = c->len <= CHORUS_LOOP_CMD_SMALL_BYTES ? c->small : c->large;
    if (c->len > 0) memcpy(c->text, text, len_bytes);
    if (addr) c->addr = *addr;
    l->count++;
  }
  /* Only a sleeping loop needs the pipe; a running one sees the command
   * before it sleeps (loop_publish, under this lock). */
  int wake = rc == CHORUS_OK && l->sleeping && !l->wake_sent;
  if (wake) l->wake_sent = 1;
  pthread_mutex_unlock(&l->mu);
  if (wake) loop_wake(l);
  return rc;
}

int chorus_loop_submit(chorus_loop *l, enum chorus_loop_cmd_kind kind, size_t member,
                       const uint8_t *text, size_t len_bytes, uint64_t tag, int block) {
  int has_text = kind == CHORUS_LOOP_CMD_ROOM || kind == CHORUS_LOOP_CMD_PRIVATE;
  if (l == NULL || kind > CHORUS_LOOP_CMD_LEAVE || (has_text && text == NULL && len_bytes > 0))
    return CHORUS_ERR_INVAL;
  if (has_text && len_bytes > l->msg_bytes_max) return CHORUS_ERR_MSG_TOO_LONG;
  return loop_enqueue(l, kind, member, text, has_text ? len_bytes : 0, NULL, tag, block);
}

int chorus_loop_set_member(chorus_loop *l, size_t member, const char *name,
                           const chorus_udp_addr *addr) {
  if (l == NULL || name == NULL || addr == NULL || strlen(name) > CHORUS_NAME_BYTES_MAX ||
      member >= l->member_count)
    return CHORUS_ERR_INVAL;
  return loop_enqueue(l, CHORUS_LOOP_CMD_SET_MEMBER, member, (const uint8_t *)name,
                      strlen(name), addr, 0, 0);
}

/* Absolute CLOCK_REALTIME time `ms` from now, for pthread_cond_timedwait. */
static struct timespec loop_abstime(uint32_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

size_t chorus_loop_flush(chorus_loop *l, uint32_t timeout_ms) {
  /* The monotonic clock bounds the wait; the realtime clock only paces it. */
  uint64_t end = chorus_clock_now_us() + (uint64_t)timeout_ms * 1000u;
  pthread_mutex_lock(&l->mu);
  size_t left = l->count + l->pending_frames;
  while (left > 0 && l->started && !l->stopping && chorus_clock_now_us() < end) {
    struct timespec ts = loop_abstime(50);
    pthread_cond_timedwait(&l->progress, &l->mu, &ts);
    left = l->count + l->pending_frames;
  }
  pthread_mutex_unlock(&l->mu);
  return left;
}

void chorus_loop_stop(chorus_loop *l) {
  if (l == NULL) return;
  pthread_mutex_lock(&l->mu);
  l->stopping = 1;
  pthread_cond_broadcast(&l->space);
  pthread_mutex_unlock(&l->mu);
  if (l->started && !l->joined) {
    loop_wake(l);
    pthread_join(l->thread, NULL);
    l->joined = 1;
  }
}

void chorus_loop_free(chorus_loop *l) {
  if (l == NULL) return;
  chorus_loop_stop(l);
  loop_release(l);
  chorus_udp_close(l->fd);
  pthread_cond_destroy(&l->progress);
  pthread_cond_destroy(&l->space);
  pthread_mutex_destroy(&l->mu);
  free(l);
}
