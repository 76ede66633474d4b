/*
 * VIA SERVER (sim.h): a server node running core/server, and each peer's
 * way into the room through it, as `chorus peer --server` goes: the seat
 * machine (core/seat.h) over a client (core/client.h) logs in, joins the
 * room and gets a seat; only then does the node's core start, in slots
 * mode with the roster's names; every refresh names new occupants in the
 * core (chorus_peer_set_member), whose coordinator admits them. The
 * server's datagrams cross the same lossy network as the peers'.
 *
 * Plan, from the seed's server stream: node 0 joins at 0 and founds the
 * room; node k+1 starts joining a drawn 0..JOIN_GAP_MAX_US after node k got
 * its seat (so seat k is node k's, checked: "seat"); `leaves` graceful
 * leaves at drawn times in [50 %, 85 %] of the safety phase (the core
 * announces it, stops once its links are idle, then the seat leaves the
 * server's room); `server_crashes` crashes of the server in [10 %, 70 %],
 * each restarting from its last snapshot after 0.3..3 s. A crashed peer
 * that restarts logs in and joins again (the same seat) before its core
 * boots.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "sim_int.h"

#define JOIN_GAP_MAX_US 1500000u
#define SRV_DOWN_MIN_US 300000u
#define SRV_DOWN_MAX_US 3000000u
#define LEAVE_GRACE_US 3000000u  /* a leaver stops by then even if busy */
#define CLIENT_DEADLINE_US 4000000u /* as platform/session.c's calls */
#define SEAT_ROUNDS_MAX 16       /* answers handled per pump */
#define ROOM "room"

static const uint8_t PASSWORD[] = "sim-password";

static chorus_srv_addr addr_of(size_t node) {
  chorus_srv_addr a;
  memset(&a, 0, sizeof a);
  a.len = 1;
  a.bytes[0] = (uint8_t)node;
  return a;
}

static uint64_t srv_clock(const sim *s) { return s->now_us + s->srv_clock_offset_us; }

/* Clock of node i back to virtual time, never before now. */
static uint64_t virt(const sim *s, uint64_t clock_us, uint64_t offset_us) {
  uint64_t at = clock_us > offset_us ? clock_us - offset_us : 0;
  return at < s->now_us ? s->now_us : at;
}

static int send_dgram(sim *s, size_t from, size_t to, const uint8_t *data, size_t len,
                      uint8_t boot) {
  chorus_net_fate fate;
  int rc = chorus_net_send(s->net, s->now_us, from, to, data, len, &fate);
  if (rc) return sim_fail(s, rc, "network refused a server datagram: %s", chorus_errname(rc));
  s->res->datagrams++;
  for (size_t k = 0; k < fate.copies; k++) {
    chorus_evq_event ev = {.at_us = fate.copy[k].at_us, .slot = fate.copy[k].slot,
                           .kind = CHORUS_EVQ_DGRAM, .node = (uint8_t)to,
                           .from = (uint8_t)from, .boot = boot};
    rc = sim_push(s, &ev);
    if (rc) return rc;
  }
  chorus_trace_line(&s->trace, s->now_us, "stx n%zu>n%zu len=%zu copies=%zu", from, to, len,
                    fate.copies);
  return 0;
}

/* ---- the server --------------------------------------------------------- */

