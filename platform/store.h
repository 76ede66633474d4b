/*
 * chorus_store: the server's snapshot file in a data directory, written so
 * that a crash (kill -9, power loss) at any moment leaves either the old or
 * the new snapshot, whole:
 *
 *   write DIR/server.snap.tmp, fsync it, close it,
 *   rename it over DIR/server.snap, fsync DIR.
 *
 * Only once chorus_store_save returned OK may the server acknowledge the
 * change. Any failure (write, fsync, rename) is returned, never retried: an
 * fsync error can mean the kernel already dropped the dirty pages, so the
 * only safe reaction is to stop (the caller exits 1).
 *
 * The directory is locked (fcntl write lock on DIR/lock) while open, so two
 * servers never share one.
 *
 * Functions return a chorus_store_status and, on an error, write a complete
 * sentence naming the file and the system's reason into err[0..err_bytes)
 * (always NUL-terminated when err_bytes > 0).
 */
#ifndef CHORUS_PLATFORM_STORE_H
#define CHORUS_PLATFORM_STORE_H

#include <stddef.h>
#include <stdint.h>

#define CHORUS_STORE_SNAPSHOT "server.snap"
#define CHORUS_STORE_TEMP "server.snap.tmp"
#define CHORUS_STORE_LOCK "lock"
#define CHORUS_STORE_DIR_BYTES_MAX 1024 /* length of the directory path */
#define CHORUS_STORE_ERR_BYTES 1200     /* enough for any message */

enum chorus_store_status {
  CHORUS_STORE_EMPTY = 1,       /* load: there is no snapshot yet */
  CHORUS_STORE_OK = 0,
  CHORUS_STORE_ERR_SYS = -1,    /* a system call failed (errno kept) */
  CHORUS_STORE_ERR_BUSY = -2,   /* another process holds the directory */
  CHORUS_STORE_ERR_TOO_BIG = -3, /* load: the file exceeds the buffer */
  CHORUS_STORE_ERR_PATH = -4,   /* the directory path is too long or empty */
};

typedef struct chorus_store {
  int dir_fd;  /* the directory, for openat/renameat/fsync */
  int lock_fd; /* holds the lock */
  char dir[CHORUS_STORE_DIR_BYTES_MAX + 1];
  char snap[40], tmp[48]; /* BASE.snap and BASE.snap.tmp */
  char owner[32];         /* who holds it, for the BUSY message */
} chorus_store;

/*
 * chorus_store_open opens (creating it, mode 0700, if missing; one level
 * only) and locks the data directory `dir`, and removes a temporary file a
 * crash may have left. Fills *st (release with chorus_store_close).
 * Returns CHORUS_STORE_OK, CHORUS_STORE_ERR_PATH, CHORUS_STORE_ERR_BUSY
 * ("data directory D is in use by another chorus server") or
 * CHORUS_STORE_ERR_SYS.
 */
int chorus_store_open(chorus_store *st, const char *dir, char *err, size_t err_bytes);

/*
 * chorus_store_open_as: chorus_store_open for another program's file:
 * DIR/BASE.snap (BASE at most 31 bytes), and "data directory D is in use by
 * another OWNER" when locked. chorus_store_open is
 * chorus_store_open_as(st, dir, "server", "chorus server", ...).
 */
int chorus_store_open_as(chorus_store *st, const char *dir, const char *base, const char *owner,
                         char *err, size_t err_bytes);

/*
 * chorus_store_load reads the snapshot into buf[0..cap_bytes) and stores
 * its length in *len_bytes. Returns CHORUS_STORE_OK, CHORUS_STORE_EMPTY (no
 * snapshot file: a new server), CHORUS_STORE_ERR_TOO_BIG or
 * CHORUS_STORE_ERR_SYS. The content is not checked here (the core's
 * decoder does that).
 */
int chorus_store_load(chorus_store *st, uint8_t *buf, size_t cap_bytes, size_t *len_bytes,
                      char *err, size_t err_bytes);

/*
 * chorus_store_save replaces the snapshot with data[0..len_bytes) durably
 * (temporary file, fsync, rename, fsync of the directory). Returns
 * CHORUS_STORE_OK or CHORUS_STORE_ERR_SYS; after an error the old snapshot
 * is still intact, but the caller must stop (see above).
 */
int chorus_store_save(chorus_store *st, const uint8_t *data, size_t len_bytes, char *err,
                      size_t err_bytes);

/* chorus_store_close releases the lock and the descriptors; idempotent. */
void chorus_store_close(chorus_store *st);

#endif
