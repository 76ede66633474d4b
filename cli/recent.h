/*
 * chorus_recent: the last messages shown to the user, for /history [N].
 * A ring of at most CHORUS_RECENT_MSGS messages holding at most
 * CHORUS_RECENT_BYTES bytes of names and texts in all, both fixed at
 * creation; adding a message evicts the oldest ones it needs room for (a
 * message longer than the whole ring keeps its first CHORUS_RECENT_BYTES
 * bytes minus its name). Not thread-safe: the caller locks.
 */
#ifndef CHORUS_CLI_RECENT_H
#define CHORUS_CLI_RECENT_H

#include <stddef.h>
#include <stdint.h>

#define CHORUS_RECENT_MSGS 1024
#define CHORUS_RECENT_BYTES 65536
#define CHORUS_RECENT_DEFAULT 20 /* /history without N */

typedef struct chorus_recent chorus_recent;

/* One message as chorus_recent_get copies it out. */
typedef struct chorus_recent_msg {
  uint64_t time_ms;  /* wall clock, ms since the Unix epoch */
  int kind;          /* the caller's: room, private, offline */
  char name[32];     /* sender, NUL-terminated (at most 31 bytes kept) */
  size_t text_len;   /* bytes copied into the caller's text buffer */
} chorus_recent_msg;

/* chorus_recent_new allocates the ring; NULL when out of memory. */
chorus_recent *chorus_recent_new(void);

/* chorus_recent_free releases it; NULL is allowed. */
void chorus_recent_free(chorus_recent *r);

/* chorus_recent_add copies one message in, evicting the oldest as needed. */
void chorus_recent_add(chorus_recent *r, uint64_t time_ms, int kind, const char *name,
                       const uint8_t *text, size_t text_len_bytes);

/* Messages held now. */
size_t chorus_recent_count(const chorus_recent *r);

/*
 * chorus_recent_get copies message `i` (0 = the oldest held) into *out and
 * its text into text[0..cap_bytes) (cut to cap_bytes). Returns 0, or -1 if
 * i >= chorus_recent_count.
 */
int chorus_recent_get(const chorus_recent *r, size_t i, chorus_recent_msg *out, uint8_t *text,
                      size_t cap_bytes);

#endif
