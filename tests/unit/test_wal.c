/*
 * The write-ahead log (platform/wal.c, built into this test) over an
 * in-memory file system that models what a crash keeps, and over real files.
 *
 * Crash-point test: a fixed workload (appends, syncs, a compaction that
 * keeps a tail, a truncation, re-appends) runs once to count its mutating
 * file operations (write, fsync, ftruncate, rename, unlink, create); then,
 * for every k, it runs again and crashes at the k-th. The crash keeps the
 * synced bytes of every file and, for what was not synced, none of it, all
 * of it, or all but a torn prefix of the last write; the directory keeps
 * its entries as of its last fsync, or all of them. After each crash the
 * log is reopened twice, and every acknowledged record (synced, or covered
 * by a returned snapshot or truncation) must come back exactly, nothing may
 * follow a gap, a torn tail must be cut with a warning, and the second open
 * must be clean. Damage before the tail must fail with CHORUS_ERR_CORRUPT.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../platform/fio.c"
#include "../../platform/wal.c"
#include "check.h"

/* ---- in-memory file system ---------------------------------------------- */

#define MFS_FILES_MAX 48
#define MFS_FILE_BYTES_MAX 4096
#define MFS_NAMES_MAX 8
#define MFS_NAME_BYTES 16
#define MFS_FDS_MAX 16
#define MFS_FD_BASE 100 /* so a stray real descriptor is never mistaken */
#define MFS_DIR "d"
#define FD_PARENT (-2)  /* fd_ino value: the directory holding MFS_DIR */
#define FD_DIR (-3)     /* fd_ino value: MFS_DIR itself */

typedef struct mfile {
  uint8_t live[MFS_FILE_BYTES_MAX], dur[MFS_FILE_BYTES_MAX];
  size_t live_len, dur_len;
  size_t last_off, last_len; /* the last write since the last fsync */
  int unsynced;
} mfile;

typedef struct mentry {
  char name[MFS_NAME_BYTES];
  int ino; /* -1: free */
} mentry;

typedef struct mfs {
  mfile files[MFS_FILES_MAX];
  size_t nfiles;
  mentry live_dir[MFS_NAMES_MAX], dur_dir[MFS_NAMES_MAX];
  int dir_live, dir_dur; /* MFS_DIR exists */
  int fd_ino[MFS_FDS_MAX]; /* -1 closed */
  int last_ino;            /* file of the last write, -1 none */
  long ops;                /* mutating operations so far */
  long crash_at;           /* take crash images at this op (0: never) */
  int crashed;
  long fail_fsync_at;      /* make the n-th fsync fail (0: never) */
  long fsyncs;
} mfs;

/* The crash images of one crash point: dir x data variants. */
#define VARIANTS_MAX 10
static mfs *images[VARIANTS_MAX];
static size_t nimages;

static int mfs_lookup(const mentry *dir, const char *name) {
  for (int i = 0; i < MFS_NAMES_MAX; i++)
    if (dir[i].ino >= 0 && strcmp(dir[i].name, name) == 0) return i;
  return -1;
}

static int mfs_fd(int fd) {
  int i = fd - MFS_FD_BASE;
  return i >= 0 && i < MFS_FDS_MAX ? i : -1;
}

static void take_images(mfs *m);

/* Counts a mutating operation; the crash happens right after it. */
static void mfs_point(mfs *m) {
  m->ops++;
  if (m->ops == m->crash_at && !m->crashed) {
    m->crashed = 1;
    take_images(m);
  }
}

static int mfs_new_fd(mfs *m, int ino) {
  for (int i = 0; i < MFS_FDS_MAX; i++)
    if (m->fd_ino[i] == -1) {
      m->fd_ino[i] = ino;
      return MFS_FD_BASE + i;
    }
  errno = EMFILE;
  return -1;
}