static int srv_pump(sim *s) {
  for (;;) {
    chorus_server_output o;
    int rc = chorus_server_poll(s->srv, &o, s->srv_buf, s->srv_cap);
    if (rc) return sim_fail(s, rc, "server poll failed: %s", chorus_errname(rc));
    if (o.kind == CHORUS_SERVER_OUT_NONE) break;
    if (o.kind == CHORUS_SERVER_OUT_PERSIST) { /* durable before the answer leaves */
      memcpy(s->snap, o.data, o.len);
      s->snap_len = o.len;
    } else if (o.kind == CHORUS_SERVER_OUT_RESPONSE) {
      if (o.to.len != 1 || o.to.bytes[0] >= s->cfg->nodes)
        return sim_fail(s, CHORUS_ERR_INVAL, "server answered an unknown address");
      rc = send_dgram(s, SIM_SERVER(s), o.to.bytes[0], o.data, o.len, (uint8_t)s->srv_boot);
      if (rc) return rc;
    } else if (o.kind == CHORUS_SERVER_OUT_EVENT) {
      chorus_trace_line(&s->trace, s->now_us, "srv %s user=%s room=%s detail=%u",
                        chorus_server_event_name(o.event), o.user, o.room,
                        (unsigned)o.detail);
    }
  }
  uint64_t d = chorus_server_deadline(s->srv);
  if (d == UINT64_MAX) return 0;
  uint64_t at = virt(s, d, s->srv_clock_offset_us);
  if (s->srv_timer_at_us != SIM_NO_TIMER && at >= s->srv_timer_at_us) return 0;
  s->srv_timer_at_us = at;
  chorus_evq_event ev = {.at_us = at, .kind = CHORUS_EVQ_SERVER, .slot = s->srv_boot};
  return sim_push(s, &ev);
}

static int srv_boot(sim *s) {
  chorus_server_config sc;
  chorus_server_config_default(&sc);
  sc.iterations = 1; /* the hash's cost is not what is simulated */
  sc.seed = sim_derive(s->cfg->seed, STREAM_SERVER, (uint64_t)1 << 40 | s->srv_boot);
  int rc = chorus_server_new(&sc, &s->srv);
  if (rc) return sim_fail(s, rc, "chorus_server_new: %s", chorus_errname(rc));
  s->srv_timer_at_us = SIM_NO_TIMER;
  const char *why = "";
  if (s->snap_len && (rc = chorus_server_load(s->srv, srv_clock(s), s->snap, s->snap_len,
                                               &why)) != 0)
    return sim_fail(s, rc, "the server cannot load its snapshot: %s", why);
  chorus_trace_line(&s->trace, s->now_us, "srv-boot %u snapshot=%zu", (unsigned)s->srv_boot,
                    s->snap_len);
  return srv_pump(s);
}

/* ---- the plan ----------------------------------------------------------- */

static int push(sim *s, uint64_t at, uint8_t kind, size_t node, uint8_t from, uint32_t slot) {
  chorus_evq_event ev = {.at_us = at, .kind = kind, .node = (uint8_t)node, .from = from,
                         .slot = slot};
  return sim_push(s, &ev);
}

int sim_srv_init(sim *s) {
  const chorus_sim_config *c = s->cfg;
  chorus_prng_init(&s->srv_rng, sim_derive(c->seed, STREAM_SERVER, 0));
  s->srv_clock_offset_us = sim_derive(c->seed, STREAM_SERVER, 1) % ((uint64_t)1 << 40);
  s->joins_pending = c->nodes;
  s->leaves_pending = c->leaves;
  s->srv_restarts_pending = c->server_crashes;
  chorus_server_config sc;
  chorus_server_config_default(&sc);
  chorus_server *probe = NULL;
  if (chorus_server_new(&sc, &probe) != 0) return sim_fail(s, CHORUS_ERR_NOMEM, "server");
  s->srv_cap = chorus_server_poll_bytes_min(probe);
  chorus_server_free(probe);
  s->srv_buf = malloc(s->srv_cap);
  s->snap = malloc(s->srv_cap);
  if (!s->srv_buf || !s->snap) return sim_fail(s, CHORUS_ERR_NOMEM, "out of memory");
  int rc = srv_boot(s);
  if (!rc) rc = push(s, 0, CHORUS_EVQ_JOIN, 0, 0, 0);
  for (size_t k = 0; k < c->leaves && !rc; k++)
    rc = push(s, chorus_prng_range(&s->srv_rng, c->duration_us / 2, c->duration_us * 85 / 100),
              CHORUS_EVQ_LEAVE, 0, 0, (uint32_t)k);
  for (size_t k = 0; k < c->server_crashes && !rc; k++) {
    uint64_t at = chorus_prng_range(&s->srv_rng, c->duration_us / 10, c->duration_us * 7 / 10);
    uint64_t down = chorus_prng_range(&s->srv_rng, SRV_DOWN_MIN_US, SRV_DOWN_MAX_US);
    rc = push(s, at, CHORUS_EVQ_SERVER, 0, 1, (uint32_t)down);
  }
  return rc;
}

