/*
 * chorus_disk: the simulator's disk. One append-only byte image per node
 * (a node's write-ahead log, in core/walrec.h records), with the length
 * known durable ("synced"). No real files, no clock.
 *
 * A crash of a node keeps the synced bytes and, of the unsynced tail, one
 * of (drawn from the PRNG the caller passes in, so a seed replays it):
 *   NONE   nothing: the image is cut back to its synced length;
 *   ALL    everything written (the kernel happened to flush it all);
 *   TORN   the writes before the last one, and a strict prefix of the last
 *          write (which may be empty);
 *   ZEROED like TORN, but the lost part of the last write reads as zero
 *          bytes: the file's size reached the disk, its data did not.
 * Recovery scans the image with chorus_walrec_scan, which classifies TORN
 * and ZEROED tails as torn, and truncates with chorus_disk_truncate.
 *
 * Truncation is durable at once (the log's truncate_after fsyncs before it
 * returns). Images are allocated at creation; a write past bytes_max is
 * CHORUS_ERR_FULL, never growth.
 */
#ifndef CHORUS_SIM_DISK_H
#define CHORUS_SIM_DISK_H

#include <stddef.h>
#include <stdint.h>

#include "prng.h"

#define CHORUS_DISK_NODES_MAX 64
#define CHORUS_DISK_BYTES_MAX ((size_t)1 << 30) /* per node */

typedef struct chorus_disk chorus_disk;

typedef struct chorus_disk_config {
  size_t nodes;     /* 1..CHORUS_DISK_NODES_MAX */
  size_t bytes_max; /* capacity of each node's image, 1..CHORUS_DISK_BYTES_MAX */
} chorus_disk_config;

/* What a crash kept of the unsynced tail. */
enum chorus_disk_fate {
  CHORUS_DISK_CLEAN = 0, /* nothing was unsynced: nothing to lose */
  CHORUS_DISK_NONE = 1,
  CHORUS_DISK_ALL = 2,
  CHORUS_DISK_TORN = 3,
  CHORUS_DISK_ZEROED = 4,
};

typedef struct chorus_disk_crash_info {
  int fate;              /* enum chorus_disk_fate */
  size_t lost_bytes;     /* unsynced bytes gone (or zeroed) */
  size_t len_bytes;      /* image length after the crash */
} chorus_disk_crash_info;

typedef struct chorus_disk_stats {
  uint64_t writes, syncs, crashes, truncations;
  uint64_t fates[5]; /* crashes by enum chorus_disk_fate */
} chorus_disk_stats;

/*
 * chorus_disk_new allocates cfg->nodes empty images of cfg->bytes_max bytes
 * each. Returns 0 with *out set (free with chorus_disk_free),
 * CHORUS_ERR_CONFIG (a field out of range) or CHORUS_ERR_NOMEM.
 */
int chorus_disk_new(const chorus_disk_config *cfg, chorus_disk **out);

/* chorus_disk_free releases the disk; NULL is allowed. */
void chorus_disk_free(chorus_disk *d);

/*
 * chorus_disk_write appends p[0..n_bytes) to node's image: one write(2),
 * not durable until chorus_disk_sync. Returns 0, CHORUS_ERR_INVAL (bad
 * node; p NULL with n_bytes > 0) or CHORUS_ERR_FULL (past bytes_max;
 * nothing written).
 */
int chorus_disk_write(chorus_disk *d, size_t node, const uint8_t *p, size_t n_bytes);

/* chorus_disk_sync makes node's whole image durable (fsync). A bad node is
 * ignored. */
void chorus_disk_sync(chorus_disk *d, size_t node);

/*
 * chorus_disk_truncate cuts node's image to len_bytes, durably. Returns 0,
 * or CHORUS_ERR_INVAL (bad node, or len_bytes beyond the image).
 */
int chorus_disk_truncate(chorus_disk *d, size_t node, size_t len_bytes);

/*
 * chorus_disk_crash applies a crash to node's image (see the top of this
 * file), drawing from prng only when there are unsynced bytes: one draw for
 * the fate, one more for the cut of TORN and ZEROED. What it kept is then
 * durable. Fills *info if not NULL. Returns 0 or CHORUS_ERR_INVAL (bad node).
 */
int chorus_disk_crash(chorus_disk *d, size_t node, chorus_prng *prng,
                      chorus_disk_crash_info *info);

/* chorus_disk_image returns node's bytes (borrowed, valid until the next
 * call that changes the node) and their count in *len_bytes; NULL with
 * *len_bytes 0 for a bad node. */
const uint8_t *chorus_disk_image(const chorus_disk *d, size_t node, size_t *len_bytes);

/* chorus_disk_synced returns how many of node's bytes are durable. */
size_t chorus_disk_synced(const chorus_disk *d, size_t node);

/* chorus_disk_get_stats copies the counters (all nodes) into *out. */
void chorus_disk_get_stats(const chorus_disk *d, chorus_disk_stats *out);

#endif
