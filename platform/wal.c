#include "wal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "walrec.h"

#define WAL_DIR_BYTES_MAX 1024

struct chorus_wal {
  const chorus_fio *io;
  chorus_wal_config cfg;
  int dir_fd, lock_fd, log_fd;
  uint64_t bytes;        /* log file size: where the next record goes */
  uint64_t synced_bytes; /* bytes known durable */
  uint64_t last_index;   /* last record appended, or the snapshot's */
  uint64_t snap_index;   /* last index the snapshot covers, 0 if none */
  int failed;            /* a write failed: the log's tail is unknown */
  uint8_t *buf;          /* one encoded record; also the copy buffer */
  size_t buf_bytes;
  char dir[WAL_DIR_BYTES_MAX + 1];
};

void chorus_wal_config_default(chorus_wal_config *cfg) {
  cfg->record_bytes_max = 4096;
  cfg->log_bytes_max = (uint64_t)64 << 20;
  cfg->snapshot_bytes_max = (size_t)64 << 20;
}

static void say(char *out, size_t out_bytes, const char *fmt, ...) {
  if (out == NULL || out_bytes == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out, out_bytes, fmt, ap);
  va_end(ap);
}

/* A failed fsync is a crash: the kernel may already have dropped the dirty
 * pages and marked them clean, so a retry could succeed over lost data. */
static void wal_fsync_or_die(const chorus_wal *w, int fd, const char *what) {
  if (w->io->fsync(w->io->ctx, fd) == 0) return;
  fprintf(stderr, "chorus: fsync failed on %s/%s: %s; stopping, since the data may be lost\n",
          w->dir, what, strerror(errno));
  abort();
}

/* Installs a written temporary file as `name` (platform/fio.h). A failed
 * fsync is a crash, as in wal_fsync_or_die; other failures leave the old
 * file in place and are returned as CHORUS_ERR_IO. */
static int install(chorus_wal *w, int fd, const char *temp, const char *name) {
  int step = chorus_fio_install(w->io, w->dir_fd, fd, temp, name);
  if (step == 0) return CHORUS_OK;
  fprintf(stderr, "chorus: %s %s/%s: %s\n", chorus_fio_step_text(step), w->dir, name,
          strerror(errno));
  if (step == CHORUS_FIO_STEP_FSYNC || step == CHORUS_FIO_STEP_DIR_FSYNC) abort();
  return CHORUS_ERR_IO;
}

static int config_ok(const chorus_wal_config *c) {
  return c->record_bytes_max >= 1 && c->record_bytes_max <= CHORUS_WAL_RECORD_BYTES_MAX &&
         c->log_bytes_max >= CHORUS_WALREC_HEADER_BYTES + (uint64_t)c->record_bytes_max &&
         c->log_bytes_max <= CHORUS_WAL_LOG_BYTES_MAX &&
         c->snapshot_bytes_max <= CHORUS_WAL_SNAPSHOT_BYTES_MAX;
}

/* Reads a whole file (at most cap_bytes) into a new buffer; *img is NULL for
 * an empty file. Returns 0, CHORUS_ERR_CONFIG (too big), NOMEM or IO. */
static int read_file(chorus_wal *w, int fd, const char *name, uint64_t cap_bytes,
                     uint8_t **img, size_t *n, char *warn, size_t warn_bytes) {
  uint64_t size;
  *img = NULL;
  *n = 0;
  if (w->io->size(w->io->ctx, fd, &size) != 0) {
    say(warn, warn_bytes, "cannot stat %s/%s: %s", w->dir, name, strerror(errno));
    return CHORUS_ERR_IO;
  }
  if (size > cap_bytes || size > SIZE_MAX) {
    say(warn, warn_bytes, "%s/%s is %llu bytes, more than this server's limit of %llu", w->dir,
        name, (unsigned long long)size, (unsigned long long)cap_bytes);
    return CHORUS_ERR_CONFIG;
  }
  if (size == 0) return CHORUS_OK;
  *img = malloc((size_t)size);
  if (*img == NULL) return CHORUS_ERR_NOMEM;
  ssize_t got = chorus_fio_read_all(w->io, fd, *img, (size_t)size, 0);
  if (got < 0) {
    say(warn, warn_bytes, "cannot read %s/%s: %s", w->dir, name, strerror(errno));
    free(*img);
    *img = NULL;
    return CHORUS_ERR_IO;
  }
  *n = (size_t)got;
  return CHORUS_OK;
}