void sim_srv_free(sim *s) {
  for (size_t i = 0; i < CHORUS_MEMBERS_MAX; i++) chorus_client_free(s->node[i].client);
  chorus_server_free(s->srv);
  free(s->srv_buf);
  free(s->snap);
}

int sim_srv_on_event(sim *s, const chorus_evq_event *ev) {
  if (ev->from == 0) { /* timer */
    if (!s->srv || ev->slot != s->srv_boot || ev->at_us != s->srv_timer_at_us) return 0;
    s->srv_timer_at_us = SIM_NO_TIMER;
    chorus_server_tick(s->srv, srv_clock(s));
    return srv_pump(s);
  }
  if (ev->from == 2) { /* restart */
    s->srv_restarts_pending--;
    s->srv_boot++;
    return srv_boot(s);
  }
  if (!s->srv) { /* already down: this crash folds into that one */
    s->srv_restarts_pending--;
    return 0;
  }
  chorus_trace_line(&s->trace, s->now_us, "srv-crash down_us=%u", (unsigned)ev->slot);
  chorus_server_free(s->srv);
  s->srv = NULL;
  s->res->server_crashed++;
  return push(s, s->now_us + ev->slot, CHORUS_EVQ_SERVER, 0, 2, 0);
}

/* ---- a peer's seat ------------------------------------------------------ */

static int seat_timer(sim *s, size_t i) {
  sim_node *n = &s->node[i];
  uint64_t a = chorus_client_deadline(n->client), b = chorus_seat_deadline(&n->seat);
  uint64_t d = a < b ? a : b;
  if (d == UINT64_MAX) return 0;
  uint64_t at = virt(s, d, n->clock_offset_us);
  if (n->seat_timer_at_us != SIM_NO_TIMER && at >= n->seat_timer_at_us) return 0;
  n->seat_timer_at_us = at;
  chorus_evq_event ev = {.at_us = at, .kind = CHORUS_EVQ_SEAT, .node = (uint8_t)i,
                         .boot = n->boot};
  return sim_push(s, &ev);
}

/* The seats hold n<seat> or nobody, and node i sits in seat i. */
static int seats_ok(sim *s, size_t i) {
  const chorus_seat_roster *r = &s->node[i].seat.roster;
  for (size_t j = 0; j < CHORUS_MEMBERS_MAX; j++) {
    char want[8];
    snprintf(want, sizeof want, "n%zu", j);
    if (r->names[j][0] && (j >= s->cfg->nodes || strcmp(r->names[j], want) != 0)) {
      chorus_check_fail(s->chk, "seat", s->now_us, i,
                        "n%zu was told seat %zu holds %s (seat k is node k's)", i, j,
                        r->names[j]);
      return 0;
    }
  }
  if (r->self == i) return 1;
  chorus_check_fail(s->chk, "seat", s->now_us, i, "n%zu got seat %zu, not its own", i,
                    r->self);
  return 0;
}

/* The roster names the occupants of the other seats in the core. */
static int name_members(sim *s, size_t i) {
  sim_node *n = &s->node[i];
  for (size_t j = 0; j < s->cfg->nodes; j++)
    if (j != i && n->seat.roster.names[j][0])
      (void)chorus_peer_set_member(n->peer, sim_clock(s, i), j, n->seat.roster.names[j]);
  return sim_drain(s, i);
}

static int next_joiner(sim *s, size_t i) {
  if (i + 1 >= s->cfg->nodes || s->node[i].booted) return 0;
  return push(s, s->now_us + chorus_prng_range(&s->srv_rng, 0, JOIN_GAP_MAX_US),
              CHORUS_EVQ_JOIN, i + 1, 0, 0);
}

