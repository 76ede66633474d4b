/*
 * chorus_view: everything `chorus peer` prints, in the human format
 * ("[12:03:04] <alice> text") or as one JSON object per line (--json).
 *
 * Thread-safe: the network loop's events and the input thread's errors are
 * written under one mutex, each line flushed at once so a script reading
 * stdout sees every event as soon as it happens.
 */
#ifndef CHORUS_CLI_PEER_VIEW_H
#define CHORUS_CLI_PEER_VIEW_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loop.h"

/* Codes of errors the CLI itself finds (the core's use chorus_errname). */
#define CHORUS_VIEW_CODE_USAGE "CLI_USAGE"
#define CHORUS_VIEW_CODE_UNKNOWN_COMMAND "CLI_UNKNOWN_COMMAND"
#define CHORUS_VIEW_CODE_UNACKED "CLI_UNACKED"

typedef struct chorus_view {
  FILE *out;            /* not owned */
  int json;             /* 1: JSON lines */
  const char *self;     /* own name, not owned */
  size_t max_msg_bytes; /* for "the limit is N" */
  pthread_mutex_t mu;
} chorus_view;

/* chorus_view_init prepares a view writing to `out`. Returns 0, or -1 if the
 * mutex cannot be created. */
int chorus_view_init(chorus_view *v, FILE *out, int json, const char *self,
                     size_t max_msg_bytes);

/* chorus_view_destroy releases the mutex. */
void chorus_view_destroy(chorus_view *v);

/* chorus_view_ready announces the bound socket: `names[0..count)` are the
 * members, `listen` the bound address as text. */
void chorus_view_ready(chorus_view *v, uint32_t epoch, const char *const *names, size_t count,
                       const char *listen);

/* chorus_view_on_event is the chorus_loop callback; ctx is the chorus_view. */
void chorus_view_on_event(void *ctx, const chorus_loop_event *ev);

/*
 * chorus_view_error_code reports error `err` (a chorus_err code) for a
 * message of text_len_bytes to `user` (NULL for room messages) with the
 * specific wording: "unknown user 'zed'", "text is not valid UTF-8",
 * "message is 5000 bytes, the limit is 4096", "send window to bob is full,
 * try again", ...
 */
void chorus_view_error_code(chorus_view *v, int err, const char *user, size_t text_len_bytes);

/* chorus_view_error reports an error found by the CLI: `code` is a
 * CHORUS_VIEW_CODE_* string, the rest a printf format for the message. */
void chorus_view_error(chorus_view *v, const char *code, const char *fmt, ...);

/* chorus_view_warning: like chorus_view_error for non-fatal conditions
 * (JSON: {"event":"warning",...}). */
void chorus_view_warning(chorus_view *v, const char *code, const char *fmt, ...);

/* chorus_view_notice prints "-- MESSAGE" in the human format only (JSON
 * consumers get structured events instead). */
void chorus_view_notice(chorus_view *v, const char *fmt, ...);

/* chorus_view_help prints the interactive commands (JSON: a "help" event). */
void chorus_view_help(chorus_view *v);

/* chorus_view_bye prints the last line ({"event":"bye"} in JSON mode). */
void chorus_view_bye(chorus_view *v);

/* chorus_view_failed returns 1 once writing to `out` has failed (e.g. the
 * reader of stdout went away), so the caller can stop. */
int chorus_view_failed(chorus_view *v);

#endif
