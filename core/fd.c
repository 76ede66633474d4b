#include "fd.h"

#include <string.h>

static uint32_t bit(size_t i) { return (uint32_t)1 << i; }

void chorus_fd_profile_default(chorus_fd_config *cfg) {
  cfg->heartbeat_us = 500000;
  cfg->suspect_us = 2000000;
  cfg->probe_us = 1000000;
  cfg->suspicion_us = 2000000;
}

void chorus_fd_profile_fast(chorus_fd_config *cfg) {
  cfg->heartbeat_us = 100000;
  cfg->suspect_us = 700000;
  cfg->probe_us = 400000;
  cfg->suspicion_us = 800000;
}

void chorus_fd_init(chorus_fd *fd, const chorus_fd_config *cfg, size_t n,
                    size_t self, uint64_t now_us, chorus_prng *prng) {
  memset(fd, 0, sizeof(*fd));
  fd->cfg = *cfg;
  fd->n = n;
  fd->self = self;
  fd->prng = prng;
  for (size_t i = 0; i < n; i++) {
    fd->m[i].watched = i != self;
    fd->m[i].last_heard_us = fd->m[i].last_direct_us = now_us;
    fd->m[i].since_us = now_us;
  }
}

void chorus_fd_watch(chorus_fd *fd, size_t member, uint64_t now_us) {
  if (member >= fd->n || member == fd->self) return;
  chorus_fd_member *m = &fd->m[member];
  memset(m, 0, sizeof(*m));
  m->watched = 1;
  m->last_heard_us = m->last_direct_us = m->since_us = now_us;
  fd->probe_to[member] = 0;
}

void chorus_fd_forget(chorus_fd *fd, size_t member) {
  if (member < fd->n) fd->m[member].watched = 0;
  for (size_t i = 0; i < fd->n; i++) {
    fd->m[i].gossip_to &= ~bit(member);
    fd->m[i].asked_by &= ~bit(member);
    fd->probe_to[i] &= ~bit(member);
  }
}

static void become(chorus_fd_member *m, enum chorus_fd_state s, uint64_t now_us) {
  m->state = (uint8_t)s;
  m->since_us = now_us;
}

/* Everyone we watch, plus `extra` (the subject of the gossip). */
static uint32_t audience(const chorus_fd *fd, size_t extra) {
  uint32_t mask = 0;
  for (size_t i = 0; i < fd->n; i++)
    if (fd->m[i].watched && fd->m[i].state != CHORUS_FD_DEAD) mask |= bit(i);
  return (mask | bit(extra)) & ~bit(fd->self);
}

static void announce(chorus_fd *fd, size_t member, uint8_t what) {
  fd->m[member].announce = what;
  fd->m[member].gossip_to = audience(fd, member);
}

/* `member` was alive at `at_us` (<= now_us), as far as we know. */
static void heard_at(chorus_fd *fd, size_t member, uint64_t at_us, uint64_t now_us) {
  if (member >= fd->n || !fd->m[member].watched) return;
  chorus_fd_member *m = &fd->m[member];
  if (m->state == CHORUS_FD_DEAD || at_us < m->last_heard_us) return;
  m->last_heard_us = at_us;
  fd->probe_to[member] = 0;
  if (m->state == CHORUS_FD_SUSPECT) announce(fd, member, 2);
  if (m->state != CHORUS_FD_ALIVE) become(m, CHORUS_FD_ALIVE, now_us);
}

void chorus_fd_heard(chorus_fd *fd, size_t member, uint64_t now_us) {
  if (member >= fd->n || !fd->m[member].watched) return;
  if (now_us > fd->m[member].last_direct_us) fd->m[member].last_direct_us = now_us;
  fd->m[member].heard_direct = 1;
  heard_at(fd, member, now_us, now_us);
}

void chorus_fd_on_probe(chorus_fd *fd, size_t from, size_t member, uint64_t now_us) {
  (void)now_us;
  if (from >= fd->n || member >= fd->n || member == from) return;
  fd->m[member].asked_by |= bit(from);
}

void chorus_fd_on_vouch(chorus_fd *fd, size_t from, size_t member, uint32_t age_ms,
                        uint64_t now_us) {
  (void)from;
  uint64_t age_us = (uint64_t)age_ms * 1000;
  heard_at(fd, member, age_us < now_us ? now_us - age_us : 0, now_us);
}

void chorus_fd_on_gossip(chorus_fd *fd, size_t member, uint32_t incarnation,
                         int alive, uint64_t now_us) {
  if (member >= fd->n) return;
  if (member == fd->self) {
    if (!alive && incarnation >= fd->self_incarnation) { /* refute */
      fd->self_incarnation = incarnation + 1;
      fd->m[member].incarnation = fd->self_incarnation;
      announce(fd, member, 2);
    }
    return;
  }
  chorus_fd_member *m = &fd->m[member];
  if (!m->watched || m->state == CHORUS_FD_DEAD) return;
  if (alive && incarnation > m->incarnation) {
    m->incarnation = incarnation;
    heard_at(fd, member, now_us, now_us);
  } else if (!alive && incarnation >= m->incarnation && m->state != CHORUS_FD_SUSPECT) {
    m->incarnation = incarnation;
    become(m, CHORUS_FD_SUSPECT, now_us);
  }
}