static int on_seat_events(sim *s, size_t i, unsigned ev) {
  sim_node *n = &s->node[i];
  chorus_trace_line(&s->trace, s->now_us, "seat n%zu ev=%x status=%s seated=%d", i, ev,
                    chorus_srv_statusname(chorus_seat_status(&n->seat)),
                    chorus_seat_seated(&n->seat));
  if (ev & CHORUS_SEAT_EV_FAILED)
    chorus_check_fail(s->chk, "server", s->now_us, i, "n%zu: the server refused: %s", i,
                      chorus_srv_statusname(chorus_seat_status(&n->seat)));
  if (ev & CHORUS_SEAT_EV_LEFT && n->left) {
    s->leaves_pending--;
    s->res->left++;
  }
  if ((ev & CHORUS_SEAT_EV_ROSTER) && !seats_ok(s, i)) return 0;
  if ((ev & CHORUS_SEAT_EV_SEATED) && !n->peer && !n->left) {
    int rc = next_joiner(s, i);
    if (rc) return rc;
    if (!n->booted) {
      s->joins_pending--;
      s->res->seated++;
      return sim_node_first_boot(s, i);
    }
    s->restarts_pending--; /* the run is not quiet before this boot */
    rc = sim_node_restart(s, i);
    /* The seat's timer event carries the boot before this one: seat_pump
     * arms it again for this boot (else the seat never refreshes). */
    n->seat_timer_at_us = SIM_NO_TIMER;
    return rc;
  }
  /* A leaver's core runs on until its LEAVE is out: it must hear newcomers
   * too (their FLUSH_DONE, their reports). */
  if ((ev & CHORUS_SEAT_EV_ROSTER) && n->peer) return name_members(s, i);
  return 0;
}

/* Requests due go out; answers go to the seat machine; the timer. */
static int seat_pump(sim *s, size_t i) {
  sim_node *n = &s->node[i];
  for (int round = 0; round < SEAT_ROUNDS_MAX && n->client; round++) {
    uint64_t now = sim_clock(s, i);
    chorus_srv_request q;
    if (chorus_seat_next(&n->seat, now, &q)) {
      int rc = chorus_client_submit(n->client, now, &q, 0, NULL);
      if (rc) return sim_fail(s, rc, "n%zu: client refused a request: %s", i,
                              chorus_errname(rc));
    }
    unsigned ev = 0;
    int answered = 0;
    chorus_client_output o;
    while (chorus_client_poll(n->client, &o) == 0 && o.kind != CHORUS_CLIENT_OUT_NONE) {
      if (o.kind == CHORUS_CLIENT_OUT_DATAGRAM) {
        int rc = send_dgram(s, i, SIM_SERVER(s), o.data, o.len, n->boot);
        if (rc) return rc;
        continue;
      }
      int st = o.kind == CHORUS_CLIENT_OUT_RESPONSE ? o.resp.status : CHORUS_SRV_UNREACHABLE;
      ev |= chorus_seat_answer(&n->seat, now, st, &o.resp);
      answered = 1;
    }
    if (ev) {
      int rc = on_seat_events(s, i, ev);
      if (rc) return rc;
    }
    if (!answered) break;
  }
  return n->client ? seat_timer(s, i) : 0;
}

int sim_srv_start(sim *s, size_t i) {
  sim_node *n = &s->node[i];
  chorus_client_config cc;
  chorus_client_config_default(&cc);
  cc.servers[0] = addr_of(SIM_SERVER(s));
  cc.server_count = 1;
  cc.deadline_us = CLIENT_DEADLINE_US;
  /* A seed of its own per process (the boot about to run): request ids of
   * an earlier boot's client would hit the server's reply cache and get
   * that boot's answers (its token, its old room list). */
  uint64_t boot = n->booted ? (uint64_t)n->boot + 1 : 0;
  cc.seed = sim_derive(s->cfg->seed, STREAM_SERVER, (uint64_t)2 << 40 | (uint64_t)i << 8 | boot);
  chorus_client_free(n->client);
  n->client = NULL;
  int rc = chorus_client_new(&cc, &n->client);
  if (rc) return sim_fail(s, rc, "n%zu: chorus_client_new: %s", i, chorus_errname(rc));
  char name[8];
  snprintf(name, sizeof name, "n%zu", i);
  chorus_seat_config sc = {name, PASSWORD, sizeof PASSWORD - 1, addr_of(i),
                           CHORUS_SEAT_REFRESH_US_DEFAULT};
  rc = chorus_seat_init(&n->seat, &sc);
  if (!rc) rc = chorus_seat_enter(&n->seat, sim_clock(s, i), ROOM);
  if (rc) return sim_fail(s, rc, "n%zu: seat refused its configuration", i);
  n->seat_timer_at_us = SIM_NO_TIMER;
  chorus_trace_line(&s->trace, s->now_us, "join-start n%zu", i);
  return seat_pump(s, i);
}