/* Creates dir if missing; a new directory's entry is made durable by an
 * fsync of its parent. */
static int make_dir(chorus_wal *w, const char *dir, char *warn, size_t warn_bytes) {
  if (w->io->mkdir(w->io->ctx, dir, 0700) != 0) {
    if (errno == EEXIST) return CHORUS_OK;
    say(warn, warn_bytes, "cannot create data directory %s: %s", dir, strerror(errno));
    return CHORUS_ERR_IO;
  }
  char parent[WAL_DIR_BYTES_MAX + 1];
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') n--; /* "a/b/" is a/b, whose parent is a */
  memcpy(parent, dir, n);
  parent[n] = '\0';
  char *slash = strrchr(parent, '/');
  if (slash == parent) slash[1] = '\0';
  else if (slash != NULL) *slash = '\0';
  else memcpy(parent, ".", 2);
  int fd = w->io->open(w->io->ctx, AT_FDCWD, parent, O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0) {
    say(warn, warn_bytes, "cannot open %s: %s", parent, strerror(errno));
    return CHORUS_ERR_IO;
  }
  wal_fsync_or_die(w, fd, "..");
  w->io->close(w->io->ctx, fd);
  return CHORUS_OK;
}

/* Opens and locks the directory; removes temporary files a crash left. */
static int open_dir(chorus_wal *w, const char *dir, char *warn, size_t warn_bytes) {
  int rc = make_dir(w, dir, warn, warn_bytes);
  if (rc != CHORUS_OK) return rc;
  w->dir_fd = w->io->open(w->io->ctx, AT_FDCWD, dir, O_RDONLY | O_DIRECTORY, 0);
  if (w->dir_fd < 0) {
    say(warn, warn_bytes, "cannot open data directory %s: %s", dir, strerror(errno));
    return CHORUS_ERR_IO;
  }
  w->lock_fd = w->io->open(w->io->ctx, w->dir_fd, CHORUS_WAL_LOCK, O_RDWR | O_CREAT, 0600);
  if (w->lock_fd < 0 || w->io->lock(w->io->ctx, w->lock_fd) != 0) {
    int busy = w->lock_fd >= 0 && (errno == EAGAIN || errno == EACCES);
    say(warn, warn_bytes, busy ? "data directory %s is in use by another process"
                               : "cannot lock data directory %s: %s",
        dir, strerror(errno));
    return CHORUS_ERR_IO;
  }
  const char *temps[2] = {CHORUS_WAL_SNAP_TEMP, CHORUS_WAL_LOG_TEMP};
  for (int i = 0; i < 2; i++)
    if (w->io->unlink(w->io->ctx, w->dir_fd, temps[i]) != 0 && errno != ENOENT) {
      say(warn, warn_bytes, "cannot remove %s/%s: %s", dir, temps[i], strerror(errno));
      return CHORUS_ERR_IO;
    }
  return CHORUS_OK;
}

/* Loads and replays the snapshot, if there is one. It was installed whole by
 * a rename after an fsync, so any damage is corruption, never a torn write. */
static int load_snapshot(chorus_wal *w, chorus_wal_replay_fn fn, void *arg, char *warn,
                         size_t warn_bytes) {
  int fd = w->io->open(w->io->ctx, w->dir_fd, CHORUS_WAL_SNAP, O_RDONLY, 0);
  if (fd < 0) {
    if (errno == ENOENT) return CHORUS_OK;
    say(warn, warn_bytes, "cannot open %s/%s: %s", w->dir, CHORUS_WAL_SNAP, strerror(errno));
    return CHORUS_ERR_IO;
  }
  uint8_t *img;
  size_t n;
  int rc = read_file(w, fd, CHORUS_WAL_SNAP,
                     CHORUS_WALREC_HEADER_BYTES + (uint64_t)w->cfg.snapshot_bytes_max, &img, &n,
                     warn, warn_bytes);
  w->io->close(w->io->ctx, fd);
  if (rc != CHORUS_OK) return rc;
  chorus_walrec rec;
  size_t used;
  if (chorus_walrec_decode(img, n, &rec, &used) != CHORUS_OK || used != n ||
      rec.type != CHORUS_WAL_TYPE_SNAPSHOT) {
    say(warn, warn_bytes, "snapshot %s/%s is corrupt (%zu bytes, not one whole checksummed "
        "snapshot record); stopping rather than lose data: restore it from a replica or a "
        "backup", w->dir, CHORUS_WAL_SNAP, n);
    free(img);
    return CHORUS_ERR_CORRUPT;
  }
  w->snap_index = w->last_index = rec.index;
  rc = fn(arg, rec.type, rec.index, rec.payload, rec.len);
  free(img);
  return rc;
}