static int mfs_create(mfs *m, const char *name) {
  int slot = -1;
  for (int i = 0; i < MFS_NAMES_MAX && slot < 0; i++)
    if (m->live_dir[i].ino < 0) slot = i;
  if (slot < 0 || m->nfiles == MFS_FILES_MAX || strlen(name) >= MFS_NAME_BYTES) {
    errno = ENOSPC;
    return -1;
  }
  int ino = (int)m->nfiles++;
  memset(&m->files[ino], 0, sizeof m->files[ino]);
  snprintf(m->live_dir[slot].name, MFS_NAME_BYTES, "%s", name);
  m->live_dir[slot].ino = ino;
  mfs_point(m);
  return ino;
}

static int op_open(void *ctx, int dir_fd, const char *name, int flags, int mode) {
  mfs *m = ctx;
  (void)mode;
  if (dir_fd == AT_FDCWD) {
    int is_dir = strcmp(name, MFS_DIR) == 0;
    if (!is_dir && strcmp(name, ".") != 0) return errno = ENOENT, -1;
    if (is_dir && !m->dir_live) return errno = ENOENT, -1;
    return mfs_new_fd(m, is_dir ? FD_DIR : FD_PARENT);
  }
  int e = mfs_lookup(m->live_dir, name);
  if (e >= 0 && (flags & O_CREAT) && (flags & O_EXCL)) return errno = EEXIST, -1;
  int ino = e >= 0 ? m->live_dir[e].ino : -1;
  if (ino < 0 && !(flags & O_CREAT)) return errno = ENOENT, -1;
  if (ino < 0 && (ino = mfs_create(m, name)) < 0) return -1;
  if ((flags & O_TRUNC) && m->files[ino].live_len > 0) {
    m->files[ino].live_len = 0;
    m->files[ino].unsynced = 1;
    mfs_point(m);
  }
  return mfs_new_fd(m, ino);
}

static int op_close(void *ctx, int fd) {
  mfs *m = ctx;
  int i = mfs_fd(fd);
  if (i < 0 || m->fd_ino[i] == -1) return errno = EBADF, -1;
  m->fd_ino[i] = -1;
  return 0;
}

static mfile *mfs_file(mfs *m, int fd) {
  int i = mfs_fd(fd);
  return i >= 0 && m->fd_ino[i] >= 0 ? &m->files[m->fd_ino[i]] : NULL;
}

static ssize_t op_pread(void *ctx, int fd, void *buf, size_t n, uint64_t off) {
  mfile *f = mfs_file(ctx, fd);
  if (f == NULL) return errno = EBADF, -1;
  if (off >= f->live_len) return 0;
  size_t k = f->live_len - (size_t)off < n ? f->live_len - (size_t)off : n;
  memcpy(buf, f->live + off, k);
  return (ssize_t)k;
}

static ssize_t op_pwrite(void *ctx, int fd, const void *buf, size_t n, uint64_t off) {
  mfs *m = ctx;
  mfile *f = mfs_file(m, fd);
  if (f == NULL) return errno = EBADF, -1;
  if (off > MFS_FILE_BYTES_MAX || n > MFS_FILE_BYTES_MAX - off) return errno = EFBIG, -1;
  if (off > f->live_len) memset(f->live + f->live_len, 0, (size_t)off - f->live_len);
  memcpy(f->live + off, buf, n);
  if (off + n > f->live_len) f->live_len = (size_t)off + n;
  f->last_off = (size_t)off;
  f->last_len = n;
  f->unsynced = 1;
  m->last_ino = m->fd_ino[mfs_fd(fd)];
  mfs_point(m);
  return (ssize_t)n;
}

static int op_fsync(void *ctx, int fd) {
  mfs *m = ctx;
  int i = mfs_fd(fd);
  if (i < 0 || m->fd_ino[i] == -1) return errno = EBADF, -1;
  if (++m->fsyncs == m->fail_fsync_at) return errno = EIO, -1;
  if (m->fd_ino[i] == FD_PARENT) m->dir_dur = m->dir_live;
  else if (m->fd_ino[i] == FD_DIR) memcpy(m->dur_dir, m->live_dir, sizeof m->dur_dir);
  else {
    mfile *f = &m->files[m->fd_ino[i]];
    memcpy(f->dur, f->live, f->live_len);
    f->dur_len = f->live_len;
    f->unsynced = 0;
  }
  mfs_point(m);
  return 0;
}

