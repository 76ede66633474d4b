#include "fio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* renameat */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fio_sys_open(void *ctx, int dir_fd, const char *name, int flags, int mode) {
  (void)ctx;
  return openat(dir_fd, name, flags | O_CLOEXEC, (mode_t)mode);
}

static int fio_sys_close(void *ctx, int fd) {
  (void)ctx;
  return close(fd);
}

static ssize_t fio_sys_pread(void *ctx, int fd, void *buf, size_t n, uint64_t off) {
  (void)ctx;
  return pread(fd, buf, n, (off_t)off);
}

static ssize_t fio_sys_pwrite(void *ctx, int fd, const void *buf, size_t n, uint64_t off) {
  (void)ctx;
  return pwrite(fd, buf, n, (off_t)off);
}

static int fio_sys_fsync(void *ctx, int fd) {
  (void)ctx;
  return fsync(fd);
}

static int fio_sys_ftruncate(void *ctx, int fd, uint64_t len) {
  (void)ctx;
  return ftruncate(fd, (off_t)len);
}

static int fio_sys_size(void *ctx, int fd, uint64_t *len) {
  (void)ctx;
  struct stat st;
  if (fstat(fd, &st) != 0) return -1;
  *len = (uint64_t)st.st_size;
  return 0;
}

static int fio_sys_rename(void *ctx, int dir_fd, const char *from, const char *to) {
  (void)ctx;
  return renameat(dir_fd, from, dir_fd, to);
}

static int fio_sys_unlink(void *ctx, int dir_fd, const char *name) {
  (void)ctx;
  return unlinkat(dir_fd, name, 0);
}

static int fio_sys_mkdir(void *ctx, const char *path, int mode) {
  (void)ctx;
  return mkdir(path, (mode_t)mode);
}

static int fio_sys_lock(void *ctx, int fd) {
  (void)ctx;
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  return fcntl(fd, F_SETLK, &fl);
}

static const chorus_fio FIO_POSIX = {
    NULL,        fio_sys_open,  fio_sys_close,  fio_sys_pread, fio_sys_pwrite, fio_sys_fsync,
    fio_sys_ftruncate, fio_sys_size, fio_sys_rename, fio_sys_unlink, fio_sys_mkdir, fio_sys_lock,
};

const chorus_fio *chorus_fio_posix(void) { return &FIO_POSIX; }

int chorus_fio_write_all(const chorus_fio *io, int fd, const void *p, size_t n_bytes,
                         uint64_t off_bytes) {
  const uint8_t *b = p;
  while (n_bytes > 0) {
    ssize_t k = io->pwrite(io->ctx, fd, b, n_bytes, off_bytes);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return -1;
    if (k == 0) { /* no progress and no error: do not spin */
      errno = EIO;
      return -1;
    }
    b += k;
    n_bytes -= (size_t)k;
    off_bytes += (uint64_t)k;
  }
  return 0;
}

ssize_t chorus_fio_read_all(const chorus_fio *io, int fd, void *p, size_t n_bytes,
                            uint64_t off_bytes) {
  uint8_t *b = p;
  size_t got = 0;
  while (got < n_bytes) {
    ssize_t k = io->pread(io->ctx, fd, b + got, n_bytes - got, off_bytes + got);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return -1;
    if (k == 0) break; /* end of file */
    got += (size_t)k;
  }
  return (ssize_t)got;
}

int chorus_fio_install(const chorus_fio *io, int dir_fd, int fd, const char *temp,
                       const char *name) {
  int step = 0;
  if (io->fsync(io->ctx, fd) != 0) step = CHORUS_FIO_STEP_FSYNC;
  int e = errno;
  if (io->close(io->ctx, fd) != 0 && step == 0) {
    step = CHORUS_FIO_STEP_CLOSE;
    e = errno;
  }
  if (step == 0 && io->rename(io->ctx, dir_fd, temp, name) != 0) {
    step = CHORUS_FIO_STEP_RENAME;
    e = errno;
  }
  if (step == 0 && io->fsync(io->ctx, dir_fd) != 0) {
    step = CHORUS_FIO_STEP_DIR_FSYNC;
    e = errno;
  }
  errno = e;
  return step;
}

const char *chorus_fio_step_text(int step) {
  switch (step) {
  case CHORUS_FIO_STEP_FSYNC: return "fsync failed on";
  case CHORUS_FIO_STEP_CLOSE: return "cannot close";
  case CHORUS_FIO_STEP_RENAME: return "cannot rename into";
  case CHORUS_FIO_STEP_DIR_FSYNC: return "fsync failed on the directory of";
  default: return "cannot install";
  }
}