/* Checks the indices of the log's valid records: consecutive, starting no
 * later than just after the snapshot (earlier ones are left by a crash in
 * compaction and skipped), and never a snapshot record. */
static int check_indices(const chorus_wal *w, const uint8_t *img, size_t n, char *warn,
                         size_t warn_bytes) {
  uint64_t prev = 0;
  for (size_t p = 0; p < n;) {
    chorus_walrec rec;
    size_t used;
    int rc = chorus_walrec_decode(img + p, n - p, &rec, &used);
    assert(rc == CHORUS_OK); /* the scan vouched for img[0..n) */
    (void)rc;
    int first = p == 0;
    int bad = rec.type == CHORUS_WAL_TYPE_SNAPSHOT || (first && rec.index > w->snap_index + 1) ||
              (first && rec.index == 0) || (!first && rec.index != prev + 1);
    if (bad) {
      say(warn, warn_bytes, "%s/%s is corrupt: the record at byte %zu has index %llu (type %u) "
          "after %llu%s; stopping rather than lose data", w->dir, CHORUS_WAL_LOG, p,
          (unsigned long long)rec.index, rec.type, (unsigned long long)(first ? w->snap_index : prev),
          first ? " (the snapshot's)" : "");
      return CHORUS_ERR_CORRUPT;
    }
    prev = rec.index;
    p += used;
  }
  return CHORUS_OK;
}

/* Hands the log's records after the snapshot to fn, in order. */
static int replay_log(chorus_wal *w, const uint8_t *img, size_t n, chorus_wal_replay_fn fn,
                      void *arg) {
  for (size_t p = 0; p < n;) {
    chorus_walrec rec;
    size_t used;
    int rc = chorus_walrec_decode(img + p, n - p, &rec, &used);
    assert(rc == CHORUS_OK);
    p += used;
    if (rec.index <= w->snap_index) continue;
    rc = fn(arg, rec.type, rec.index, rec.payload, rec.len);
    if (rc != 0) return rc;
    w->last_index = rec.index;
  }
  return CHORUS_OK;
}

/* Opens the log file, creating it (and making its name durable) if new. */
static int open_log(chorus_wal *w, char *warn, size_t warn_bytes) {
  w->log_fd = w->io->open(w->io->ctx, w->dir_fd, CHORUS_WAL_LOG, O_RDWR, 0);
  if (w->log_fd < 0 && errno == ENOENT) {
    w->log_fd = w->io->open(w->io->ctx, w->dir_fd, CHORUS_WAL_LOG, O_RDWR | O_CREAT | O_EXCL,
                            0600);
    if (w->log_fd >= 0) wal_fsync_or_die(w, w->dir_fd, ".");
  }
  if (w->log_fd >= 0) return CHORUS_OK;
  say(warn, warn_bytes, "cannot open %s/%s: %s", w->dir, CHORUS_WAL_LOG, strerror(errno));
  return CHORUS_ERR_IO;
}

/* Cuts a torn tail off at valid_bytes, durably, and says so. */
static int cut_torn_tail(chorus_wal *w, const chorus_walrec_scan_result *r, size_t n,
                         char *warn, size_t warn_bytes) {
  if (w->io->ftruncate(w->io->ctx, w->log_fd, r->valid_bytes) != 0) {
    say(warn, warn_bytes, "cannot truncate the torn tail of %s/%s: %s", w->dir,
        CHORUS_WAL_LOG, strerror(errno));
    return CHORUS_ERR_IO;
  }
  wal_fsync_or_die(w, w->log_fd, CHORUS_WAL_LOG);
  say(warn, warn_bytes, "warning: %s/%s ended in a torn record (%zu bytes after index %llu, "
      "from a crash while it was written, never acknowledged); cut off", w->dir, CHORUS_WAL_LOG,
      n - r->valid_bytes, (unsigned long long)w->last_index);
  return CHORUS_OK;
}