static int op_ftruncate(void *ctx, int fd, uint64_t len) {
  mfs *m = ctx;
  mfile *f = mfs_file(m, fd);
  if (f == NULL) return errno = EBADF, -1;
  if (len > MFS_FILE_BYTES_MAX) return errno = EFBIG, -1;
  if (len > f->live_len) memset(f->live + f->live_len, 0, (size_t)len - f->live_len);
  f->live_len = (size_t)len;
  f->unsynced = 1;
  f->last_len = 0; /* not a write: nothing to tear */
  mfs_point(m);
  return 0;
}

static int op_size(void *ctx, int fd, uint64_t *len) {
  mfile *f = mfs_file(ctx, fd);
  if (f == NULL) return errno = EBADF, -1;
  *len = f->live_len;
  return 0;
}

static int op_rename(void *ctx, int dir_fd, const char *from, const char *to) {
  mfs *m = ctx;
  (void)dir_fd;
  int a = mfs_lookup(m->live_dir, from);
  if (a < 0) return errno = ENOENT, -1;
  int b = mfs_lookup(m->live_dir, to);
  if (b >= 0) m->live_dir[b].ino = -1;
  snprintf(m->live_dir[a].name, MFS_NAME_BYTES, "%s", to);
  mfs_point(m);
  return 0;
}

static int op_unlink(void *ctx, int dir_fd, const char *name) {
  mfs *m = ctx;
  (void)dir_fd;
  int a = mfs_lookup(m->live_dir, name);
  if (a < 0) return errno = ENOENT, -1;
  m->live_dir[a].ino = -1;
  mfs_point(m);
  return 0;
}

static int op_mkdir(void *ctx, const char *path, int mode) {
  mfs *m = ctx;
  (void)mode;
  if (strcmp(path, MFS_DIR) != 0) return errno = EACCES, -1;
  if (m->dir_live) return errno = EEXIST, -1;
  m->dir_live = 1;
  mfs_point(m);
  return 0;
}

static int op_lock(void *ctx, int fd) {
  (void)ctx;
  return mfs_fd(fd) >= 0 ? 0 : (errno = EBADF, -1);
}

/* The operation table over m. */
static void mfs_table(mfs *m, chorus_fio *io) {
  chorus_fio t = {m,         op_open,  op_close,  op_pread, op_pwrite, op_fsync,
                  op_ftruncate, op_size, op_rename, op_unlink, op_mkdir, op_lock};
  *io = t;
}

/* An empty file system, without even the data directory. */
static void mfs_init(mfs *m, chorus_fio *io) {
  memset(m, 0, sizeof *m);
  for (int i = 0; i < MFS_NAMES_MAX; i++) m->live_dir[i].ino = m->dur_dir[i].ino = -1;
  for (int i = 0; i < MFS_FDS_MAX; i++) m->fd_ino[i] = -1;
  m->last_ino = -1;
  mfs_table(m, io);
}

/* The state after a reboot: data and directory as chosen, all durable. */
static void mfs_reboot(mfs *m, int live_dir, int live_data, size_t torn) {
  if (live_dir) memcpy(m->dur_dir, m->live_dir, sizeof m->dur_dir);
  else memcpy(m->live_dir, m->dur_dir, sizeof m->live_dir);
  if (live_dir) m->dir_dur = m->dir_live;
  else m->dir_live = m->dir_dur;
  for (size_t i = 0; i < m->nfiles; i++) {
    mfile *f = &m->files[i];
    if (!live_data) {
      memcpy(f->live, f->dur, f->dur_len);
      f->live_len = f->dur_len;
    } else if (torn > 0 && (int)i == m->last_ino) {
      f->live_len = f->last_off + torn;
    }
    memcpy(f->dur, f->live, f->live_len);
    f->dur_len = f->live_len;
    f->unsynced = 0;
    f->last_len = 0;
  }
  for (int i = 0; i < MFS_FDS_MAX; i++) m->fd_ino[i] = -1;
  m->last_ino = -1;
  m->ops = m->crash_at = m->crashed = 0;
  m->fail_fsync_at = m->fsyncs = 0;
}

