/*
 * Internal to the checker: its state, shared by check.c (messages,
 * deliveries and their order) and check_view.c (processes, views, catch-up,
 * detection). Not a public interface: use check.h.
 */
#ifndef CHORUS_SIM_CHECK_INT_H
#define CHORUS_SIM_CHECK_INT_H

#include <stddef.h>
#include <stdint.h>

#include "check.h"

#define CHECK_NO_INDEX UINT32_MAX
#define CHECK_NO_PROC 0xffu
#define CHECK_KINDS 2 /* CHORUS_MSG_ROOM, CHORUS_MSG_PRIVATE */

typedef uint32_t check_mask; /* bit per process */

/* Order spaces of total_order: live deliveries, and merge deliveries
 * (merge_order: each side's messages as the other side delivers them). */
#define CHECK_SPACES 2
#define CHECK_EPISODES_MAX 16 /* partition episodes remembered */

/* One partition episode (chorus_check_partition). */
typedef struct check_episode {
  uint64_t start_us, end_us; /* end_us: UINT64_MAX while it lasts */
  uint32_t side_a;           /* bit per node */
} check_episode;

/* A removal of a process that was up, excused by a partition when its
 * coordinator decided it (the first process to install that change). */
#define CHECK_DECIDED_MAX 256
typedef struct check_decided {
  uint32_t view;    /* the view number the change made */
  uint16_t members; /* the view it made, bit per node */
  uint8_t gone;     /* the process removed */
} check_decided;

/* One registered message and the progress of its obligations. */
typedef struct check_rec {
  chorus_check_msg m;
  uint8_t sp;           /* sending process */
  check_mask addressed; /* bit p: p is a receiver (room: admitted processes) */
  check_mask intended;  /* bit p: p owes its delivery now (obligations) */
  check_mask delivered; /* bit p: process p delivered it */
  check_mask held;      /* bit p: process p reported holding it (room) */
  /* Its rank among the sending process's room messages (room), or among
   * its private messages to the receiving node (private). */
  uint32_t fifo_pos;
} check_rec;

/* One boot of a node. */
typedef struct check_proc {
  size_t node;
  uint32_t epoch;     /* 0: not known yet (a first boot) */
  uint64_t boot_us, down_us, admit_us, join_us;
  uint8_t coord;      /* the process that admitted it; CHECK_NO_PROC: first boot */
  uint32_t admit_view_id; /* the view number its admission's cut carries */
  uint8_t restarted;  /* booted by chorus_check_restart */
  uint8_t joined;     /* installed its own JOIN (first boots: from the start) */
  uint8_t vproc[CHORUS_MEMBERS_MAX]; /* per node: the process in its view */
  check_mask view;    /* processes in its view, for safe */
  check_mask merged;  /* of those, the ones a MERGE event brought in */
  /* Per other process q: one past the position of q's last message of each
   * kind it delivered (pair_next), and the room messages of q in its
   * causal past (past). */
  uint32_t pair_next[CHECK_KINDS][CHORUS_CHECK_PROCS_MAX];
  uint32_t past[CHORUS_CHECK_PROCS_MAX];
  /* Per crashed process q: how many of q's room messages a room message
   * delivered here depended on while this process had not delivered them
   * all (check_causal); it must never deliver those now. */
  uint32_t forgone[CHORUS_CHECK_PROCS_MAX];
  uint32_t room_sent;                      /* as a sender */
  uint32_t priv_sent[CHORUS_MEMBERS_MAX];  /* as a sender, per receiving node */
  /* As a receiver: per sending process, its private messages to this node
   * that were sent before this boot (to an earlier boot). This boot may
   * deliver them (once) or skip them. */
  uint32_t priv_start[CHORUS_CHECK_PROCS_MAX];
  /* total_order, pairwise: total and safe deliveries, and for each other
   * process b one plus the largest position at b of a message both have
   * delivered (0: none yet), with that message's record number. */
  uint32_t total_count[CHECK_SPACES];
  uint32_t common_max[CHECK_SPACES][CHORUS_CHECK_PROCS_MAX];
  uint32_t common_arg[CHECK_SPACES][CHORUS_CHECK_PROCS_MAX];
  uint64_t room_dlv;  /* room deliveries, history included */
  uint32_t *ring;     /* the last history_msgs of them: record numbers */
  uint32_t *expect;   /* CATCH-UP: the history owed (record numbers) */
  size_t expect_count;
  uint16_t *views;    /* member masks of its VIEW events, in order */
  uint32_t *vnums;    /* and their view numbers */
  size_t views_len;
  uint32_t view_id;   /* number of the view it stands in (boot: 1) */
  uint64_t view_id_us; /* when it installed it (0: at boot) */
  size_t base;        /* global index of views[0] (view_agreement) */
} check_proc;

/* A cut a coordinator sent again (chorus_check_cut_resent): its state then,
 * its ring pointing into cut_ring_pool. */
#define CHECK_CUTS_MAX 64
typedef struct check_cut {
  uint8_t from;     /* the process that sent it */
  check_mask to;    /* the stranded newcomers it was sent to */
  uint64_t at_us;
  uint32_t view_id; /* the view number it carries: its sender's latest */
  check_proc state; /* a copy of that process at at_us */
} check_cut;

