/*
 * chorus_line: a line reader over a file descriptor with a buffer whose size
 * is fixed at creation. A longer line is not grown into memory: its first
 * cap_bytes are kept and the rest is counted, so the caller can report
 * "message is N bytes, the limit is M" with the true N.
 */
#ifndef CHORUS_CLI_LINE_H
#define CHORUS_CLI_LINE_H

#include <stddef.h>
#include <stdint.h>

#define CHORUS_LINE_CHUNK_BYTES 4096 /* read(2) size */

typedef struct chorus_line {
  int fd;
  uint8_t *buf;   /* the current line, first `len` bytes (no newline) */
  size_t cap;     /* buffer size in bytes, fixed at creation */
  size_t len;     /* bytes kept in buf (<= cap) */
  size_t total;   /* bytes the line really had (> cap when cut) */
  uint8_t chunk[CHORUS_LINE_CHUNK_BYTES];
  size_t pos, end; /* unread bytes are chunk[pos..end) */
  int eof;
  int returned; /* buf holds a line already handed out */
} chorus_line;

/* chorus_line_init prepares reading from `fd` with lines up to cap_bytes.
 * Returns 0, or -1 if the buffer cannot be allocated. */
int chorus_line_init(chorus_line *r, int fd, size_t cap_bytes);

/* chorus_line_free releases the buffer (the fd stays open). */
void chorus_line_free(chorus_line *r);

/*
 * chorus_line_next reads the next line (without "\n" or "\r\n"). A last line
 * without a newline is returned too. Returns 1 with buf/len/total set, 0 at
 * end of input, -1 on a read error (errno set; EINTR when a signal arrived,
 * so the caller can check its flags and call again).
 */
int chorus_line_next(chorus_line *r);

#endif
