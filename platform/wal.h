/*
 * chorus_wal: the server's write-ahead log with snapshots (SPEC section 6,
 * Durability), in one data directory:
 *
 *   DIR/wal.log    records after the snapshot, each a core/walrec record
 *   DIR/wal.snap   the latest snapshot, one walrec record of type
 *                  CHORUS_WAL_TYPE_SNAPSHOT whose index is the last index it
 *                  covers (absent until the first chorus_wal_snapshot)
 *   DIR/wal.lock   fcntl write lock: one process per directory
 *
 * Writing: chorus_wal_append writes a record (not yet durable);
 * chorus_wal_sync makes every appended record durable. Acknowledge a write
 * only after the sync that follows its append. An fsync failure aborts the
 * process (the kernel may have dropped the dirty pages, so retrying could
 * report success for lost data).
 *
 * Recovery (chorus_wal_open): the snapshot, then the log's records in index
 * order, each handed to the replay callback. Log records the snapshot
 * already covers (index <= the snapshot's, left by a crash during
 * compaction) are skipped. A torn last record is cut off with a warning; a
 * damaged record followed by valid data, a gap in the indices or a bad
 * snapshot is CHORUS_ERR_CORRUPT: the server must stop, not drop data.
 * See core/walrec.h for the rule that tells torn from corrupt.
 *
 * Every file operation goes through a chorus_fio table (platform/fio.h) so
 * tests can inject faults and crashes; chorus_wal_open uses the real system
 * calls, chorus_wal_open_io takes a table.
 *
 * The names differ from platform/store.h's, and so does the lock file, so
 * both may share one data directory during a migration.
 *
 * Not thread-safe: one thread owns a chorus_wal.
 */
#ifndef CHORUS_PLATFORM_WAL_H
#define CHORUS_PLATFORM_WAL_H

#include <stddef.h>
#include <stdint.h>

#include "fio.h"

#define CHORUS_WAL_TYPE_SNAPSHOT 0 /* types 1..255 are the caller's */
#define CHORUS_WAL_LOG "wal.log"
#define CHORUS_WAL_SNAP "wal.snap"
#define CHORUS_WAL_SNAP_TEMP "wal.snap.tmp"
#define CHORUS_WAL_LOG_TEMP "wal.log.tmp"
#define CHORUS_WAL_LOCK "wal.lock"
#define CHORUS_WAL_RECORD_BYTES_MAX ((size_t)1 << 24)     /* config ceiling */
#define CHORUS_WAL_LOG_BYTES_MAX ((uint64_t)1 << 40)      /* config ceiling */
#define CHORUS_WAL_SNAPSHOT_BYTES_MAX ((size_t)1 << 30)   /* config ceiling */
#define CHORUS_WAL_WARN_BYTES 1400 /* enough for any warning or error text */

typedef struct chorus_wal chorus_wal;

typedef struct chorus_wal_config {
  size_t record_bytes_max;   /* largest payload accepted (default 4096) */
  uint64_t log_bytes_max;    /* chorus_wal_append refuses beyond it
                                (CHORUS_ERR_FULL): caller must snapshot
                                (default 64 MiB) */
  size_t snapshot_bytes_max; /* largest snapshot written or read; recovery
                                holds one in memory (default 64 MiB) */
} chorus_wal_config;

/* chorus_wal_config_default fills *cfg with the defaults above. */
void chorus_wal_config_default(chorus_wal_config *cfg);

/*
 * Replay callback: called for the snapshot (type CHORUS_WAL_TYPE_SNAPSHOT,
 * index = last index it covers) if any, then for every log record after it
 * in index order. payload[0..len) is borrowed for the call only. Returning
 * nonzero stops open, which returns that value.
 */
typedef int (*chorus_wal_replay_fn)(void *arg, uint8_t type, uint64_t index,
                                    const uint8_t *payload, size_t len);

