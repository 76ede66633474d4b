/*
 * chorus_show: everything `chorus peer` prints, in the human format
 * ("[12:03:04] <alice> text") or as one JSON object per line (--json).
 *
 * Thread-safe: the network loop's events and the input thread's errors are
 * written under one mutex, each line flushed at once so a script reading
 * stdout sees every event as soon as it happens.
 */
#ifndef CHORUS_CLI_PEER_SHOW_H
#define CHORUS_CLI_PEER_SHOW_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loop.h"
#include "recent.h"
#include "srvwire.h"

/* Codes of errors the CLI itself finds (the core's use chorus_errname). */
#define CHORUS_VIEW_CODE_USAGE "CLI_USAGE"
#define CHORUS_VIEW_CODE_UNKNOWN_COMMAND "CLI_UNKNOWN_COMMAND"
#define CHORUS_VIEW_CODE_UNACKED "CLI_UNACKED"

/* --log-level: what goes to the --log file (each level includes the ones
 * above it). error: errors; warn: warnings; info: view changes, peers up
 * or restarted, server steps; debug: every message delivered too. */
enum { CHORUS_SHOW_LOG_ERROR = 0, CHORUS_SHOW_LOG_WARN = 1, CHORUS_SHOW_LOG_INFO = 2,
       CHORUS_SHOW_LOG_DEBUG = 3 };

typedef struct chorus_show {
  FILE *out;            /* not owned */
  int json;             /* 1: JSON lines */
  const char *self;     /* own name, not owned */
  size_t max_msg_bytes; /* for "the limit is N" */
  int in_history;       /* the last room message shown was caught-up history */
  chorus_recent *recent; /* the last messages shown, for /history */
  FILE *log;             /* --log FILE, or NULL; owned */
  int log_level;         /* CHORUS_SHOW_LOG_*: lines at or above it go */
  uint8_t *recent_text;  /* max_msg_bytes: one of them copied out */
  pthread_mutex_t mu;
} chorus_show;

/* chorus_show_init prepares a view writing to `out`. Returns 0, or -1 if the
 * mutex or the /history ring cannot be created. */
int chorus_show_init(chorus_show *v, FILE *out, int json, const char *self,
                     size_t max_msg_bytes);

/* chorus_show_log_open appends log lines ("2026-11-22T19:39:02.123Z info
 * view 3 crash carol: alice bob") at `level` and above to file `path`.
 * Returns 0, or -1 (errno set) if the file cannot be opened. */
int chorus_show_log_open(chorus_show *v, const char *path, int level);

/* chorus_show_destroy releases the mutex, the /history ring and the log. */
void chorus_show_destroy(chorus_show *v);

/* chorus_show_ready announces the bound socket: `names[0..count)` are the
 * members, `listen` the bound address as text. */
void chorus_show_ready(chorus_show *v, uint32_t epoch, const char *const *names, size_t count,
                       const char *listen);

/* chorus_show_on_event is the chorus_loop callback; ctx is the chorus_show. */
void chorus_show_on_event(void *ctx, const chorus_loop_event *ev);

/*
 * chorus_show_error_code reports error `err` (a chorus_err code) for a
 * message of text_len_bytes to `user` (NULL for room messages) with the
 * specific wording: "unknown user 'zed'", "text is not valid UTF-8",
 * "message is 5000 bytes, the limit is 4096", "send window to bob is full,
 * try again", ...
 */
void chorus_show_error_code(chorus_show *v, int err, const char *user, size_t text_len_bytes);

/* chorus_show_error reports an error found by the CLI: `code` is a
 * CHORUS_VIEW_CODE_* string, the rest a printf format for the message. */
void chorus_show_error(chorus_show *v, const char *code, const char *fmt, ...);

/* chorus_show_warning: like chorus_show_error for non-fatal conditions
 * (JSON: {"event":"warning",...}). */
void chorus_show_warning(chorus_show *v, const char *code, const char *fmt, ...);

/* chorus_show_notice prints "-- MESSAGE" in the human format only (JSON
 * consumers get structured events instead). */
void chorus_show_notice(chorus_show *v, const char *fmt, ...);

/* chorus_show_server reports a step with the server: `what` is a short
 * word ("login", "signup", "join", "leave", "down", "back",
 * "reregistered"), the rest a printf format for the human sentence.
 * Human: "-- MESSAGE"; JSON: {"event":"server","what":W,"message":M}. */
void chorus_show_server(chorus_show *v, const char *what, const char *fmt, ...);

/* chorus_show_entries prints the answer to /rooms (rooms = 1: names with
 * member counts) or /users (names with online flags): entries[0..n) of
 * `total` matches. */
void chorus_show_entries(chorus_show *v, int rooms, const chorus_srv_entry *entries, size_t n,
                         size_t total);

/* chorus_show_offline prints a private message that waited on the server
 * while this user was offline: sender `from`, its boot `epoch` and message
 * id, text[0..len_bytes). Human: "[12:03:04] *bob* (private, offline)
 * TEXT"; JSON: a "msg" event of kind private with "offline":true. */
void chorus_show_offline(chorus_show *v, const char *from, uint64_t epoch, uint64_t id,
                         const uint8_t *text, size_t len_bytes);

/* chorus_show_recent prints the last n messages shown (room, private and
 * offline ones; fewer if fewer are kept, see cli/recent.h): human
 * "[12:03:04] <bob> text" lines framed by "-- last N messages" and "-- end
 * of /history"; JSON one {"event":"recent",...} per message, then
 * {"event":"recent_end","count":N}. */
void chorus_show_recent(chorus_show *v, size_t n);

/* chorus_show_help prints the interactive commands (JSON: a "help" event). */
void chorus_show_help(chorus_show *v);

/* chorus_show_bye prints the last line ({"event":"bye"} in JSON mode). */
void chorus_show_bye(chorus_show *v);

/* chorus_show_failed returns 1 once writing to `out` has failed (e.g. the
 * reader of stdout went away), so the caller can stop. */
int chorus_show_failed(chorus_show *v);

#endif