static void add_image(const mfs *m, int live_dir, int live_data, size_t torn) {
  if (nimages == VARIANTS_MAX) return;
  mfs *c = malloc(sizeof *c);
  if (c == NULL) abort();
  memcpy(c, m, sizeof *c);
  mfs_reboot(c, live_dir, live_data, torn);
  images[nimages++] = c;
}

/* Crash images: unsynced data kept none, all, or torn (a prefix of the last
 * write, when it is unsynced and ends its file), times the directory as of
 * its last fsync or as it is. */
static void take_images(mfs *m) {
  const mfile *f = m->last_ino >= 0 ? &m->files[m->last_ino] : NULL;
  int tearable = f && f->unsynced && f->last_len >= 2 && f->last_off + f->last_len == f->live_len;
  size_t cuts[3] = {1, tearable ? f->last_len / 2 : 0, tearable ? f->last_len - 1 : 0};
  for (int d = 0; d < 2; d++) {
    add_image(m, d, 0, 0);
    add_image(m, d, 1, 0);
    for (int c = 0; c < 3 && tearable; c++)
      if (c == 0 || (cuts[c] != cuts[c - 1] && cuts[c] > 0)) add_image(m, d, 1, cuts[c]);
  }
}

static void free_images(void) {
  for (size_t i = 0; i < nimages; i++) free(images[i]);
  nimages = 0;
}

/* ---- the workload and its logical states -------------------------------- */

#define RECS_MAX 16
#define TEXT_BYTES 16
#define STATES_MAX 64

typedef struct logstate {
  size_t n;                         /* records 1..n */
  char text[RECS_MAX][TEXT_BYTES];  /* text[i-1] is record i's payload */
} logstate;

typedef struct history {
  logstate st[STATES_MAX];
  size_t nst;
  size_t ack;        /* st[ack]: what the last acknowledgment promised */
  size_t at_crash;   /* the state being produced when the crash hit */
  const mfs *m;
} history;

static void push(history *h, const logstate *s) {
  CHECK(h->nst < STATES_MAX);
  if (h->nst < STATES_MAX) h->st[h->nst++] = *s;
  if (!h->m->crashed) h->at_crash = h->nst; /* the next op's result */
}

static void ack(history *h) {
  if (!h->m->crashed) h->ack = h->nst - 1;
}

static int ignore(void *arg, uint8_t type, uint64_t index, const uint8_t *p, size_t len) {
  (void)arg, (void)type, (void)index, (void)p, (void)len;
  return 0;
}

static void wl_append(chorus_wal *w, history *h, logstate *s, char version) {
  s->n++;
  snprintf(s->text[s->n - 1], TEXT_BYTES, "%c%zu", version, s->n);
  CHECK_EQ(chorus_wal_append(w, 1, s->n, (const uint8_t *)s->text[s->n - 1],
                             strlen(s->text[s->n - 1])),
           CHORUS_OK);
  push(h, s);
}

static void wl_sync(chorus_wal *w, history *h) {
  chorus_wal_sync(w);
  ack(h);
}

/* Snapshot payload: the texts of records 1..upto, joined by '|'. */
static size_t snap_text(const logstate *s, size_t upto, char *out, size_t cap) {
  size_t k = 0;
  out[0] = '\0';
  for (size_t i = 0; i < upto; i++)
    k += (size_t)snprintf(out + k, cap - k, "%s%s", i ? "|" : "", s->text[i]);
  return k;
}

