#include "store.h"

#include "fio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int store_fail(char *err, size_t err_bytes, int rc, const char *what,
                      const chorus_store *st, const char *file, int e) {
  if (err != NULL && err_bytes > 0)
    snprintf(err, err_bytes, "%s %s%s%s: %s", what, st->dir, file ? "/" : "", file ? file : "",
             strerror(e));
  errno = e;
  return rc;
}

static int store_lock(chorus_store *st, char *err, size_t err_bytes) {
  st->lock_fd = openat(st->dir_fd, CHORUS_STORE_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (st->lock_fd < 0)
    return store_fail(err, err_bytes, CHORUS_STORE_ERR_SYS, "cannot open", st,
                      CHORUS_STORE_LOCK, errno);
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (fcntl(st->lock_fd, F_SETLK, &fl) == 0) return CHORUS_STORE_OK;
  int e = errno;
  if (e == EACCES || e == EAGAIN) {
    if (err != NULL && err_bytes > 0)
      snprintf(err, err_bytes, "data directory %s is in use by another %s", st->dir, st->owner);
    return CHORUS_STORE_ERR_BUSY;
  }
  return store_fail(err, err_bytes, CHORUS_STORE_ERR_SYS, "cannot lock", st, CHORUS_STORE_LOCK,
                    e);
}

int chorus_store_open(chorus_store *st, const char *dir, char *err, size_t err_bytes) {
  return chorus_store_open_as(st, dir, "server", "chorus server", err, err_bytes);
}

int chorus_store_open_as(chorus_store *st, const char *dir, const char *base, const char *owner,
                         char *err, size_t err_bytes) {
  memset(st, 0, sizeof *st);
  st->dir_fd = st->lock_fd = -1;
  snprintf(st->snap, sizeof st->snap, "%.31s.snap", base);
  snprintf(st->tmp, sizeof st->tmp, "%.31s.snap.tmp", base);
  snprintf(st->owner, sizeof st->owner, "%s", owner);
  size_t n = dir ? strlen(dir) : 0;
  if (n == 0 || n > CHORUS_STORE_DIR_BYTES_MAX) {
    if (err != NULL && err_bytes > 0)
      snprintf(err, err_bytes, "bad data directory: the path must be 1-%d bytes",
               CHORUS_STORE_DIR_BYTES_MAX);
    return CHORUS_STORE_ERR_PATH;
  }
  memcpy(st->dir, dir, n + 1);
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return store_fail(err, err_bytes, CHORUS_STORE_ERR_SYS, "cannot create data directory", st,
                      NULL, errno);
  st->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (st->dir_fd < 0)
    return store_fail(err, err_bytes, CHORUS_STORE_ERR_SYS, "cannot open data directory", st,
                      NULL, errno);
  int rc = store_lock(st, err, err_bytes);
  if (rc == CHORUS_STORE_OK && unlinkat(st->dir_fd, st->tmp, 0) != 0 &&
      errno != ENOENT)
    rc = store_fail(err, err_bytes, CHORUS_STORE_ERR_SYS, "cannot remove", st,
                    st->tmp, errno);
  if (rc != CHORUS_STORE_OK) {
    int e = errno;
    chorus_store_close(st);
    errno = e;
  }
  return rc;
}

int chorus_store_load(chorus_store *st, uint8_t *buf, size_t cap_bytes, size_t *len_bytes,
                      char *err, size_t err_bytes) {
  *len_bytes = 0;
  int fd = openat(st->dir_fd, st->snap, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return CHORUS_STORE_EMPTY;
    return store_fail(err, err_bytes, CHORUS_STORE_ERR_SYS, "cannot open", st,
                      st->snap, errno);
  }
  size_t got = 0;
  int rc = CHORUS_STORE_OK;
  for (;;) {
    uint8_t extra;
    uint8_t *dst = got < cap_bytes ? buf + got : &extra;
    size_t want = got < cap_bytes ? cap_bytes - got : 1;
    ssize_t k = read(fd, dst, want);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      rc = store_fail(err, err_bytes, CHORUS_STORE_ERR_SYS, "cannot read", st,
                      st->snap, errno);
      break;
    }
    if (k == 0) break;
    if (got >= cap_bytes) {
      if (err != NULL && err_bytes > 0)
        snprintf(err, err_bytes, "%s/%s is larger than %zu bytes, the largest snapshot of "
                 "this server's limits", st->dir, st->snap, cap_bytes);
      rc = CHORUS_STORE_ERR_TOO_BIG;
      break;
    }
    got += (size_t)k;
  }
  close(fd);
  *len_bytes = got;
  return rc;
}

/* Write the temporary file, then install it (platform/fio.h: fsync, rename,
 * fsync of the directory), the steps the write-ahead log shares. */
int chorus_store_save(chorus_store *st, const uint8_t *data, size_t len_bytes, char *err,
                      size_t err_bytes) {
  const chorus_fio *io = chorus_fio_posix();
  int fd = io->open(io->ctx, st->dir_fd, st->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    return store_fail(err, err_bytes, CHORUS_STORE_ERR_SYS, "cannot create", st,
                      st->tmp, errno);
  if (chorus_fio_write_all(io, fd, data, len_bytes, 0) != 0) {
    int e = errno;
    io->close(io->ctx, fd);
    return store_fail(err, err_bytes, CHORUS_STORE_ERR_SYS, "cannot write", st,
                      st->tmp, e);
  }
  int step = chorus_fio_install(io, st->dir_fd, fd, st->tmp, st->snap);
  if (step != 0)
    return store_fail(err, err_bytes, CHORUS_STORE_ERR_SYS, chorus_fio_step_text(step), st,
                      st->snap, errno);
  return CHORUS_STORE_OK;
}

void chorus_store_close(chorus_store *st) {
  if (st->lock_fd >= 0) close(st->lock_fd); /* releases the lock */
  if (st->dir_fd >= 0) close(st->dir_fd);
  st->lock_fd = st->dir_fd = -1;
}
