/*
 * chorus_fd: failure detector in the manner of SWIM (Das, Gupta and
 * Motivala, DSN 2002), adapted to a full mesh of at most 10 members:
 *
 *   - every datagram from a member is proof of life (heartbeats ride on
 *     traffic; an idle link gets an empty heartbeat datagram every
 *     heartbeat_us);
 *   - after suspect_us of silence the detector asks up to
 *     CHORUS_FD_PROBE_HELPERS other members to vouch for the member
 *     (indirect probe, SWIM's ping-req): a helper that heard from it
 *     recently answers at once, otherwise it pings it and answers when it
 *     hears back;
 *   - with no news probe_us later the member is suspected, and the
 *     suspicion is gossiped; the suspect refutes it by raising its
 *     incarnation and announcing ALIVE (SWIM section 4.2);
 *   - a suspicion that stands for suspicion_us declares the member dead.
 *
 * Pure: time comes in, decisions come out through chorus_fd_next().
 */
#ifndef CHORUS_FD_H
#define CHORUS_FD_H

#include <stddef.h>
#include <stdint.h>

#include "peer.h"
#include "prng.h"

#define CHORUS_FD_PROBE_HELPERS 2

enum chorus_fd_state {
  CHORUS_FD_ALIVE = 0,
  CHORUS_FD_PROBING = 1, /* silent: helpers asked to vouch */
  CHORUS_FD_SUSPECT = 2, /* suspected, waiting for a refutation */
  CHORUS_FD_DEAD = 3,
};

/* What the detector wants done (chorus_fd_next). */
enum chorus_fd_action_kind {
  CHORUS_FD_NONE = 0,
  CHORUS_FD_SEND_PROBE,   /* ask `helper` to vouch for `member` */
  CHORUS_FD_SEND_VOUCH,   /* tell `helper` (the asker) `member` is alive;
                             `incarnation` carries the age of the news, ms */
  CHORUS_FD_SEND_SUSPECT, /* gossip: `member` suspected at `incarnation` */
  CHORUS_FD_SEND_ALIVE,   /* gossip: `member` alive at `incarnation` */
  CHORUS_FD_DECLARE_DEAD, /* `member` is dead */
};

typedef struct chorus_fd_action {
  enum chorus_fd_action_kind kind;
  size_t member, helper;
  uint32_t incarnation;
} chorus_fd_action;

typedef struct chorus_fd_config {
  uint32_t heartbeat_us, suspect_us, probe_us, suspicion_us;
} chorus_fd_config;

typedef struct chorus_fd_member {
  uint8_t state;
  uint8_t watched;         /* 0: not monitored (self, removed) */
  uint64_t last_heard_us;  /* latest sign of life, first- or second-hand */
  uint64_t last_direct_us; /* latest datagram from the member itself */
  uint8_t heard_direct;    /* a datagram came from it since it was watched
                              (until then last_direct_us is only the start
                              of watching, no news to vouch with) */
  uint64_t since_us;       /* entered the current state */
  uint32_t incarnation;    /* highest known for this member */
  uint32_t asked_by;       /* members that asked us to vouch (bit per index) */
  uint8_t announce;        /* gossip owed: 1 suspect, 2 alive */
  uint32_t gossip_to;      /* members still owed that gossip */
} chorus_fd_member;

typedef struct chorus_fd {
  chorus_fd_config cfg;
  size_t n, self;
  uint32_t self_incarnation;
  chorus_fd_member m[CHORUS_MEMBERS_MAX];
  uint32_t probe_to[CHORUS_MEMBERS_MAX]; /* helpers still to ask, per member */
  uint64_t suspicions;                   /* members this node suspected */
  chorus_prng *prng;                     /* owned by the caller */
} chorus_fd;

/* Default profile: detection in about 5 s; fast profile: about 2 s. */
void chorus_fd_profile_default(chorus_fd_config *cfg);
void chorus_fd_profile_fast(chorus_fd_config *cfg);

/* Start watching members 0..n-1 except `self`, all heard at `now_us`.
 * `prng` (caller-owned, outlives the detector) picks probe helpers. */
void chorus_fd_init(chorus_fd *fd, const chorus_fd_config *cfg, size_t n,
                    size_t self, uint64_t now_us, chorus_prng *prng);

/* Watch `member` again (admitted back), alive as of `now_us`, at
 * incarnation 0 (a new epoch). */
void chorus_fd_watch(chorus_fd *fd, size_t member, uint64_t now_us);

/* Stop watching `member` (removed from the view). */
void chorus_fd_forget(chorus_fd *fd, size_t member);

/* A datagram from `member` arrived: it is alive. */
void chorus_fd_heard(chorus_fd *fd, size_t member, uint64_t now_us);

/* `from` asks us to vouch for `member`. */
void chorus_fd_on_probe(chorus_fd *fd, size_t from, size_t member, uint64_t now_us);

/* `from` vouches that `member` is alive: `from` heard it directly `age_ms`
 * ago (the VOUCH frame's incarnation field). Only first-hand news is
 * vouched for, with its age, so vouches cannot keep a crashed member
 * alive by passing the news around. */
void chorus_fd_on_vouch(chorus_fd *fd, size_t from, size_t member, uint32_t age_ms,
                        uint64_t now_us);

/* Gossip: `member` suspected (alive = 0) or alive (alive = 1) at
 * `incarnation`. A suspicion of ourselves is refuted. */
void chorus_fd_on_gossip(chorus_fd *fd, size_t member, uint32_t incarnation,
                         int alive, uint64_t now_us);

/* Next action due at `now_us`; CHORUS_FD_NONE when there is nothing. */
void chorus_fd_next(chorus_fd *fd, uint64_t now_us, chorus_fd_action *a);

/* Earliest time chorus_fd_next may have something new; UINT64_MAX if none. */
uint64_t chorus_fd_deadline(const chorus_fd *fd);

/* State of `member`. */
enum chorus_fd_state chorus_fd_state_of(const chorus_fd *fd, size_t member);

/* 1 if `member` is watched (chorus_fd_watch, not forgotten since). */
int chorus_fd_watching(const chorus_fd *fd, size_t member);

#endif