/* The fixed workload. Returns the number of mutating operations. */
static long workload(const chorus_fio *io, history *h) {
  logstate s;
  memset(&s, 0, sizeof s);
  h->nst = h->ack = h->at_crash = 0;
  push(h, &s);
  chorus_wal_config cfg;
  chorus_wal_config_default(&cfg);
  chorus_wal *w;
  char warn[CHORUS_WAL_WARN_BYTES];
  CHECK_EQ(chorus_wal_open_io(io, MFS_DIR, &cfg, ignore, NULL, &w, warn, sizeof warn),
           CHORUS_OK);
  if (w == NULL) return 0;
  for (int i = 0; i < 5; i++) {
    wl_append(w, h, &s, 'a');
    if (i == 2 || i == 4) wl_sync(w, h);
  }
  for (int i = 0; i < 3; i++) wl_append(w, h, &s, 'a');
  wl_sync(w, h);
  char snap[256];
  size_t len = snap_text(&s, 7, snap, sizeof snap);
  CHECK_EQ(chorus_wal_snapshot(w, 7, (const uint8_t *)snap, len), CHORUS_OK); /* keeps 8 */
  ack(h);
  wl_append(w, h, &s, 'a');
  wl_append(w, h, &s, 'a');
  wl_sync(w, h);
  CHECK_EQ(chorus_wal_truncate_after(w, 8), CHORUS_OK);
  s.n = 8;
  push(h, &s);
  ack(h);
  for (int i = 0; i < 3; i++) wl_append(w, h, &s, 'b');
  wl_sync(w, h);
  wl_append(w, h, &s, 'b'); /* never synced */
  CHECK_EQ(chorus_wal_last_index(w), 12);
  CHECK_EQ(chorus_wal_snapshot_index(w), 7);
  chorus_wal_close(w);
  return ((const mfs *)io->ctx)->ops;
}

/* ---- recovery and its checks -------------------------------------------- */

typedef struct recovered {
  logstate s;
  int bad; /* a callback out of order or oversized */
} recovered;

static int collect(void *arg, uint8_t type, uint64_t index, const uint8_t *p, size_t len) {
  recovered *r = arg;
  if (type == CHORUS_WAL_TYPE_SNAPSHOT) {
    if (r->s.n != 0 || len >= 256) return r->bad = 1, 0;
    char text[256];
    memcpy(text, p, len);
    text[len] = '\0';
    for (char *tok = strtok(text, "|"); tok && r->s.n < RECS_MAX; tok = strtok(NULL, "|"))
      snprintf(r->s.text[r->s.n++], TEXT_BYTES, "%s", tok);
    if (r->s.n != index) r->bad = 1;
    return 0;
  }
  if (index != r->s.n + 1 || len >= TEXT_BYTES || r->s.n == RECS_MAX) return r->bad = 1, 0;
  memcpy(r->s.text[r->s.n], p, len);
  r->s.text[r->s.n][len] = '\0';
  r->s.n++;
  return 0;
}

static size_t common_prefix(const logstate *a, const logstate *b) {
  size_t i = 0;
  while (i < a->n && i < b->n && strcmp(a->text[i], b->text[i]) == 0) i++;
  return i;
}

/* Recovered r is acceptable iff for some state j the crash could have been
 * in, r is a prefix of st[j] that keeps all that the last acknowledgment
 * promised and a later truncation did not take back. */
static int acceptable(const history *h, const logstate *r) {
  for (size_t j = h->ack; j <= h->at_crash && j < h->nst; j++) {
    const logstate *s = &h->st[j];
    if (common_prefix(r, s) == r->n && r->n >= common_prefix(&h->st[h->ack], s)) return 1;
  }
  return 0;
}

/* How the log file of a crash image ends, by the codec's own scan. */
static int log_end(const mfs *m) {
  int e = mfs_lookup(m->live_dir, CHORUS_WAL_LOG);
  if (e < 0) return CHORUS_WALREC_CLEAN;
  const mfile *f = &m->files[m->live_dir[e].ino];
  chorus_walrec_scan_result r;
  chorus_walrec_scan(f->live, f->live_len, &r);
  return r.end;
}