static int say_corrupt(const chorus_wal *w, const chorus_walrec_scan_result *r, char *warn,
                       size_t warn_bytes) {
  say(warn, warn_bytes, "%s/%s is corrupt: the record at byte %zu (after index %llu) fails its "
      "checksum, but a valid record follows at byte %zu; stopping rather than drop acknowledged "
      "records: restore the directory from a replica or a backup", w->dir, CHORUS_WAL_LOG,
      r->valid_bytes, (unsigned long long)r->last_index, r->evidence_at);
  return CHORUS_ERR_CORRUPT;
}

static int restart_log(chorus_wal *w, uint64_t after);

/* Reads, checks and replays the log; cuts a torn tail; drops records the
 * snapshot covers (finishing a compaction a crash interrupted). */
static int load_log(chorus_wal *w, chorus_wal_replay_fn fn, void *arg, char *warn,
                    size_t warn_bytes) {
  int rc = open_log(w, warn, warn_bytes);
  uint8_t *img = NULL;
  size_t n = 0;
  if (rc == CHORUS_OK)
    rc = read_file(w, w->log_fd, CHORUS_WAL_LOG,
                   w->cfg.log_bytes_max + CHORUS_WALREC_HEADER_BYTES + w->cfg.record_bytes_max,
                   &img, &n, warn, warn_bytes);
  if (rc != CHORUS_OK) return rc;
  chorus_walrec_scan_result r;
  chorus_walrec_scan(img, n, &r);
  if (r.end == CHORUS_WALREC_CORRUPT) rc = say_corrupt(w, &r, warn, warn_bytes);
  if (rc == CHORUS_OK) rc = check_indices(w, img, r.valid_bytes, warn, warn_bytes);
  if (rc == CHORUS_OK) rc = replay_log(w, img, r.valid_bytes, fn, arg);
  free(img);
  if (rc != CHORUS_OK) return rc;
  w->bytes = w->synced_bytes = r.valid_bytes;
  if (r.end == CHORUS_WALREC_TORN) rc = cut_torn_tail(w, &r, n, warn, warn_bytes);
  if (rc == CHORUS_OK && r.records > 0 && r.first_index <= w->snap_index)
    rc = restart_log(w, w->snap_index);
  return rc;
}

int chorus_wal_open_io(const chorus_fio *io, const char *dir, const chorus_wal_config *cfg,
                       chorus_wal_replay_fn fn, void *arg, chorus_wal **out, char *warn,
                       size_t warn_bytes) {
  *out = NULL;
  say(warn, warn_bytes, "%s", "");
  size_t dir_len = dir ? strlen(dir) : 0;
  if (dir_len == 0 || dir_len > WAL_DIR_BYTES_MAX || fn == NULL) {
    say(warn, warn_bytes, fn ? "bad data directory: the path must be 1-%d bytes"
                             : "no replay callback", WAL_DIR_BYTES_MAX);
    return CHORUS_ERR_INVAL;
  }
  if (cfg == NULL || !config_ok(cfg)) {
    say(warn, warn_bytes, "write-ahead log configuration out of range");
    return CHORUS_ERR_CONFIG;
  }
  chorus_wal *w = calloc(1, sizeof *w);
  if (w == NULL) return CHORUS_ERR_NOMEM;
  w->io = io;
  w->cfg = *cfg;
  w->dir_fd = w->lock_fd = w->log_fd = -1;
  memcpy(w->dir, dir, dir_len + 1);
  w->buf_bytes = CHORUS_WALREC_HEADER_BYTES + cfg->record_bytes_max;
  w->buf = malloc(w->buf_bytes);
  int rc = w->buf ? open_dir(w, dir, warn, warn_bytes) : CHORUS_ERR_NOMEM;
  if (rc == CHORUS_OK) rc = load_snapshot(w, fn, arg, warn, warn_bytes);
  if (rc == CHORUS_OK) rc = load_log(w, fn, arg, warn, warn_bytes);
  if (rc != CHORUS_OK) {
    chorus_wal_close(w);
    return rc;
  }
  *out = w;
  return CHORUS_OK;
}