int sim_srv_on_join(sim *s, const chorus_evq_event *ev) { return sim_srv_start(s, ev->node); }

int sim_srv_on_seat(sim *s, const chorus_evq_event *ev) {
  sim_node *n = &s->node[ev->node];
  if (!n->client || ev->boot != n->boot || ev->at_us != n->seat_timer_at_us) return 0;
  n->seat_timer_at_us = SIM_NO_TIMER;
  chorus_client_tick(n->client, sim_clock(s, ev->node));
  return seat_pump(s, ev->node);
}

int sim_srv_poke(sim *s, size_t i) {
  sim_node *n = &s->node[i];
  if (!n->client) return 0;
  chorus_seat_poke(&n->seat, sim_clock(s, i));
  return seat_pump(s, i);
}

void sim_srv_crashed(sim *s, size_t i) {
  sim_node *n = &s->node[i];
  chorus_client_free(n->client);
  n->client = NULL;
  n->seat_timer_at_us = SIM_NO_TIMER;
}

/* Datagrams between the server and a node's client. */
int sim_srv_on_dgram(sim *s, const chorus_evq_event *ev) {
  size_t len;
  const uint8_t *data = chorus_net_slot(s->net, ev->slot, &len);
  int rc = 0;
  if (ev->node == SIM_SERVER(s)) {
    chorus_srv_addr from = addr_of(ev->from);
    if (s->srv) {
      rc = chorus_server_recv(s->srv, srv_clock(s), &from, data, len);
      chorus_trace_line(&s->trace, s->now_us, "srx n%u len=%zu%s%s", (unsigned)ev->from, len,
                        rc ? " err=" : "", rc ? chorus_errname(rc) : "");
      rc = srv_pump(s);
    }
    chorus_net_release(s->net, ev->slot);
    return rc;
  }
  sim_node *n = &s->node[ev->node];
  if (n->client) {
    chorus_srv_addr from = addr_of(SIM_SERVER(s));
    (void)chorus_client_recv(n->client, sim_clock(s, ev->node), &from, data, len);
  }
  chorus_net_release(s->net, ev->slot);
  return n->client ? seat_pump(s, ev->node) : 0;
}

/* ---- leaves ------------------------------------------------------------- */

static int leave_now(sim *s, size_t i) {
  sim_node *n = &s->node[i];
  int rc = chorus_peer_leave(n->peer, sim_clock(s, i));
  if (rc == CHORUS_ERR_QUEUE_FULL) return 1;
  if (rc) return sim_fail(s, rc, "n%zu refused to leave: %s", i, chorus_errname(rc));
  chorus_trace_line(&s->trace, s->now_us, "leave n%zu", i);
  chorus_check_leave(s->chk, s->now_us, i);
  n->leaving = 1;
  n->joined = 0;
  rc = push(s, s->now_us + LEAVE_GRACE_US, CHORUS_EVQ_LEAVE, i, 1, 0);
  return rc ? rc : sim_drain(s, i);
}

static size_t pick_leaver(sim *s) {
  size_t want = (size_t)chorus_prng_below(&s->srv_rng, sim_pickable_count(s));
  for (size_t i = 0; i < s->cfg->nodes; i++) {
    const sim_node *n = &s->node[i];
    if (!n->down && n->joined && !n->crash_armed && !n->leaving && want-- == 0) return i;
  }
  return 0;
}