static int reopen(mfs *m, recovered *r, char *warn) {
  chorus_fio io;
  mfs_table(m, &io);
  memset(r, 0, sizeof *r);
  chorus_wal_config cfg;
  chorus_wal_config_default(&cfg);
  chorus_wal *w;
  int rc = chorus_wal_open_io(&io, MFS_DIR, &cfg, collect, r, &w, warn, CHORUS_WAL_WARN_BYTES);
  chorus_wal_close(w);
  return rc;
}

static int check_image(const history *h, mfs *m, long k) {
  recovered r1, r2;
  char w1[CHORUS_WAL_WARN_BYTES], w2[CHORUS_WAL_WARN_BYTES];
  int end = log_end(m);
  int rc1 = reopen(m, &r1, w1);
  int rc2 = reopen(m, &r2, w2);
  int ok = rc1 == CHORUS_OK && rc2 == CHORUS_OK && !r1.bad && !r2.bad &&
           acceptable(h, &r1.s) && r2.s.n == r1.s.n && common_prefix(&r1.s, &r2.s) == r1.s.n &&
           w2[0] == '\0' && end != CHORUS_WALREC_CORRUPT &&
           (end == CHORUS_WALREC_TORN) == (strstr(w1, "torn") != NULL) &&
           (end == CHORUS_WALREC_TORN || w1[0] == '\0');
  if (!ok)
    fprintf(stderr, "crash point %ld: rc %d/%d, %zu records (ack %zu, crash state %zu), "
            "log end %d, warn \"%s\" / \"%s\"\n", k, rc1, rc2, r1.s.n, h->ack, h->at_crash,
            end, w1, w2);
  return ok;
}

static void test_crash_points(void) {
  mfs *m = malloc(sizeof *m);
  history *h = malloc(sizeof *h);
  CHECK(m != NULL && h != NULL);
  chorus_fio io;
  mfs_init(m, &io);
  h->m = m;
  long points = workload(&io, h);
  CHECK(points > 30);
  long images_checked = 0, torn_seen = 0, bad = 0;
  for (long k = 1; k <= points; k++) {
    mfs_init(m, &io);
    m->crash_at = k;
    workload(&io, h); /* goes on past the crash, as a ghost */
    CHECK_EQ(nimages >= 2, 1);
    for (size_t v = 0; v < nimages; v++) {
      torn_seen += log_end(images[v]) == CHORUS_WALREC_TORN;
      if (!check_image(h, images[v], k)) bad++;
      images_checked++;
    }
    free_images();
  }
  CHECK_EQ(bad, 0);
  CHECK(torn_seen > 0);
  printf("crash points: %ld (write, fsync, truncate, rename, unlink, create), crash images "
         "recovered: %ld, with a torn log tail: %ld\n", points, images_checked, torn_seen);
  free(m);
  free(h);
}

/* Runs the workload to the end and returns the file system. */
static mfs *full_run(history *h) {
  mfs *m = malloc(sizeof *m);
  chorus_fio io;
  mfs_init(m, &io);
  h->m = m;
  workload(&io, h);
  mfs_reboot(m, 1, 1, 0);
  return m;
}

static mfile *named(mfs *m, const char *name) {
  int e = mfs_lookup(m->live_dir, name);
  return e >= 0 ? &m->files[m->live_dir[e].ino] : NULL;
}

