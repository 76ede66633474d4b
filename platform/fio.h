/*
 * chorus_fio: the file operations of the durable stores (platform/wal.c,
 * platform/store.c) as a table of function pointers, so tests can replace
 * the file system: inject faults, count write and fsync points, and model
 * what a crash keeps. chorus_fio_posix() is the real system calls.
 *
 * Each operation mirrors its POSIX call (named in brackets) and returns what
 * that call returns: -1 with errno set on failure. ctx is the table's own
 * state, passed back to every call. Descriptor numbers are the table's
 * business; callers only pass them back.
 *
 * The helpers below build the crash-safe steps both stores share.
 */
#ifndef CHORUS_PLATFORM_FIO_H
#define CHORUS_PLATFORM_FIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct chorus_fio {
  void *ctx;
  /* [openat] dir_fd may be AT_FDCWD; flags are O_* flags; returns an fd */
  int (*open)(void *ctx, int dir_fd, const char *name, int flags, int mode);
  int (*close)(void *ctx, int fd);                              /* [close] */
  /* [pread], [pwrite]: at offset off_bytes; may move fewer bytes */
  ssize_t (*pread)(void *ctx, int fd, void *buf, size_t n_bytes, uint64_t off_bytes);
  ssize_t (*pwrite)(void *ctx, int fd, const void *buf, size_t n_bytes, uint64_t off_bytes);
  int (*fsync)(void *ctx, int fd);                              /* [fsync] */
  int (*ftruncate)(void *ctx, int fd, uint64_t len_bytes);      /* [ftruncate] */
  int (*size)(void *ctx, int fd, uint64_t *len_bytes);          /* [fstat] st_size */
  int (*rename)(void *ctx, int dir_fd, const char *from, const char *to); /* [renameat] */
  int (*unlink)(void *ctx, int dir_fd, const char *name);       /* [unlinkat] */
  int (*mkdir)(void *ctx, const char *path, int mode);          /* [mkdir] */
  /* [fcntl F_SETLK F_WRLCK] on the whole file: -1 with EAGAIN/EACCES if held */
  int (*lock)(void *ctx, int fd);
} chorus_fio;

/* chorus_fio_posix returns the table of the real system calls (static,
 * never NULL, not to be freed). */
const chorus_fio *chorus_fio_posix(void);

/* chorus_fio_write_all writes p[0..n_bytes) at off_bytes, retrying short
 * writes and EINTR. Returns 0, or -1 with errno. */
int chorus_fio_write_all(const chorus_fio *io, int fd, const void *p, size_t n_bytes,
                         uint64_t off_bytes);

/* chorus_fio_read_all reads up to n_bytes at off_bytes, stopping early only
 * at end of file. Returns the bytes read, or -1 with errno. */
ssize_t chorus_fio_read_all(const chorus_fio *io, int fd, void *p, size_t n_bytes,
                            uint64_t off_bytes);

/* The steps of chorus_fio_install, as its failure results. */
enum chorus_fio_step {
  CHORUS_FIO_STEP_FSYNC = 1,     /* fsync of the temporary file */
  CHORUS_FIO_STEP_CLOSE = 2,     /* close of the temporary file */
  CHORUS_FIO_STEP_RENAME = 3,    /* rename over the real name */
  CHORUS_FIO_STEP_DIR_FSYNC = 4, /* fsync of the directory */
};

/*
 * chorus_fio_install makes a freshly written temporary file the real one,
 * crash-safely: fsync fd, close it, rename dir_fd/temp over dir_fd/name,
 * fsync dir_fd. fd is closed in every case. Returns 0, or the failed step
 * (enum chorus_fio_step) with errno set; after a failure the old file is
 * intact, or already the new one when the directory fsync failed. An fsync
 * failure must not be retried (the kernel may have dropped the data).
 */
int chorus_fio_install(const chorus_fio *io, int dir_fd, int fd, const char *temp,
                       const char *name);

/* chorus_fio_step_text names a step for an error message ("fsync failed
 * on", "cannot rename into", ...); static text, never NULL. */
const char *chorus_fio_step_text(int step);

#endif
