/*
 * The workload: at random times a random node sends a room message (in the
 * configured order, or one drawn per message with order_mixed) or a private
 * one to a random other node. Every draw comes from the seed and never
 * depends on the cores' answers, so the workload is the same whatever the
 * cores do; the order draws have a stream of their own, so a mixed run has
 * the same senders, times and lengths as a single-order one.
 */
#include <string.h>

#include "err.h"
#include "sim_int.h"

void sim_work_init(sim *s) {
  chorus_prng_init(&s->work, sim_derive(s->cfg->seed, STREAM_WORK, 0));
  chorus_prng_init(&s->order, sim_derive(s->cfg->seed, STREAM_ORDER, 0));
}

static enum chorus_order draw_order(sim *s) {
  if (!s->cfg->order_mixed) return s->cfg->order;
  return (enum chorus_order)chorus_prng_below(&s->order, CHORUS_ORDER_SAFE + 1);
}

static size_t draw_len(const sim *s, chorus_prng *rng) {
  size_t max = s->cfg->msg_bytes_max;
  size_t short_max = max < CHORUS_SIM_SHORT_BYTES_MAX ? max : CHORUS_SIM_SHORT_BYTES_MAX;
  /* Long messages need at least two fragments when the limit allows it. */
  if (chorus_prng_chance_ppm(rng, CHORUS_SIM_LONG_PPM) &&
      max > CHORUS_DATAGRAM_BYTES_MAX)
    return (size_t)chorus_prng_range(rng, CHORUS_DATAGRAM_BYTES_MAX + 1, max);
  return (size_t)chorus_prng_range(rng, 1, short_max);
}

int sim_schedule_work(sim *s) {
  uint64_t gap = chorus_prng_range(&s->work, 1, 2 * s->cfg->send_interval_us - 1);
  if (s->now_us + gap >= s->cfg->duration_us) return 0;
  chorus_evq_event ev = {.at_us = s->now_us + gap, .kind = CHORUS_EVQ_WORK};
  return sim_push(s, &ev);
}

static int register_sent(sim *s, const chorus_check_msg *m) {
  int rc = chorus_check_sent(s->chk, m);
  if (rc == CHORUS_ERR_QUEUE_FULL)
    return sim_fail(s, rc, "checker table full (%zu messages)",
                    s->cfg->messages_max ? s->cfg->messages_max
                                         : chorus_sim_messages_max(s->cfg));
  if (rc < 0)
    return sim_fail(s, rc, "checker refused message from n%zu: %s", m->sender,
                    chorus_errname(rc));
  if (rc == 0) {
    s->res->sent++;
    if (m->kind == CHORUS_MSG_ROOM) s->res->sent_room++;
  }
  return 0;
}

/* The text key of the next message of `sender`: unique per (seed, node). */
static uint64_t next_text_key(sim *s, size_t sender) {
  return sim_derive(s->cfg->seed, STREAM_TEXT,
                    (uint64_t)sender << 56 | s->node[sender].sends++);
}

/* Draws the next workload message: sender, kind, receiver, order, length,
 * text. */
static void draw_msg(sim *s, chorus_check_msg *m) {
  size_t nodes = s->cfg->nodes;
  memset(m, 0, sizeof *m);
  m->at_us = s->now_us;
  m->sender = (size_t)chorus_prng_below(&s->work, nodes);
  m->kind = chorus_prng_chance_ppm(&s->work, SIM_PPM_ONE - s->cfg->private_ppm)
                ? CHORUS_MSG_ROOM
                : CHORUS_MSG_PRIVATE;
  m->to = (m->sender + 1 + (size_t)chorus_prng_below(&s->work, nodes - 1)) % nodes;
  m->order = m->kind == CHORUS_MSG_ROOM ? draw_order(s) : CHORUS_ORDER_FIFO;
  m->len_bytes = draw_len(s, &s->work);
  m->epoch = s->node[m->sender].epoch;
  m->text_key = next_text_key(s, m->sender);
}

/* Hands message *m to its sender's core; on success registers it with the
 * checker under the msg_id the core chose. */
static int submit(sim *s, chorus_check_msg *m) {
  sim_node *n = &s->node[m->sender];
  uint64_t now = sim_clock(s, m->sender);
  int room = m->kind == CHORUS_MSG_ROOM;
  chorus_check_text(m->text_key, s->text_buf, m->len_bytes);
  int rc = room ? chorus_peer_send_room(n->peer, now, m->order, s->text_buf,
                                        m->len_bytes, &m->msg_id)
                : chorus_peer_send_private(n->peer, now, m->to, s->text_buf,
                                           m->len_bytes, &m->msg_id);
  if (rc == CHORUS_ERR_WINDOW_FULL || rc == CHORUS_ERR_QUEUE_FULL) {
    s->res->refused++;
    chorus_trace_line(&s->trace, s->now_us, "refuse n%zu len=%zu %s", m->sender,
                      m->len_bytes, chorus_errname(rc));
    return 0;
  }
  if (rc)
    return sim_fail(s, rc, "n%zu refused a valid %zu-byte message: %s", m->sender,
                    m->len_bytes, chorus_errname(rc));
  if (room)
    chorus_trace_line(&s->trace, s->now_us, "send n%zu room/%s e=%u id=%u len=%zu",
                      m->sender, chorus_sim_order_name(m->order), (unsigned)m->epoch,
                      (unsigned)m->msg_id, m->len_bytes);
  else
    chorus_trace_line(&s->trace, s->now_us, "send n%zu priv>n%zu e=%u id=%u len=%zu",
                      m->sender, m->to, (unsigned)m->epoch, (unsigned)m->msg_id,
                      m->len_bytes);
  return register_sent(s, m);
}

/* A user whose node is down, or restarted and not yet back in the room,
 * sends nothing; nobody writes privately to a member their node has removed
 * (the core would refuse: unknown user), nor to a member whose node
 * restarted while their view still holds its previous boot (that message
 * would go to the boot that crashed). */
static int skip_reason(const sim *s, const chorus_check_msg *m, const char **why) {
  int priv = m->kind == CHORUS_MSG_PRIVATE;
  if (s->node[m->sender].down) *why = "sender down";
  else if (!s->node[m->sender].joined) *why = "sender joining";
  else if (s->node[m->sender].leaving) *why = "sender leaving";
  else if (priv && (s->node[m->sender].removed & (1u << m->to))) *why = "receiver removed";
  else if (priv && !chorus_check_in_view(s->chk, m->sender, m->to))
    *why = "receiver restarting";
  else return 0;
  return 1;
}

int sim_on_work(sim *s) {
  chorus_check_msg m;
  draw_msg(s, &m);
  const char *why;
  int skip = skip_reason(s, &m, &why);
  int rc = 0;
  if (skip) {
    s->res->skipped++;
    chorus_trace_line(&s->trace, s->now_us, "skip n%zu %s", m.sender, why);
  } else {
    rc = submit(s, &m);
  }
  if (!rc) rc = sim_schedule_work(s);
  if (rc || skip) return rc;
  return sim_drain(s, m.sender);
}

int sim_submit_room(sim *s, size_t sender, chorus_prng *rng) {
  chorus_check_msg m;
  memset(&m, 0, sizeof m);
  m.at_us = s->now_us;
  m.sender = sender;
  m.kind = CHORUS_MSG_ROOM;
  m.order = draw_order(s);
  m.len_bytes = draw_len(s, rng);
  m.epoch = s->node[sender].epoch;
  m.text_key = next_text_key(s, sender);
  return submit(s, &m);
}