static void test_corruption_stops(void) {
  history *h = malloc(sizeof *h);
  mfs *m = full_run(h);
  mfs *copy = malloc(sizeof *copy);
  recovered r;
  char warn[CHORUS_WAL_WARN_BYTES];
  *copy = *m;
  CHECK_EQ(reopen(copy, &r, warn), CHORUS_OK);
  CHECK_EQ(r.s.n, 12); /* snapshot 1..7, then 8, 9..12 */
  CHECK(strcmp(r.s.text[8], "b9") == 0 && strcmp(r.s.text[7], "a8") == 0);
  /* a flipped byte in an early record: corrupt, with a clear message */
  *copy = *m;
  mfile *log = named(copy, CHORUS_WAL_LOG);
  CHECK(log != NULL);
  log->live[CHORUS_WALREC_HEADER_BYTES + 1] ^= 0x20; /* record 8's payload */
  CHECK_EQ(reopen(copy, &r, warn), CHORUS_ERR_CORRUPT);
  CHECK(strstr(warn, "wal.log is corrupt") != NULL && strstr(warn, "byte 0") != NULL);
  CHECK(strstr(warn, "stopping") != NULL);
  /* ... in a header */
  *copy = *m;
  named(copy, CHORUS_WAL_LOG)->live[30] ^= 1;
  CHECK_EQ(reopen(copy, &r, warn), CHORUS_ERR_CORRUPT);
  /* a record cut out of the middle: a gap in the indices */
  *copy = *m;
  log = named(copy, CHORUS_WAL_LOG);
  size_t r0 = CHORUS_WALREC_HEADER_BYTES + 2; /* record 8: "a8" */
  size_t r1 = CHORUS_WALREC_HEADER_BYTES + 2; /* record 9: "b9" */
  memmove(log->live + r0, log->live + r0 + r1, log->live_len - r0 - r1);
  log->live_len -= r1;
  CHECK_EQ(reopen(copy, &r, warn), CHORUS_ERR_CORRUPT);
  CHECK(strstr(warn, "index 10") != NULL);
  /* a damaged snapshot */
  *copy = *m;
  named(copy, CHORUS_WAL_SNAP)->live[25] ^= 4;
  CHECK_EQ(reopen(copy, &r, warn), CHORUS_ERR_CORRUPT);
  CHECK(strstr(warn, "snapshot") != NULL);
  /* a flip in the last record is a torn tail: cut, with a warning */
  *copy = *m;
  log = named(copy, CHORUS_WAL_LOG);
  log->live[log->live_len - 1] ^= 1;
  CHECK_EQ(reopen(copy, &r, warn), CHORUS_OK);
  CHECK_EQ(r.s.n, 11);
  CHECK(strstr(warn, "torn") != NULL);
  free(copy);
  free(m);
  free(h);
}

static void test_api_errors(void) {
  mfs *m = malloc(sizeof *m);
  chorus_fio io;
  mfs_init(m, &io);
  chorus_wal_config cfg;
  chorus_wal_config_default(&cfg);
  cfg.record_bytes_max = 8;
  cfg.log_bytes_max = 3 * (CHORUS_WALREC_HEADER_BYTES + 8);
  chorus_wal *w = NULL;
  char warn[CHORUS_WAL_WARN_BYTES];
  CHECK_EQ(chorus_wal_open_io(&io, "", &cfg, ignore, NULL, &w, warn, sizeof warn),
           CHORUS_ERR_INVAL);
  chorus_wal_config bad = cfg;
  bad.record_bytes_max = 0;
  CHECK_EQ(chorus_wal_open_io(&io, MFS_DIR, &bad, ignore, NULL, &w, warn, sizeof warn),
           CHORUS_ERR_CONFIG);
  CHECK_EQ(chorus_wal_open_io(&io, MFS_DIR, &cfg, ignore, NULL, &w, warn, sizeof warn),
           CHORUS_OK);
  const uint8_t *p = (const uint8_t *)"12345678";
  CHECK_EQ(chorus_wal_append(w, 1, 2, p, 1), CHORUS_ERR_INVAL); /* not last+1 */
  CHECK_EQ(chorus_wal_append(w, CHORUS_WAL_TYPE_SNAPSHOT, 1, p, 1), CHORUS_ERR_INVAL);
  CHECK_EQ(chorus_wal_append(w, 1, 1, p, 9), CHORUS_ERR_MSG_TOO_LONG);
  for (uint64_t i = 1; i <= 3; i++) CHECK_EQ(chorus_wal_append(w, 1, i, p, 8), CHORUS_OK);
  CHECK_EQ(chorus_wal_append(w, 1, 4, p, 1), CHORUS_ERR_FULL);
  CHECK_EQ(chorus_wal_bytes(w), cfg.log_bytes_max);
  CHECK_EQ(chorus_wal_snapshot(w, 4, p, 1), CHORUS_ERR_INVAL); /* beyond the last */
  CHECK_EQ(chorus_wal_snapshot(w, 3, p, 3), CHORUS_OK);
  CHECK_EQ(chorus_wal_bytes(w), 0);
  CHECK_EQ(chorus_wal_truncate_after(w, 2), CHORUS_ERR_INVAL); /* under the snapshot */
  CHECK_EQ(chorus_wal_append(w, 1, 4, p, 1), CHORUS_OK);
  chorus_wal_close(w);
  free(m);
}

