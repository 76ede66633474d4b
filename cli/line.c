#include "line.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int chorus_line_init(chorus_line *r, int fd, size_t cap_bytes) {
  memset(r, 0, sizeof *r);
  r->fd = fd;
  r->cap = cap_bytes;
  r->buf = malloc(cap_bytes > 0 ? cap_bytes : 1);
  return r->buf ? 0 : -1;
}

void chorus_line_free(chorus_line *r) {
  free(r->buf);
  r->buf = NULL;
}

static void line_keep(chorus_line *r, const uint8_t *p, size_t n) {
  size_t room = r->cap - r->len;
  size_t k = n < room ? n : room;
  memcpy(r->buf + r->len, p, k);
  r->len += k;
  r->total += n;
}

static void line_finish(chorus_line *r) {
  r->returned = 1;
  /* Strip the '\r' of a CRLF line; a cut line has lost its end anyway. */
  if (r->len > 0 && r->len == r->total && r->buf[r->len - 1] == '\r') {
    r->len--;
    r->total--;
  }
}

/* Refill the chunk; 1 data, 0 EOF, -1 error. */
static int line_fill(chorus_line *r) {
  ssize_t n = read(r->fd, r->chunk, sizeof r->chunk);
  if (n < 0) return -1;
  if (n == 0) {
    r->eof = 1;
    return 0;
  }
  r->pos = 0;
  r->end = (size_t)n;
  return 1;
}

int chorus_line_next(chorus_line *r) {
  if (r->returned) {
    r->len = r->total = 0;
    r->returned = 0;
  }
  /* A line may span reads: len/total persist across EINTR returns. */
  for (;;) {
    if (r->pos == r->end) {
      if (r->eof) return 0;
      int rc = line_fill(r);
      if (rc < 0) return -1;
      if (rc == 0) {
        if (r->total == 0) return 0;
        line_finish(r);
        return 1;
      }
    }
    const uint8_t *start = r->chunk + r->pos;
    const uint8_t *nl = memchr(start, '\n', r->end - r->pos);
    size_t n = nl ? (size_t)(nl - start) : r->end - r->pos;
    line_keep(r, start, n);
    r->pos += n + (nl ? 1 : 0);
    if (nl) {
      line_finish(r);
      return 1;
    }
  }
}
