/*
 * Internals of chorus_peer shared by peer.c (datagrams, links, room, the
 * output queue) and member.c (failure detection and view changes). Not a
 * public header: embedders use peer.h.
 */
#ifndef CHORUS_PEER_INT_H
#define CHORUS_PEER_INT_H

#include "fd.h"
#include "link.h"
#include "peer.h"
#include "prng.h"
#include "room.h"
#include "wire.h"

#define CHORUS_VIEW_CTRL_BYTES 32 /* a VIEW control message (member.c) */
#define CHORUS_VIEWS_HELD_MAX 8   /* relayed VIEWs a newcomer keeps until its cut */
#define CHORUS_GREET_LATE_US 3000000u /* a newcomer still without its cut then
                                         greets the seats named since its boot */

struct chorus_peer {
  char names[CHORUS_MEMBERS_MAX][CHORUS_NAME_BYTES_MAX + 1];
  uint32_t ids[CHORUS_MEMBERS_MAX]; /* wire ids: FNV-1a of the names */
  size_t count, self;
  int slots;                          /* ranks are slots; names may be "" */
  size_t rank_of[CHORUS_MEMBERS_MAX]; /* member index -> room rank */
  size_t idx_of[CHORUS_MEMBERS_MAX];  /* room rank -> member index */
  uint32_t removed;                   /* member indices out of the view */
  uint32_t epoch;
  size_t msg_bytes_max;
  enum chorus_order order;
  int report_held;
  uint32_t ack_delay_us, state_lazy_us, state_early_us;
  uint64_t state_due_us;  /* dirty stability reports leave by then; 0: none */
  uint64_t repeat_due_us; /* reports are repeated then; 0: none */
  chorus_prng prng;
  chorus_link links[CHORUS_MEMBERS_MAX]; /* links[self] is unused */
  chorus_room room;
  uint8_t *scratch; /* one link message: room header + longest text */
  uint32_t next_private_id, next_frame_msg_id;
  chorus_output events[CHORUS_EVENTS_MAX]; /* ring of PEER_* events */
  size_t ev_head, ev_count;
  int join_held;                           /* this newcomer's JOIN event waits
                                              (with the events behind it) until
                                              the room is settled and its
                                              history delivered */
  size_t ev_before_join;                   /* events queued ahead of it */
  size_t rr_deliver, rr_send; /* round-robin cursors: fairness across links */
  chorus_peer_stats stats;
  /* membership */
  int fd_on, leaving;
  int leave_owed;     /* LEAVE waits until every own message is stable */
  chorus_fd fd;
  uint32_t leavers;                        /* member indices that said LEAVE */
  uint32_t told_dead;                      /* chorus_peer_remove_member's verdicts:
                                              the coordinator removes them */
  uint32_t told_dead_epoch[CHORUS_MEMBERS_MAX]; /* the boot each verdict was on
                                                   (0: none heard yet) */
  uint32_t told_dead_room_epoch[CHORUS_MEMBERS_MAX]; /* the boot the room held
                                           in the view at each verdict: the
                                           one that crashed */
  uint64_t now_us;                         /* time of the current input */
  int fd_started;                          /* detector clock started */
  uint64_t greet_late_us;                  /* first input + CHORUS_GREET_LATE_US */
  uint64_t farewell_until_us[CHORUS_MEMBERS_MAX]; /* a member that left is
                                              still answered until then, so
                                              its last frames get their ACK */
  uint32_t restarted;                      /* came back with a new epoch */
  uint32_t rejoin;                         /* removed, now back: admit them */
  uint32_t rejoin_epoch[CHORUS_MEMBERS_MAX];
  uint32_t unadmitted;                     /* seen with an epoch this node has
                                              not admitted: no room traffic
                                              either way until it is */
  uint32_t joining;                        /* their datagrams say they still
                                              wait for their JOIN_STATE */
  size_t admitted_by[CHORUS_MEMBERS_MAX];  /* 1 + the member whose JOIN let
                                              it in here (0: unknown); a
                                              joining member whose admitter
                                              is gone gets its cut again */
  uint32_t cut_floor;                      /* the newest removal VIEW installed
                                              while waiting for the cut: a cut
                                              taken before it is stale */
  size_t cut_again_from;                   /* 1 + the member whose first history
                                              came after our cut: its cut
                                              replaces ours; 0: none */
  size_t history_from;                     /* 1 + the member whose history is
                                              held before the cut; 0: none */
  uint32_t history_dropped;                /* members whose history another's
                                              replaced before the cut: the rest
                                              of it, and the cut after it, are
                                              ignored */
  uint32_t history_upto[CHORUS_MEMBERS_MAX]; /* by rank: last count delivered
                                              as history (a second cut's
                                              history repeats the first's) */
  uint64_t last_sent_us[CHORUS_MEMBERS_MAX]; /* for heartbeats */
  uint8_t fdq[CHORUS_MEMBERS_MAX][CHORUS_WIRE_FD_FRAMES_MAX]
             [CHORUS_WIRE_MEMBER_BYTES]; /* detector frames owed, per link */
  uint8_t fdq_len[CHORUS_MEMBERS_MAX];
  /* merging views after a partition (member.c, "merge") */
  uint64_t beacon_due_us[CHORUS_MEMBERS_MAX]; /* next BEACON to a removed one */
  uint64_t beacon_heard_us[CHORUS_MEMBERS_MAX]; /* last BEACON from one */
  uint64_t beacon_since_us[CHORUS_MEMBERS_MAX]; /* first of its current run */
  uint32_t beacon_ranks[CHORUS_MEMBERS_MAX];    /* the side its last BEACON named */
  uint64_t coord_heard_us[CHORUS_MEMBERS_MAX];  /* last BEACON from another
                                                   side's coordinator, by rank */
  uint32_t merge_wait;   /* absorbed members not heard since: beaconed fast */
  uint32_t merge_resume; /* merged members not heard since: their link is
                            resumed (chorus_link_resume) when they are */
  uint32_t cut;          /* in the view, but their BEACON says we are not */
  uint64_t cut_since_us[CHORUS_MEMBERS_MAX]; /* when a member was cut, and */
  uint64_t cut_heard_us[CHORUS_MEMBERS_MAX];  /* its last BEACON leaving us out
                                                 (see cut_settle) */
  uint32_t unlisted;     /* likewise, maybe stale (sent before a merge took
                            them): they coordinate nothing here until heard */
  size_t absorber;       /* 1 + the coordinator about to absorb us, or 0 */
  uint64_t absorb_until_us; /* give the absorber up then */
  uint32_t view_floor;   /* VIEWs numbered below it are from before a merge */
  uint64_t merged_at_us[CHORUS_MEMBERS_MAX]; /* when a merge last added one
                                               (0: never) */
  size_t merge_hist_from; /* 1 + our side's coordinator, whose history of
                             our side (MERGE_DONE) the merge awaits, or 0 */
  uint32_t merge_taken;   /* absorbing coordinator: the side it took last */
  size_t merge_taken_coord; /* 1 + that side's coordinator, or 0 */
  uint32_t merge_done_wait; /* members of it whose MERGE_DONE (their side's
                               history, all sent) it awaits before it
                               absorbs another side (which gets only its
                               own history) */
  uint64_t merge_done_until_us; /* waits for orphaned histories end then */
  uint32_t merge_mates;   /* absorbed member: the side-mates our merge took
                             that have not reported its view yet */
  uint32_t merge_mates_lag; /* ... those whose last STATE named an older one */
  uint32_t merge_mates_view; /* that merge's ordering view */
  size_t merge_mates_by;  /* 1 + its absorber, or 0 */
  uint64_t merge_mates_poke_us; /* our report goes to them again then */
  /* VIEWs are relayed by every member that installs one, so a change whose
   * coordinator crashed in the middle of announcing it still reaches every
   * survivor; each VIEW is named by its coordinator's rank, epoch and
   * proposal number, and installed once. */
  uint32_t views_proposed;                   /* as coordinator */
  uint32_t view_seen_epoch[CHORUS_MEMBERS_MAX]; /* by coordinator rank: its */
  uint32_t view_seen_n[CHORUS_MEMBERS_MAX];  /* incarnation, last number */
  /* The VIEW that made the current view (its name as above; n 0: a join's
   * cut or a merge made it): a copy of it with a higher number renumbers
   * the view (docs/PROTOCOL.md, "View numbers"). */
  uint32_t view_key_coord, view_key_epoch, view_key_n;
  /* VIEWs relayed to this node while it waits for its cut: its cut may
   * predate them (their coordinator's own copy may never come), so they
   * are kept until the cut tells. */
  uint8_t views_held[CHORUS_VIEWS_HELD_MAX][CHORUS_VIEW_CTRL_BYTES];
  size_t views_held_from[CHORUS_VIEWS_HELD_MAX];
  size_t views_held_count;
  uint32_t cut_view_id; /* the number of the last cut installed: a VIEW
                           numbered at most that, arriving later (a relay
                           queued behind the cut), is in it */
};