/* An fsync failure is a crash: the process aborts. */
static void test_fsync_failure_aborts(void) {
  fflush(stdout);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    if (freopen("/dev/null", "w", stderr) == NULL) _exit(4); /* the abort message */
    mfs *m = malloc(sizeof *m);
    chorus_fio io;
    mfs_init(m, &io);
    chorus_wal_config cfg;
    chorus_wal_config_default(&cfg);
    chorus_wal *w;
    char warn[CHORUS_WAL_WARN_BYTES];
    if (chorus_wal_open_io(&io, MFS_DIR, &cfg, ignore, NULL, &w, warn, sizeof warn) != 0)
      _exit(3);
    m->fail_fsync_at = m->fsyncs + 1;
    chorus_wal_append(w, 1, 1, (const uint8_t *)"x", 1);
    chorus_wal_sync(w);
    _exit(0); /* not reached if it aborts */
  }
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

/* The real file system: a round trip through a temporary directory. */
static void test_real_files(void) {
  char base[512], dir[600], warn[CHORUS_WAL_WARN_BYTES];
  const char *tmp = getenv("TMPDIR");
  snprintf(base, sizeof base, "%s/chorus-wal.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  CHECK(mkdtemp(base) != NULL);
  snprintf(dir, sizeof dir, "%s/data", base);
  chorus_wal_config cfg;
  chorus_wal_config_default(&cfg);
  chorus_wal *w;
  CHECK_EQ(chorus_wal_open(dir, &cfg, ignore, NULL, &w, warn, sizeof warn), CHORUS_OK);
  CHECK_EQ(warn[0], '\0');
  for (uint64_t i = 1; i <= 20; i++)
    CHECK_EQ(chorus_wal_append(w, 2, i, (const uint8_t *)"real", 4), CHORUS_OK);
  chorus_wal_sync(w);
  CHECK_EQ(chorus_wal_snapshot(w, 15, (const uint8_t *)"s15", 3), CHORUS_OK);
  CHECK_EQ(chorus_wal_truncate_after(w, 18), CHORUS_OK);
  chorus_wal_close(w);
  recovered r;
  memset(&r, 0, sizeof r);
  CHECK_EQ(chorus_wal_open(dir, &cfg, ignore, NULL, &w, warn, sizeof warn), CHORUS_OK);
  CHECK_EQ(chorus_wal_last_index(w), 18);
  CHECK_EQ(chorus_wal_snapshot_index(w), 15);
  CHECK_EQ(chorus_wal_bytes(w), 3 * (CHORUS_WALREC_HEADER_BYTES + 4));
  chorus_wal_close(w);
  const char *files[] = {CHORUS_WAL_LOG, CHORUS_WAL_SNAP, CHORUS_WAL_LOCK};
  char path[700];
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    CHECK_EQ(unlink(path), 0);
  }
  CHECK_EQ(rmdir(dir), 0);
  CHECK_EQ(rmdir(base), 0);
}

int main(void) {
  RUN(test_api_errors);
  RUN(test_real_files);
  RUN(test_fsync_failure_aborts);
  RUN(test_corruption_stops);
  RUN(test_crash_points);
  return CHECK_SUMMARY();
}