/* Pick up to CHORUS_FD_PROBE_HELPERS alive members other than `member`. */
static uint32_t pick_helpers(chorus_fd *fd, size_t member) {
  size_t cand[CHORUS_MEMBERS_MAX], nc = 0;
  for (size_t i = 0; i < fd->n; i++)
    if (i != member && fd->m[i].watched && fd->m[i].state == CHORUS_FD_ALIVE)
      cand[nc++] = i;
  uint32_t mask = 0;
  for (size_t k = 0; k < CHORUS_FD_PROBE_HELPERS && nc > 0; k++) {
    size_t j = (size_t)chorus_prng_below(fd->prng, nc);
    mask |= bit(cand[j]);
    cand[j] = cand[--nc];
  }
  return mask;
}

/* Move `member` along ALIVE -> PROBING -> SUSPECT -> DEAD as time passes.
 * Returns 1 when it has just been declared dead. */
static int advance(chorus_fd *fd, size_t i, uint64_t now_us) {
  chorus_fd_member *m = &fd->m[i];
  const chorus_fd_config *c = &fd->cfg;
  if (m->state == CHORUS_FD_ALIVE && now_us >= m->last_heard_us + c->suspect_us) {
    become(m, CHORUS_FD_PROBING, now_us);
    fd->probe_to[i] = pick_helpers(fd, i);
  } else if (m->state == CHORUS_FD_PROBING && now_us >= m->since_us + c->probe_us) {
    become(m, CHORUS_FD_SUSPECT, now_us);
    announce(fd, i, 1);
    fd->suspicions++;
  } else if (m->state == CHORUS_FD_SUSPECT && now_us >= m->since_us + c->suspicion_us) {
    become(m, CHORUS_FD_DEAD, now_us);
    return 1;
  }
  return 0;
}

static int lowest_bit(uint32_t mask) {
  for (int i = 0; i < 32; i++)
    if (mask & bit((size_t)i)) return i;
  return -1;
}

/* Owed messages for member i: probes, vouches, gossip. */
static int pending(chorus_fd *fd, size_t i, uint64_t now_us, chorus_fd_action *a) {
  chorus_fd_member *m = &fd->m[i];
  int h;
  if ((h = lowest_bit(fd->probe_to[i])) >= 0) {
    fd->probe_to[i] &= ~bit((size_t)h);
    *a = (chorus_fd_action){CHORUS_FD_SEND_PROBE, i, (size_t)h, 0};
    return 1;
  }
  /* Vouch only on first-hand news fresher than the asker's: heard from it
   * within two heartbeats. Older or second-hand news proves nothing the
   * asker does not know, and passed on it would outlive a crash; so would
   * the mere start of watching (a node that just booted has heard from
   * nobody, and vouching then kept a member that crashed before the boot
   * alive for another detection period). */
  uint64_t age_us = now_us - m->last_direct_us;
  int fresh = m->state == CHORUS_FD_ALIVE && m->heard_direct && now_us >= m->last_direct_us &&
              age_us < 2 * (uint64_t)fd->cfg.heartbeat_us;
  if (fresh && (h = lowest_bit(m->asked_by)) >= 0) {
    m->asked_by &= ~bit((size_t)h);
    *a = (chorus_fd_action){CHORUS_FD_SEND_VOUCH, i, (size_t)h, (uint32_t)(age_us / 1000)};
    return 1;
  }
  if (m->announce && (h = lowest_bit(m->gossip_to)) >= 0) {
    m->gossip_to &= ~bit((size_t)h);
    enum chorus_fd_action_kind k =
        m->announce == 1 ? CHORUS_FD_SEND_SUSPECT : CHORUS_FD_SEND_ALIVE;
    uint32_t inc = i == fd->self ? fd->self_incarnation : m->incarnation;
    *a = (chorus_fd_action){k, i, (size_t)h, inc};
    if (m->gossip_to == 0) m->announce = 0;
    return 1;
  }
  return 0;
}

void chorus_fd_next(chorus_fd *fd, uint64_t now_us, chorus_fd_action *a) {
  for (size_t i = 0; i < fd->n; i++) {
    if (fd->m[i].watched && advance(fd, i, now_us)) {
      *a = (chorus_fd_action){CHORUS_FD_DECLARE_DEAD, i, 0, fd->m[i].incarnation};
      return;
    }
    if ((fd->m[i].watched || i == fd->self) && pending(fd, i, now_us, a)) return;
  }
  a->kind = CHORUS_FD_NONE;
}

uint64_t chorus_fd_deadline(const chorus_fd *fd) {
  uint64_t due = UINT64_MAX;
  for (size_t i = 0; i < fd->n; i++) {
    const chorus_fd_member *m = &fd->m[i];
    if (!m->watched) continue;
    uint64_t d = UINT64_MAX;
    if (m->state == CHORUS_FD_ALIVE) d = m->last_heard_us + fd->cfg.suspect_us;
    else if (m->state == CHORUS_FD_PROBING) d = m->since_us + fd->cfg.probe_us;
    else if (m->state == CHORUS_FD_SUSPECT) d = m->since_us + fd->cfg.suspicion_us;
    if (d < due) due = d;
  }
  return due;
}

enum chorus_fd_state chorus_fd_state_of(const chorus_fd *fd, size_t member) {
  return member < fd->n ? (enum chorus_fd_state)fd->m[member].state : CHORUS_FD_DEAD;
}

int chorus_fd_watching(const chorus_fd *fd, size_t member) {
  return member < fd->n && fd->m[member].watched;
}