int chorus_wal_open(const char *dir, const chorus_wal_config *cfg, chorus_wal_replay_fn fn,
                    void *arg, chorus_wal **out, char *warn, size_t warn_bytes) {
  return chorus_wal_open_io(chorus_fio_posix(), dir, cfg, fn, arg, out, warn, warn_bytes);
}

int chorus_wal_append(chorus_wal *w, uint8_t type, uint64_t index, const uint8_t *payload,
                      size_t len) {
  if (w->failed) return CHORUS_ERR_IO;
  if (index != w->last_index + 1 || type == CHORUS_WAL_TYPE_SNAPSHOT) return CHORUS_ERR_INVAL;
  if (len > w->cfg.record_bytes_max) return CHORUS_ERR_MSG_TOO_LONG;
  size_t n;
  int rc = chorus_walrec_encode(w->buf, w->buf_bytes, type, index, payload, len, &n);
  assert(rc == CHORUS_OK);
  if (w->bytes + n > w->cfg.log_bytes_max) return CHORUS_ERR_FULL;
  if (chorus_fio_write_all(w->io, w->log_fd, w->buf, n, w->bytes) != 0) {
    fprintf(stderr, "chorus: cannot write %s/%s: %s\n", w->dir, CHORUS_WAL_LOG, strerror(errno));
    w->failed = 1; /* part of the record may be there: never append after it */
    return CHORUS_ERR_IO;
  }
  w->bytes += n;
  w->last_index = index;
  return rc;
}

void chorus_wal_sync(chorus_wal *w) {
  if (w->synced_bytes == w->bytes) return;
  wal_fsync_or_die(w, w->log_fd, CHORUS_WAL_LOG);
  w->synced_bytes = w->bytes;
}

/* Offset of the first record with an index above `after` (or the end). The
 * log holds only records this process checked or wrote, so headers are
 * trusted; a short read or a bad header is an I/O failure. */
static int offset_after(chorus_wal *w, uint64_t after, uint64_t *off) {
  uint64_t p = 0;
  while (p < w->bytes) {
    chorus_walrec_header h;
    ssize_t got = chorus_fio_read_all(w->io, w->log_fd, w->buf, CHORUS_WALREC_HEADER_BYTES, p);
    if (got != CHORUS_WALREC_HEADER_BYTES ||
        chorus_walrec_header_decode(w->buf, (size_t)got, &h) != CHORUS_OK) {
      fprintf(stderr, "chorus: cannot read back %s/%s at byte %llu\n", w->dir, CHORUS_WAL_LOG,
              (unsigned long long)p);
      return CHORUS_ERR_IO;
    }
    if (h.index > after) break;
    p += CHORUS_WALREC_HEADER_BYTES + (uint64_t)h.len;
  }
  *off = p < w->bytes ? p : w->bytes;
  return CHORUS_OK;
}

/* Copies log bytes [from, w->bytes) into fd at offset 0. */
static int copy_tail(chorus_wal *w, uint64_t from, int fd) {
  for (uint64_t p = from; p < w->bytes;) {
    size_t want = w->bytes - p < w->buf_bytes ? (size_t)(w->bytes - p) : w->buf_bytes;
    ssize_t got = chorus_fio_read_all(w->io, w->log_fd, w->buf, want, p);
    if (got != (ssize_t)want || chorus_fio_write_all(w->io, fd, w->buf, want, p - from) != 0)
      return -1;
    p += want;
  }
  return 0;
}

/* Replaces the log, crash-safely, by one holding only the records after
 * `after`: written to a temporary file, then installed by rename. */
static int restart_log(chorus_wal *w, uint64_t after) {
  uint64_t from;
  if (offset_after(w, after, &from) != CHORUS_OK) return CHORUS_ERR_IO;
  const chorus_fio *io = w->io;
  int fd = io->open(io->ctx, w->dir_fd, CHORUS_WAL_LOG_TEMP, O_RDWR | O_CREAT | O_TRUNC, 0600);
  int rc = fd < 0 ? CHORUS_ERR_IO : CHORUS_OK;
  if (rc == CHORUS_OK && copy_tail(w, from, fd) != 0) {
    io->close(io->ctx, fd);
    rc = CHORUS_ERR_IO;
  }
  if (rc == CHORUS_OK) rc = install(w, fd, CHORUS_WAL_LOG_TEMP, CHORUS_WAL_LOG);
  if (rc != CHORUS_OK) {
    fprintf(stderr, "chorus: cannot rewrite %s/%s: %s\n", w->dir, CHORUS_WAL_LOG,
            strerror(errno));
    w->failed = 1; /* the old log is intact, but this handle's offsets may not be */
    return rc;
  }
  io->close(io->ctx, w->log_fd);
  w->bytes = w->synced_bytes = w->bytes - from;
  w->log_fd = io->open(io->ctx, w->dir_fd, CHORUS_WAL_LOG, O_RDWR, 0);
  if (w->log_fd >= 0) return CHORUS_OK;
  w->failed = 1;
  return CHORUS_ERR_IO;
}

