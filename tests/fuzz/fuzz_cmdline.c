/*
 * libFuzzer target: the command line of `chorus peer` (cli/peer_args.c) and
 * the line reader of its interactive input (cli/line.c).
 *
 * One input serves both:
 *   - split at NUL bytes it is argv[1..] for chorus_peer_args_parse (argv[0]
 *     is "peer"): success must leave a complete, in-range configuration;
 *     failure a non-empty, terminated reason;
 *   - through a pipe it is standard input for chorus_line, with a line
 *     limit taken from the first byte: every line must respect the limit,
 *     hold no newline, and the lines must account for every input byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "line.h"
#include "peer_args.h"

#define FUZZ_ARGS_MAX 64       /* argv entries taken from one input */
#define FUZZ_INPUT_MAX 16384   /* bytes used: below any pipe's capacity */

static void fuzz_check_config(const chorus_peer_args *a) {
  if (a->help) return;
  if (a->name == NULL || a->listen == NULL) abort();
  if (a->peer_count >= CHORUS_MEMBERS_MAX) abort();
  for (size_t i = 0; i < a->peer_count; i++) {
    size_t n = strnlen(a->peer_names[i], CHORUS_NAME_BYTES_MAX + 1);
    if (n == 0 || n > CHORUS_NAME_BYTES_MAX || a->peer_addrs[i] == NULL) abort();
  }
  if (a->drop_ppm > 1000000u || a->dup_ppm > 1000000u || a->delay_ppm > 1000000u) abort();
  if (a->delay_ms > CHORUS_PEER_ARGS_DELAY_MS_MAX || a->grace_ms > CHORUS_PEER_ARGS_GRACE_MS_MAX)
    abort();
  if (a->max_msg_bytes == 0 || a->max_msg_bytes > CHORUS_MSG_BYTES_MAX) abort();
  if (a->order > CHORUS_ORDER_SAFE) abort();
}

static void fuzz_args(const uint8_t *data, size_t size) {
  char *buf = malloc(size + 1);
  char *argv[FUZZ_ARGS_MAX + 1];
  char err[256];
  int argc = 1;
  chorus_peer_args a;
  if (buf == NULL) return;
  memcpy(buf, data, size);
  buf[size] = '\0';
  argv[0] = "peer";
  for (size_t i = 0; i < size && argc < FUZZ_ARGS_MAX;) {
    argv[argc++] = buf + i;
    i += strlen(buf + i) + 1;
  }
  argv[argc] = NULL;
  if (chorus_peer_args_parse(argc, argv, &a, err, sizeof err) == 0) {
    fuzz_check_config(&a);
  } else if (strnlen(err, sizeof err) == 0 || strnlen(err, sizeof err) == sizeof err) {
    abort(); /* a failure always says why, in a terminated string */
  }
  free(buf);
}

/* Every line obeys the limit; kept + cut + newlines == the input. */
static void fuzz_lines(const uint8_t *data, size_t size) {
  int p[2];
  chorus_line r;
  size_t cap = size > 0 ? (size_t)(data[0] % 64) + 1 : 1, seen = 0, lines = 0;
  if (pipe(p) != 0) return;
  if (write(p[1], data, size) != (ssize_t)size || chorus_line_init(&r, p[0], cap) != 0) {
    close(p[0]);
    close(p[1]);
    return;
  }
  close(p[1]);
  while (chorus_line_next(&r) == 1) {
    if (r.len > r.cap || r.len > r.total || memchr(r.buf, '\n', r.len) != NULL) abort();
    seen += r.total;
    lines++;
  }
  /* Each line but possibly the last ended in '\n'; a CRLF's '\r' is not
   * counted in total. */
  if (seen > size || seen + lines + lines < size) abort();
  chorus_line_free(&r);
  close(p[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > FUZZ_INPUT_MAX) size = FUZZ_INPUT_MAX;
  fuzz_args(data, size);
  fuzz_lines(data, size);
  return 0;
}
