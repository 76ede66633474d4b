/*
 * chorus error codes: one X-macro table gives the enum and the message text,
 * so a code and its description can never drift apart.
 *
 * Every fallible core function returns 0 (CHORUS_OK) or one negative code from
 * this table. chorus_strerror() never returns NULL.
 */
#ifndef CHORUS_ERR_H
#define CHORUS_ERR_H

#define CHORUS_ERRORS(X)                                                        \
  X(CHORUS_OK, 0, "success")                                                    \
  X(CHORUS_ERR_INVAL, -1, "invalid argument")                                   \
  X(CHORUS_ERR_NOMEM, -2, "out of memory at creation")                          \
  X(CHORUS_ERR_CONFIG, -3, "configuration out of range")                        \
  X(CHORUS_ERR_TRUNCATED, -4, "datagram or frame truncated")                    \
  X(CHORUS_ERR_BAD_MAGIC, -5, "not a chorus datagram (bad magic)")              \
  X(CHORUS_ERR_BAD_VERSION, -6, "unsupported protocol version")                 \
  X(CHORUS_ERR_BAD_FRAME, -7, "malformed or unknown frame")                     \
  X(CHORUS_ERR_TOO_BIG, -8, "datagram larger than the limit")                   \
  X(CHORUS_ERR_UNKNOWN_SENDER, -9, "datagram from an unknown sender")           \
  X(CHORUS_ERR_STALE_EPOCH, -10, "datagram from an older epoch of the sender")   \
  X(CHORUS_ERR_WINDOW_FULL, -11, "send window full, try again later")           \
  X(CHORUS_ERR_MSG_TOO_LONG, -12, "message longer than the configured maximum") \
  X(CHORUS_ERR_BAD_UTF8, -13, "text is not valid UTF-8")                        \
  X(CHORUS_ERR_UNKNOWN_USER, -14, "unknown user")                               \
  X(CHORUS_ERR_EMPTY, -15, "empty message")                                     \
  X(CHORUS_ERR_NOBUF, -16, "output buffer too small")                           \
  X(CHORUS_ERR_SELF, -17, "cannot send a private message to yourself")          \
  X(CHORUS_ERR_QUEUE_FULL, -18, "event queue full, try again later")             \
  X(CHORUS_ERR_CORRUPT, -19, "stored data is corrupt")                          \
  X(CHORUS_ERR_FULL, -20, "log full: take a snapshot first")                    \
  X(CHORUS_ERR_IO, -21, "a file operation failed")

enum chorus_err {
#define CHORUS_ERR_ENUM(name, value, text) name = value,
  CHORUS_ERRORS(CHORUS_ERR_ENUM)
#undef CHORUS_ERR_ENUM
};

/* Number of codes in the table (codes run from 0 down to -(CHORUS_ERR_COUNT-1)). */
#define CHORUS_ERR_COUNT 22

/*
 * chorus_strerror returns a static, human-readable description of `code`.
 * Unknown codes give "unknown error". Never NULL; the caller does not free it.
 */
const char *chorus_strerror(int code);

/* chorus_errname returns the symbolic name ("CHORUS_ERR_INVAL") of `code`. */
const char *chorus_errname(int code);

#endif