/* Writes the snapshot record to the temporary file and installs it. */
static int write_snapshot(chorus_wal *w, uint64_t index, const uint8_t *snap, size_t len) {
  const chorus_fio *io = w->io;
  uint8_t head[CHORUS_WALREC_HEADER_BYTES];
  int rc = chorus_walrec_header_encode(head, CHORUS_WAL_TYPE_SNAPSHOT, index, snap, len);
  assert(rc == CHORUS_OK);
  int fd = io->open(io->ctx, w->dir_fd, CHORUS_WAL_SNAP_TEMP, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  rc = fd < 0 ? CHORUS_ERR_IO : CHORUS_OK;
  if (rc == CHORUS_OK && (chorus_fio_write_all(io, fd, head, sizeof head, 0) != 0 ||
                          chorus_fio_write_all(io, fd, snap, len, sizeof head) != 0)) {
    io->close(io->ctx, fd);
    rc = CHORUS_ERR_IO;
  }
  if (rc == CHORUS_OK) rc = install(w, fd, CHORUS_WAL_SNAP_TEMP, CHORUS_WAL_SNAP);
  if (rc != CHORUS_OK)
    fprintf(stderr, "chorus: cannot write snapshot %s/%s: %s\n", w->dir, CHORUS_WAL_SNAP,
            strerror(errno));
  return rc; /* on failure the old snapshot and log are intact */
}

int chorus_wal_snapshot(chorus_wal *w, uint64_t index, const uint8_t *snap, size_t len) {
  if (w->failed) return CHORUS_ERR_IO;
  if (index < w->snap_index || index > w->last_index || (snap == NULL && len > 0))
    return CHORUS_ERR_INVAL;
  if (len > w->cfg.snapshot_bytes_max) return CHORUS_ERR_MSG_TOO_LONG;
  chorus_wal_sync(w);
  int rc = write_snapshot(w, index, snap, len);
  if (rc != CHORUS_OK) return rc;
  w->snap_index = index;
  return restart_log(w, index);
}

int chorus_wal_truncate_after(chorus_wal *w, uint64_t index) {
  if (w->failed) return CHORUS_ERR_IO;
  if (index < w->snap_index) return CHORUS_ERR_INVAL;
  if (index >= w->last_index) return CHORUS_OK;
  uint64_t off;
  if (offset_after(w, index, &off) != CHORUS_OK) return CHORUS_ERR_IO;
  if (w->io->ftruncate(w->io->ctx, w->log_fd, off) != 0) {
    fprintf(stderr, "chorus: cannot truncate %s/%s: %s\n", w->dir, CHORUS_WAL_LOG,
            strerror(errno));
    w->failed = 1;
    return CHORUS_ERR_IO;
  }
  wal_fsync_or_die(w, w->log_fd, CHORUS_WAL_LOG);
  w->bytes = w->synced_bytes = off;
  w->last_index = index;
  return CHORUS_OK;
}

uint64_t chorus_wal_last_index(const chorus_wal *w) { return w->last_index; }

uint64_t chorus_wal_snapshot_index(const chorus_wal *w) { return w->snap_index; }

uint64_t chorus_wal_bytes(const chorus_wal *w) { return w->bytes; }

void chorus_wal_close(chorus_wal *w) {
  if (w == NULL) return;
  int fds[3] = {w->log_fd, w->lock_fd, w->dir_fd}; /* closing lock_fd releases the lock */
  for (int i = 0; i < 3; i++)
    if (fds[i] >= 0) w->io->close(w->io->ctx, fds[i]);
  free(w->buf);
  free(w);
}