/* The core stops once its links are idle (or the grace ended); then the
 * seat leaves the server's room. */
static int leave_finish(sim *s, size_t i) {
  sim_node *n = &s->node[i];
  chorus_trace_line(&s->trace, s->now_us, "left n%zu", i);
  chorus_peer_free(n->peer);
  n->peer = NULL;
  n->down = 1;
  n->leaving = 0;
  n->left = 1;
  n->timer_at_us = SIM_NO_TIMER;
  chorus_seat_leave(&n->seat, sim_clock(s, i));
  return seat_pump(s, i);
}

int sim_srv_leave_check(sim *s, size_t i) {
  return chorus_peer_leaving_done(s->node[i].peer) ? leave_finish(s, i) : 0;
}

int sim_srv_on_leave(sim *s, const chorus_evq_event *ev) {
  if (ev->from == 1) {
    sim_node *n = &s->node[ev->node];
    return n->leaving && n->peer ? leave_finish(s, ev->node) : 0;
  }
  /* Two stay in the room; and no seat frees up before every node has its
   * own (seat k is node k's), even after the heal (a server crash may
   * delay the last joins that long). */
  if ((sim_pickable_count(s) < 3 && !s->healed) || s->joins_pending)
    return push(s, s->now_us + SIM_WAIT_US, CHORUS_EVQ_LEAVE, 0, 0, ev->slot);
  if (sim_pickable_count(s) < 3) {
    s->leaves_pending--;
    chorus_trace_line(&s->trace, s->now_us, "leave-dropped k=%u", (unsigned)ev->slot);
    return 0;
  }
  size_t i = pick_leaver(s);
  int rc = leave_now(s, i);
  if (rc == 1) /* no room to announce it yet */
    return push(s, s->now_us + 1000, CHORUS_EVQ_LEAVE, 0, 0, ev->slot);
  return rc;
}

/* ---- the end ------------------------------------------------------------ */

int sim_srv_done(const sim *s) {
  return s->srv && s->joins_pending == 0 && s->leaves_pending == 0 &&
         s->srv_restarts_pending == 0;
}

/* "roster": every restarted node got its seat back; the server's room
 * lists every node up in the room (seat k: node k) and no node that left;
 * each node up stands in a view of exactly the nodes up in the room
 * (crashed ones may keep their seat for a lease). */
void sim_srv_finish(sim *s) {
  chorus_srv_response r;
  if (!s->srv) {
    chorus_check_fail(s->chk, "roster", s->now_us, 0, "the server is down at the end");
    return;
  }
  if (s->restarts_pending) { /* a restarted node still waits for its seat */
    chorus_check_fail(s->chk, "roster", s->now_us, 0,
                      "%zu restarted node(s) never got their seat back", s->restarts_pending);
    return;
  }
  chorus_server_room_members(s->srv, srv_clock(s), ROOM, &r);
  uint32_t listed = 0, up = 0;
  for (size_t k = 0; k < r.count; k++) listed |= 1u << r.members[k].seat;
  for (size_t i = 0; i < s->cfg->nodes; i++)
    if (s->node[i].peer && !s->node[i].leaving) up |= 1u << i;
  for (size_t i = 0; i < s->cfg->nodes; i++) {
    const sim_node *n = &s->node[i];
    const char *why = NULL;
    if ((up & (1u << i)) && !(listed & (1u << i))) why = "is up but not in the server's room";
    else if (n->left && (listed & (1u << i))) why = "left but is still in the server's room";
    else if ((up & (1u << i)) && ((uint32_t)~n->removed & ((1u << s->cfg->nodes) - 1)) != up)
      why = "stands in a view other than the nodes up in the room";
    if (!why) continue;
    chorus_check_fail(s->chk, "roster", s->now_us, i,
                      "n%zu %s (room lists %x, up %x, its view %x)", i, why, (unsigned)listed,
                      (unsigned)up,
                      (unsigned)(~n->removed & ((1u << s->cfg->nodes) - 1)));
    return;
  }
}