struct chorus_check {
  size_t nodes, messages_max, procs_max, hist_max;
  uint64_t detect_bound_us;
  check_proc proc[CHORUS_CHECK_PROCS_MAX];
  size_t procs;              /* processes booted so far */
  uint8_t cur[CHORUS_MEMBERS_MAX]; /* node -> its current process */
  check_mask of_node[CHORUS_MEMBERS_MAX]; /* node -> its processes so far */
  check_mask live;           /* processes up */
  check_mask left;           /* processes that left gracefully (not live) */
  check_mask admitted;       /* processes ever admitted to the room */
  check_rec *rec;            /* registered messages, in send order */
  size_t rec_count;
  uint32_t *rec_past;        /* per record, procs_max entries: its causal past */
  uint32_t *rec_tpos;        /* per space and record, procs_max: position in
                                each process's total deliveries of that space
                                (where delivered) */
  uint8_t *rec_tsrc;         /* per record, procs_max: merge source node
                                (CHORUS_MEMBERS_MAX: live) */
  check_mask *rec_tview;     /* per record, procs_max: the view of each
                                process when it delivered it live (total
                                order across partitions, check.h) */
  uint32_t *index;           /* open-addressing table of rec numbers */
  size_t index_mask;         /* table size - 1, a power of two >= 2*messages_max */
  /* One entry per correct live delivery at a non-sender: class << 58 | µs. */
  uint64_t *latency_us;
  size_t latency_count, latency_max;
  uint64_t *samples[CHORUS_CHECK_SAMPLE_KINDS]; /* enum chorus_check_sample: µs */
  size_t sample_count[CHORUS_CHECK_SAMPLE_KINDS], sample_max;
  check_episode episode[CHECK_EPISODES_MAX]; /* PARTITIONS */
  size_t episodes;
  uint64_t split_heal_us;    /* end of the latest episode */
  int split_open;            /* a removal across sides awaits its merge */
  check_decided decided[CHECK_DECIDED_MAX]; /* PARTITIONS: excused removals */
  size_t decideds;
  uint64_t *scratch;         /* sample_max, for quantiles */
  uint16_t *gview;           /* view_agreement at the end: mask per global index */
  uint32_t *gnum;            /* and view number */
  uint8_t *gowner;           /* and the process that set it */
  size_t gview_max;
  uint32_t *ring_pool, *expect_pool; /* procs_max * hist_max each */
  uint16_t *views_pool;      /* procs_max * CHORUS_CHECK_VIEWS_MAX */
  uint32_t *vnums_pool;      /* as many view numbers */
  check_cut cut[CHECK_CUTS_MAX]; /* CATCH-UP: cuts sent again, in time order */
  size_t cuts;
  uint32_t *cut_ring_pool;   /* CHECK_CUTS_MAX * hist_max */
  uint64_t outstanding;
  chorus_check_stats stats;
  int failed;
  chorus_check_violation first;
  uint8_t *text_buf;         /* CHORUS_MSG_BYTES_MAX, to regenerate a text */
};

static inline check_mask check_bit(size_t p) { return (check_mask)1u << p; }

static inline uint32_t *check_rec_past(chorus_check *chk, size_t rec) {
  return chk->rec_past + rec * chk->procs_max;
}

static inline uint32_t *check_rec_tpos(chorus_check *chk, size_t rec, size_t space) {
  return chk->rec_tpos + (space * chk->messages_max + rec) * chk->procs_max;
}

/* check.c: recomputes what record r is owed now (obligations). */
void check_obligation_update(chorus_check *chk, check_rec *r);

/* check.c: nearest-rank quantile of sorted v[0..n). */
uint64_t check_rank(const uint64_t *v, size_t n, unsigned pct);

/* check_view.c: allocates the per-process tables and sets up the first
 * boots (process i = node i). Returns 0 or CHORUS_ERR_NOMEM. */
int check_procs_new(chorus_check *chk, const chorus_check_config *cfg);
void check_procs_free(chorus_check *chk);

/* check_view.c: a history delivery of record `r` at process `p`; 1 if it
 * violates catch_up (recorded). */
int check_history(chorus_check *chk, const check_rec *r, size_t p,
                  const chorus_check_delivery *d);

/* check_view.c: before record `r`, delivered as history at process `p`,
 * is judged: a newcomer whose admitter is down takes the cut sent again
 * whose history that delivery continues, if it does not continue the first
 * one's (the later history may start earlier: its coordinator delivered
 * fewer messages since). */
void check_history_cut(chorus_check *chk, const check_rec *r, size_t p);

/* check_view.c: process `p` delivered room record number `idx`. */
void check_ring_push(chorus_check *chk, size_t p, uint32_t idx);

/* check_view.c: 1 if a removal of node `gone` by node `by` at at_us is
 * explained by a partition between them (PARTITIONS). */
int check_across_partition(const chorus_check *chk, size_t by, size_t gone,
                           uint64_t at_us);

/* check_view.c: the membership checks of chorus_check_finish; 1 if one
 * failed (recorded). */
int check_finish_views(chorus_check *chk, uint64_t at_us);

#endif