/* Append an event to the ring; the caller made sure there is room. */
void chorus_peer_event_push(chorus_peer *p, enum chorus_out_kind kind, size_t member,
                            uint32_t epoch, uint32_t dropped);

/* 1 if datagrams flow with member i: not self, not removed. */
int chorus_peer_linked(const chorus_peer *p, size_t i);

/* A failure-detector frame (PROBE, VOUCH, SUSPECT, ALIVE) from member `from`. */
void chorus_member_frame(chorus_peer *p, size_t from, enum chorus_frame_type type,
                         const chorus_wire_member *w, uint64_t now_us);

/* A VIEW or LEAVE control message m[0..len) from member `from`. */
void chorus_member_control(chorus_peer *p, size_t from, const uint8_t *m, size_t len);

/* A BEACON frame *b from member `from` (in the view or removed). */
void chorus_member_beacon(chorus_peer *p, size_t from, const chorus_wire_beacon *b);

/* Member `from` sent a datagram with header flags `flags`: note whether it
 * still waits for its JOIN_STATE (CHORUS_WIRE_HDR_JOINING). */
void chorus_member_flags(chorus_peer *p, size_t from, uint8_t flags);

/* Member `from` was heard (a datagram without BEACON, taken): an absorbed
 * member that is heard has reset its link to us. */
void chorus_member_heard(chorus_peer *p, size_t from);

/* Member `from` reported (STATE) that its ordering view is `view`. */
void chorus_member_state_view(chorus_peer *p, size_t from, uint32_t view);

/* A datagram of boot `epoch` whose sender no name matches: proof of life
 * of the unnamed seat the view holds with that boot, if any. Returns that
 * seat, or -1. */
int chorus_member_unnamed_heard(chorus_peer *p, uint32_t epoch, uint64_t now_us);

/* The next BEACON due at now_us: returns 1 and sets *to and *b, or 0. */
int chorus_member_beacon_next(chorus_peer *p, uint64_t now_us, size_t *to,
                              chorus_wire_beacon *b);

/* When the next BEACON is due, UINT64_MAX if none. */
uint64_t chorus_member_beacon_deadline(const chorus_peer *p);

/* Carry out the detector's decisions due at now_us; propose views if this
 * node coordinates. */
void chorus_member_pump(chorus_peer *p, uint64_t now_us);

/* Members (bit per index) cut here that this node, coordinating, removes
 * (view_check): their BEACONs say they removed it, so they take none of
 * its frames. */
uint32_t chorus_member_cut_removing(const chorus_peer *p);

#endif
