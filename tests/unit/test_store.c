/* Unit tests of platform/store (built into this test: unit tests link only
 * the core library): snapshot round trip, missing and oversized files, the
 * leftover temporary file, the directory lock, and errors with clear text. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../platform/fio.c"
#include "../../platform/store.c"
#include "check.h"

static char base[512];

static void make_base(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(base, sizeof base, "%s/chorus-store.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  CHECK(mkdtemp(base) != NULL);
}

static void path(char *out, size_t n, const char *name) {
  snprintf(out, n, "%s/%s", base, name);
}

static void rm_rf_data(const char *dir) {
  char p[1200];
  const char *files[] = {CHORUS_STORE_SNAPSHOT, CHORUS_STORE_TEMP, CHORUS_STORE_LOCK};
  for (size_t i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, files[i]);
    unlink(p);
  }
  rmdir(dir);
}

static void test_round_trip(void) {
  char dir[600], err[CHORUS_STORE_ERR_BYTES];
  uint8_t buf[64];
  size_t len = 99;
  chorus_store st;
  path(dir, sizeof dir, "data");
  CHECK_EQ(chorus_store_open(&st, dir, err, sizeof err), CHORUS_STORE_OK);
  CHECK_EQ(chorus_store_load(&st, buf, sizeof buf, &len, err, sizeof err), CHORUS_STORE_EMPTY);
  CHECK_EQ(len, 0);
  CHECK_EQ(chorus_store_save(&st, (const uint8_t *)"first snapshot", 14, err, sizeof err),
           CHORUS_STORE_OK);
  CHECK_EQ(chorus_store_load(&st, buf, sizeof buf, &len, err, sizeof err), CHORUS_STORE_OK);
  CHECK_EQ(len, 14);
  CHECK(memcmp(buf, "first snapshot", 14) == 0);
  CHECK_EQ(chorus_store_save(&st, (const uint8_t *)"second", 6, err, sizeof err), CHORUS_STORE_OK);
  CHECK_EQ(chorus_store_load(&st, buf, sizeof buf, &len, err, sizeof err), CHORUS_STORE_OK);
  CHECK_EQ(len, 6);
  CHECK(memcmp(buf, "second", 6) == 0);
  /* no temporary file is left behind */
  char tmp[1200];
  snprintf(tmp, sizeof tmp, "%s/%s", dir, CHORUS_STORE_TEMP);
  CHECK(access(tmp, F_OK) != 0);
  /* a file larger than the buffer */
  CHECK_EQ(chorus_store_load(&st, buf, 3, &len, err, sizeof err), CHORUS_STORE_ERR_TOO_BIG);
  CHECK(strstr(err, "larger than 3 bytes") != NULL);
  CHECK_EQ(chorus_store_load(&st, buf, 6, &len, err, sizeof err), CHORUS_STORE_OK);
  chorus_store_close(&st);
  chorus_store_close(&st); /* idempotent */
  /* reopened: the data is still there */
  CHECK_EQ(chorus_store_open(&st, dir, err, sizeof err), CHORUS_STORE_OK);
  CHECK_EQ(chorus_store_load(&st, buf, sizeof buf, &len, err, sizeof err), CHORUS_STORE_OK);
  CHECK_EQ(len, 6);
  chorus_store_close(&st);
  rm_rf_data(dir);
}

static void test_leftover_temp(void) {
  char dir[600], err[CHORUS_STORE_ERR_BYTES], tmp[1200];
  uint8_t buf[64];
  size_t len;
  chorus_store st;
  path(dir, sizeof dir, "crashed");
  CHECK_EQ(mkdir(dir, 0700), 0);
  snprintf(tmp, sizeof tmp, "%s/%s", dir, CHORUS_STORE_TEMP);
  int fd = open(tmp, O_WRONLY | O_CREAT, 0600);
  CHECK(fd >= 0);
  CHECK_EQ(write(fd, "half a snap", 11), 11);
  close(fd);
  CHECK_EQ(chorus_store_open(&st, dir, err, sizeof err), CHORUS_STORE_OK);
  CHECK(access(tmp, F_OK) != 0);
  CHECK_EQ(chorus_store_load(&st, buf, sizeof buf, &len, err, sizeof err), CHORUS_STORE_EMPTY);
  chorus_store_close(&st);
  rm_rf_data(dir);
}

static void test_lock(void) {
  char dir[600], err[CHORUS_STORE_ERR_BYTES];
  chorus_store st;
  path(dir, sizeof dir, "locked");
  CHECK_EQ(chorus_store_open(&st, dir, err, sizeof err), CHORUS_STORE_OK);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    chorus_store other;
    char e2[CHORUS_STORE_ERR_BYTES];
    int rc = chorus_store_open(&other, dir, e2, sizeof e2);
    _exit(rc == CHORUS_STORE_ERR_BUSY && strstr(e2, "in use by another") ? 0 : 1);
  }
  int status = 1;
  CHECK(pid > 0);
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  chorus_store_close(&st);
  rm_rf_data(dir);
}

static void test_errors(void) {
  char dir[600], err[CHORUS_STORE_ERR_BYTES], big[CHORUS_STORE_DIR_BYTES_MAX + 10];
  chorus_store st;
  CHECK_EQ(chorus_store_open(&st, "", err, sizeof err), CHORUS_STORE_ERR_PATH);
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  CHECK_EQ(chorus_store_open(&st, big, err, sizeof err), CHORUS_STORE_ERR_PATH);
  /* a regular file where the directory should be */
  path(dir, sizeof dir, "plainfile");
  int fd = open(dir, O_WRONLY | O_CREAT, 0600);
  close(fd);
  CHECK_EQ(chorus_store_open(&st, dir, err, sizeof err), CHORUS_STORE_ERR_SYS);
  CHECK(strstr(err, "cannot open data directory") != NULL);
  unlink(dir);
  /* a parent that does not exist (only one level is created) */
  path(dir, sizeof dir, "no/such/parent");
  CHECK_EQ(chorus_store_open(&st, dir, err, sizeof err), CHORUS_STORE_ERR_SYS);
  CHECK(strstr(err, "cannot create data directory") != NULL);
  /* the directory vanishes under an open store: save fails, clearly */
  path(dir, sizeof dir, "vanishing");
  CHECK_EQ(chorus_store_open(&st, dir, err, sizeof err), CHORUS_STORE_OK);
  rm_rf_data(dir);
  CHECK_EQ(chorus_store_save(&st, (const uint8_t *)"x", 1, err, sizeof err), CHORUS_STORE_ERR_SYS);
  CHECK(strstr(err, "cannot create") != NULL && strstr(err, CHORUS_STORE_TEMP) != NULL);
  chorus_store_close(&st);
}

int main(void) {
  make_base();
  RUN(test_round_trip);
  RUN(test_leftover_temp);
  RUN(test_lock);
  RUN(test_errors);
  rmdir(base);
  return CHECK_SUMMARY();
}