/*
 * chorus_wal_open opens (creating if needed, fsyncing the directory after
 * create) the log in directory dir, replays it through fn(arg, ...), truncates
 * a torn last record (warning text written to warn, empty if none), and
 * returns 0 with *out set (release with chorus_wal_close). warn must hold at
 * least 1 byte; CHORUS_WAL_WARN_BYTES is always enough.
 * Errors (*out stays NULL, the reason in warn):
 *   CHORUS_ERR_CORRUPT when corruption precedes the last record, the indices
 *     have a gap, or the snapshot is damaged: the server must stop, not drop
 *     data;
 *   CHORUS_ERR_CONFIG bad cfg, or files larger than its limits;
 *   CHORUS_ERR_IO a file operation failed or another process holds dir;
 *   CHORUS_ERR_NOMEM; or the callback's nonzero return value.
 */
int chorus_wal_open(const char *dir, const chorus_wal_config *cfg, chorus_wal_replay_fn fn,
                    void *arg, chorus_wal **out, char *warn, size_t warn_bytes);

/* chorus_wal_open_io is chorus_wal_open with file operations from io
 * (borrowed; it must outlive the log). */
int chorus_wal_open_io(const chorus_fio *io, const char *dir, const chorus_wal_config *cfg,
                       chorus_wal_replay_fn fn, void *arg, chorus_wal **out, char *warn,
                       size_t warn_bytes);

/*
 * chorus_wal_append appends one record (write(2), not yet durable). index
 * must be last_index+1; type must not be CHORUS_WAL_TYPE_SNAPSHOT; payload
 * is copied. Errors: CHORUS_ERR_INVAL (wrong index or type),
 * CHORUS_ERR_MSG_TOO_LONG (len > record_bytes_max), CHORUS_ERR_FULL (the log
 * would exceed log_bytes_max: snapshot first), CHORUS_ERR_IO (the write
 * failed: the log is unusable, stop the server).
 */
int chorus_wal_append(chorus_wal *w, uint8_t type, uint64_t index, const uint8_t *payload,
                      size_t len);

/*
 * chorus_wal_sync makes every appended record durable (fsync). An fsync
 * failure is treated as a crash: message on stderr and abort(), never
 * retried (fsyncgate). Does nothing when nothing was appended since.
 */
void chorus_wal_sync(chorus_wal *w);

/*
 * chorus_wal_snapshot (compaction) writes snap[0..len) as the snapshot
 * covering records up to index, crash-safely (temp, fsync, rename, fsync
 * dir), then starts a log holding only the records after index (usually
 * none), by the same temp-and-rename steps. Syncs pending appends first.
 * After it, recovery sees the snapshot then the later records; a crash at
 * any step leaves the old or the new state, both complete.
 * Requires snapshot index <= index <= last_index. Errors: CHORUS_ERR_INVAL,
 * CHORUS_ERR_MSG_TOO_LONG (len > snapshot_bytes_max), CHORUS_ERR_IO (stop
 * the server).
 */
int chorus_wal_snapshot(chorus_wal *w, uint64_t index, const uint8_t *snap, size_t len);

/*
 * chorus_wal_truncate_after drops records after index (a replica truncating
 * a divergent suffix before taking the leader's), durable on return.
 * Requires snapshot index <= index (the snapshot is never undone); index >=
 * last_index does nothing. Errors: CHORUS_ERR_INVAL, CHORUS_ERR_IO (stop).
 */
int chorus_wal_truncate_after(chorus_wal *w, uint64_t index);

/* chorus_wal_last_index: index of the last record appended (or covered by
 * the snapshot); 0 for a new log. */
uint64_t chorus_wal_last_index(const chorus_wal *w);

/* chorus_wal_snapshot_index: last index the snapshot covers; 0 if none. */
uint64_t chorus_wal_snapshot_index(const chorus_wal *w);

/* chorus_wal_bytes: size of the log file (records after the snapshot). */
uint64_t chorus_wal_bytes(const chorus_wal *w);

/* chorus_wal_close syncs nothing (sync first), releases the lock and the
 * memory. NULL is allowed. */
void chorus_wal_close(chorus_wal *w);

#endif
