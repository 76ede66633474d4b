#include "peer_show.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "json.h"

typedef struct show_kv {
  const char *key;
  uint64_t val;
} show_kv;

#define SHOW_N(a) (sizeof(a) / sizeof((a)[0]))
#define SHOW_KV_MAX 40 /* counters in one group of /stats */

int chorus_show_init(chorus_show *v, FILE *out, int json, const char *self,
                     size_t max_msg_bytes) {
  v->out = out;
  v->json = json;
  v->self = self;
  v->max_msg_bytes = max_msg_bytes;
  v->in_history = 0;
  v->log = NULL;
  v->log_level = CHORUS_SHOW_LOG_INFO;
  v->recent = chorus_recent_new();
  v->recent_text = malloc(max_msg_bytes);
  if (!v->recent || !v->recent_text || pthread_mutex_init(&v->mu, NULL) != 0) {
    chorus_recent_free(v->recent);
    free(v->recent_text);
    return -1;
  }
  return 0;
}

int chorus_show_log_open(chorus_show *v, const char *path, int level) {
  v->log = fopen(path, "a");
  v->log_level = level;
  return v->log ? 0 : -1;
}

void chorus_show_destroy(chorus_show *v) {
  if (v->log) fclose(v->log);
  v->log = NULL;
  pthread_mutex_destroy(&v->mu);
  chorus_recent_free(v->recent);
  free(v->recent_text);
}

enum { SHOW_RECENT_ROOM = 0, SHOW_RECENT_PRIVATE = 1, SHOW_RECENT_OFFLINE = 2 };

static void show_begin(chorus_show *v) { pthread_mutex_lock(&v->mu); }

static void show_end(chorus_show *v) {
  fflush(v->out);
  pthread_mutex_unlock(&v->mu);
}

int chorus_show_failed(chorus_show *v) {
  pthread_mutex_lock(&v->mu);
  int bad = ferror(v->out) != 0;
  pthread_mutex_unlock(&v->mu);
  return bad;
}

/* Wall-clock milliseconds since the Unix epoch, so scripts can time a view
 * change against an outside event (a kill) on the same host. */
static unsigned long long show_time_ms(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 0;
  return (unsigned long long)ts.tv_sec * 1000u + (unsigned long long)ts.tv_nsec / 1000000u;
}

/* One line to the --log file (called with the view locked): UTC time
 * stamp, level, text. */
static void show_log(chorus_show *v, int level, const char *fmt, ...) {
  static const char *const names[] = {"error", "warn", "info", "debug"};
  if (!v->log || level > v->log_level) return;
  unsigned long long ms = show_time_ms();
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  char stamp[32];
  if (gmtime_r(&t, &tm) == NULL || strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
    snprintf(stamp, sizeof stamp, "(no time)");
  fprintf(v->log, "%s.%03uZ %s ", stamp, (unsigned)(ms % 1000), names[level]);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(v->log, fmt, ap);
  va_end(ap);
  putc('\n', v->log);
  fflush(v->log);
}

/* "[12:03:04] " in local time. */
static void show_stamp(chorus_show *v) {
  char buf[16];
  time_t t = time(NULL);
  struct tm tm;
  if (localtime_r(&t, &tm) == NULL || strftime(buf, sizeof buf, "%H:%M:%S", &tm) == 0)
    memcpy(buf, "??:??:??", 9);
  fprintf(v->out, "[%s] ", buf);
}

static const char *show_order(enum chorus_order o) {
  switch (o) {
    case CHORUS_ORDER_FIFO: return "fifo";
    case CHORUS_ORDER_CAUSAL: return "causal";
    case CHORUS_ORDER_TOTAL: return "total";
    case CHORUS_ORDER_SAFE: return "safe";
  }
  return "unknown";
}

static void view_kvs_json(FILE *o, const show_kv *kv, size_t n) {
  putc('{', o);
  for (size_t i = 0; i < n; i++)
    fprintf(o, "%s\"%s\":%llu", i ? "," : "", kv[i].key, (unsigned long long)kv[i].val);
  putc('}', o);
}

static void view_kvs_text(FILE *o, const show_kv *kv, size_t n) {
  for (size_t i = 0; i < n; i++)
    fprintf(o, "%s%s %llu", i ? ", " : "", kv[i].key, (unsigned long long)kv[i].val);
}

/* ---- ready, help, bye -------------------------------------------------- */

void chorus_show_ready(chorus_show *v, uint32_t epoch, const char *const *names, size_t count,
                       const char *listen) {
  show_begin(v);
  if (v->json) {
    fputs("{\"event\":\"ready\",\"name\":", v->out);
    chorus_json_cstr(v->out, v->self);
    fprintf(v->out, ",\"epoch\":%lu,\"members\":[", (unsigned long)epoch);
    for (size_t i = 0; i < count; i++) {
      if (i) putc(',', v->out);
      chorus_json_cstr(v->out, names[i]);
    }
    fputs("]}\n", v->out);
  } else {
    fprintf(v->out, "-- %s (epoch %lu) listening on %s; members:", v->self,
            (unsigned long)epoch, listen);
    for (size_t i = 0; i < count; i++) fprintf(v->out, " %s", names[i]);
    fputs("\n-- type a line to talk to the room, /help for commands\n", v->out);
  }
  show_end(v);
}

static const char view_help_text[] =
    "TEXT             send TEXT to the room (//TEXT if it starts with '/')\n"
    "/msg USER TEXT   private message to USER\n"
    "/who             the view number, every member's state (in the view,\n"
    "                 left, crashed, unreachable), epoch and address\n"
    "/stats           counters, RTT estimates and queue depths per peer\n"
    "/history [N]     the last N messages shown (default 20)\n"
    "/rooms           (with --server) the server's rooms and their sizes\n"
    "/users [PATTERN] (with --server) accounts, * and ? wildcards, online or not\n"
    "/join ROOM       (with --server) leave this room, join ROOM (created if new)\n"
    "/leave           (with --server) leave the room, stay logged in\n"
    "/help            this text\n"
    "/quit            leave the room gracefully (the others see a view\n"
    "                 change; waits a while for unacknowledged messages)\n";

void chorus_show_help(chorus_show *v) {
  show_begin(v);
  if (v->json) {
    fputs("{\"event\":\"help\",\"text\":", v->out);
    chorus_json_cstr(v->out, view_help_text);
    fputs("}\n", v->out);
  } else {
    fputs(view_help_text, v->out);
  }
  show_end(v);
}

void chorus_show_bye(chorus_show *v) {
  show_begin(v);
  if (v->json) fputs("{\"event\":\"bye\"}\n", v->out);
  else fputs("-- bye\n", v->out);
  show_end(v);
}

/* ---- errors ------------------------------------------------------------ */

static void view_problem(chorus_show *v, const char *event, const char *code, const char *fmt,
                         va_list ap) {
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  show_begin(v);
  show_log(v, strcmp(event, "error") == 0 ? CHORUS_SHOW_LOG_ERROR : CHORUS_SHOW_LOG_WARN,
           "%s %s", code, msg);
  if (v->json) {
    fprintf(v->out, "{\"event\":\"%s\",\"code\":", event);
    chorus_json_cstr(v->out, code);
    fputs(",\"message\":", v->out);
    chorus_json_cstr(v->out, msg);
    fputs("}\n", v->out);
  } else {
    fprintf(v->out, "%s: %s\n", event, msg);
  }
  show_end(v);
}

void chorus_show_error(chorus_show *v, const char *code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  view_problem(v, "error", code, fmt, ap);
  va_end(ap);
}

void chorus_show_warning(chorus_show *v, const char *code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  view_problem(v, "warning", code, fmt, ap);
  va_end(ap);
}

void chorus_show_notice(chorus_show *v, const char *fmt, ...) {
  if (v->json) return;
  va_list ap;
  va_start(ap, fmt);
  show_begin(v);
  fputs("-- ", v->out);
  vfprintf(v->out, fmt, ap);
  putc('\n', v->out);
  show_end(v);
  va_end(ap);
}

void chorus_show_server(chorus_show *v, const char *what, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  show_begin(v);
  show_log(v, CHORUS_SHOW_LOG_INFO, "server %s: %s", what, msg);
  if (v->json) {
    fputs("{\"event\":\"server\",\"what\":", v->out);
    chorus_json_cstr(v->out, what);
    fputs(",\"message\":", v->out);
    chorus_json_cstr(v->out, msg);
    fputs("}\n", v->out);
  } else {
    fprintf(v->out, "-- %s\n", msg);
  }
  show_end(v);
}

void chorus_show_entries(chorus_show *v, int rooms, const chorus_srv_entry *entries, size_t n,
                         size_t total) {
  show_begin(v);
  if (v->json) {
    fprintf(v->out, "{\"event\":\"%s\",\"total\":%zu,\"list\":[", rooms ? "rooms" : "users",
            total);
    for (size_t i = 0; i < n; i++) {
      fputs(i ? ",{\"name\":" : "{\"name\":", v->out);
      chorus_json_cstr(v->out, entries[i].name);
      if (rooms) fprintf(v->out, ",\"members\":%u}", (unsigned)entries[i].value);
      else fprintf(v->out, ",\"online\":%s}",
                   (entries[i].value & CHORUS_SRV_FLAG_ONLINE) ? "true" : "false");
    }
    fputs("]}\n", v->out);
  } else {
    fprintf(v->out, "-- %zu %s%s\n", total, rooms ? "room" : "user", total == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
      if (rooms) fprintf(v->out, "--   %s (%u members)\n", entries[i].name, (unsigned)entries[i].value);
      else fprintf(v->out, "--   %s%s\n", entries[i].name,
                   (entries[i].value & CHORUS_SRV_FLAG_ONLINE) ? " (online)" : "");
    }
    if (n < total) fprintf(v->out, "--   ... and %zu more\n", total - n);
  }
  show_end(v);
}

void chorus_show_error_code(chorus_show *v, int err, const char *user, size_t text_len_bytes) {
  const char *code = chorus_errname(err);
  switch (err) {
    case CHORUS_ERR_WINDOW_FULL:
      if (user) chorus_show_error(v, code, "send window to %s is full, try again", user);
      else
        chorus_show_error(v, code,
                          "room send window is full (messages not yet acknowledged by every "
                          "member), try again");
      return;
    case CHORUS_ERR_MSG_TOO_LONG:
      chorus_show_error(v, code, "message is %zu bytes, the limit is %zu", text_len_bytes,
                        v->max_msg_bytes);
      return;
    case CHORUS_ERR_BAD_UTF8: chorus_show_error(v, code, "text is not valid UTF-8"); return;
    case CHORUS_ERR_EMPTY: chorus_show_error(v, code, "empty message"); return;
    case CHORUS_ERR_UNKNOWN_USER:
      chorus_show_error(v, code, "unknown user '%s'", user ? user : "?");
      return;
    case CHORUS_ERR_SELF:
      chorus_show_error(v, code, "cannot send a private message to yourself");
      return;
    case CHORUS_ERR_QUEUE_FULL:
      chorus_show_error(v, code, "too many commands pending, try again");
      return;
    default: chorus_show_error(v, code, "%s", chorus_strerror(err)); return;
  }
}

/* ---- messages and membership ------------------------------------------- */

/* Mark where caught-up history begins and ends (room messages only). */
static void view_history_edge(chorus_show *v, const chorus_loop_event *ev) {
  if (ev->msg_kind != CHORUS_MSG_ROOM || ev->history == v->in_history) return;
  v->in_history = ev->history;
  if (v->json)
    fprintf(v->out, "{\"event\":\"history\",\"state\":\"%s\"}\n",
            ev->history ? "begin" : "end");
  else if (ev->history)
    fputs("-- history: room messages sent before you joined or while you were away\n", v->out);
  else
    fputs("-- end of history: live messages follow\n", v->out);
}

static void view_deliver(chorus_show *v, const chorus_loop_event *ev) {
  int priv = ev->msg_kind == CHORUS_MSG_PRIVATE;
  show_begin(v);
  chorus_recent_add(v->recent, show_time_ms(), priv ? SHOW_RECENT_PRIVATE : SHOW_RECENT_ROOM,
                    ev->name, ev->text, ev->text_len);
  show_log(v, CHORUS_SHOW_LOG_DEBUG, "deliver %s from %s epoch %lu id %lu, %zu bytes",
           priv ? "private" : "room", ev->name, (unsigned long)ev->epoch,
           (unsigned long)ev->msg_id, ev->text_len);
  view_history_edge(v, ev);
  if (v->json) {
    fprintf(v->out, "{\"event\":\"msg\",\"kind\":\"%s\",\"from\":", priv ? "private" : "room");
    chorus_json_cstr(v->out, ev->name);
    fprintf(v->out, ",\"epoch\":%lu,\"id\":%lu,\"order\":\"%s\"", (unsigned long)ev->epoch,
            (unsigned long)ev->msg_id, show_order(ev->order));
    /* Room messages also say where they sit in the room's order. */
    if (!priv)
      fprintf(v->out, ",\"view\":%lu,\"seq\":%lu%s%s", (unsigned long)ev->view,
              (unsigned long)ev->seq, ev->history ? ",\"history\":true" : "",
              ev->merge ? ",\"merge\":true" : "");
    fputs(",\"text\":", v->out);
    chorus_json_str(v->out, ev->text, ev->text_len);
    fputs("}\n", v->out);
  } else {
    show_stamp(v);
    /* The other side's message of a healed partition, late but in order. */
    if (ev->merge) fputs("(merged) ", v->out);
    fprintf(v->out, priv ? "*%s* (private) " : "<%s> ", ev->name);
    fwrite(ev->text, 1, ev->text_len, v->out);
    putc('\n', v->out);
  }
  show_end(v);
}

void chorus_show_offline(chorus_show *v, const char *from, uint64_t epoch, uint64_t id,
                         const uint8_t *text, size_t len_bytes) {
  show_begin(v);
  chorus_recent_add(v->recent, show_time_ms(), SHOW_RECENT_OFFLINE, from, text, len_bytes);
  if (v->json) {
    fputs("{\"event\":\"msg\",\"kind\":\"private\",\"from\":", v->out);
    chorus_json_cstr(v->out, from);
    fprintf(v->out, ",\"epoch\":%llu,\"id\":%llu,\"offline\":true,\"text\":",
            (unsigned long long)epoch, (unsigned long long)id);
    chorus_json_str(v->out, text, len_bytes);
    fputs("}\n", v->out);
  } else {
    show_stamp(v);
    fprintf(v->out, "*%s* (private, offline) ", from);
    fwrite(text, 1, len_bytes, v->out);
    putc('\n', v->out);
  }
  show_end(v);
}

static void show_recent_one(chorus_show *v, const chorus_recent_msg *m) {
  static const char *const kinds[] = {"room", "private", "offline"};
  const char *kind = kinds[m->kind];
  if (v->json) {
    fprintf(v->out, "{\"event\":\"recent\",\"kind\":\"%s\",\"from\":", kind);
    chorus_json_cstr(v->out, m->name);
    fprintf(v->out, ",\"time_ms\":%llu,\"text\":", (unsigned long long)m->time_ms);
    chorus_json_str(v->out, v->recent_text, m->text_len);
    fputs("}\n", v->out);
    return;
  }
  char buf[16];
  time_t t = (time_t)(m->time_ms / 1000);
  struct tm tm;
  if (localtime_r(&t, &tm) == NULL || strftime(buf, sizeof buf, "%H:%M:%S", &tm) == 0)
    memcpy(buf, "??:??:??", 9);
  if (m->kind == SHOW_RECENT_ROOM) fprintf(v->out, "[%s] <%s> ", buf, m->name);
  else fprintf(v->out, "[%s] *%s* (%s) ", buf, m->name,
               m->kind == SHOW_RECENT_OFFLINE ? "private, offline" : "private");
  fwrite(v->recent_text, 1, m->text_len, v->out);
  putc('\n', v->out);
}

void chorus_show_recent(chorus_show *v, size_t n) {
  show_begin(v);
  size_t count = chorus_recent_count(v->recent);
  size_t first = count > n ? count - n : 0;
  if (!v->json) fprintf(v->out, "-- last %zu messages\n", count - first);
  for (size_t i = first; i < count; i++) {
    chorus_recent_msg m;
    if (chorus_recent_get(v->recent, i, &m, v->recent_text, v->max_msg_bytes) == 0)
      show_recent_one(v, &m);
  }
  if (v->json) fprintf(v->out, "{\"event\":\"recent_end\",\"count\":%zu}\n", count - first);
  else fputs("-- end of /history\n", v->out);
  show_end(v);
}

static void view_sent(chorus_show *v, const chorus_loop_event *ev) {
  int priv = ev->cmd == CHORUS_LOOP_CMD_PRIVATE;
  show_begin(v);
  if (v->json) {
    fprintf(v->out, "{\"event\":\"sent\",\"kind\":\"%s\",", priv ? "private" : "room");
    if (priv) {
      fputs("\"to\":", v->out);
      chorus_json_cstr(v->out, ev->name);
      putc(',', v->out);
    }
    fprintf(v->out, "\"id\":%lu,\"text\":", (unsigned long)ev->msg_id);
    chorus_json_str(v->out, ev->text, ev->text_len);
    fputs("}\n", v->out);
  } else if (priv) {
    /* A room message shows when the core delivers it back to us, at its
     * place in the room's order; a private one is shown now. */
    show_stamp(v);
    fprintf(v->out, "-> *%s* (private) ", ev->name);
    fwrite(ev->text, 1, ev->text_len, v->out);
    putc('\n', v->out);
  }
  show_end(v);
}

static void view_peer(chorus_show *v, const chorus_loop_event *ev) {
  int up = ev->kind == CHORUS_LOOP_EV_PEER_UP;
  show_begin(v);
  show_log(v, CHORUS_SHOW_LOG_INFO, "%s %s epoch %lu", ev->name, up ? "up" : "restarted",
           (unsigned long)ev->epoch);
  if (v->json) {
    fprintf(v->out, "{\"event\":\"%s\",\"name\":", up ? "peer_up" : "peer_restarted");
    chorus_json_cstr(v->out, ev->name);
    fprintf(v->out, ",\"epoch\":%lu", (unsigned long)ev->epoch);
    if (!up) fprintf(v->out, ",\"dropped\":%lu", (unsigned long)ev->dropped);
    fputs("}\n", v->out);
  } else if (up) {
    fprintf(v->out, "-- %s is up (epoch %lu)\n", ev->name, (unsigned long)ev->epoch);
  } else {
    fprintf(v->out, "-- %s restarted (epoch %lu); %lu unacknowledged frames to its previous run "
                    "were dropped\n",
            ev->name, (unsigned long)ev->epoch, (unsigned long)ev->dropped);
  }
  show_end(v);
}

/* How a view change reads: "carol crashed", JSON reason "crash". */
static const char *show_reason(enum chorus_view_reason r) {
  switch (r) {
    case CHORUS_VIEW_JOIN: return "join";
    case CHORUS_VIEW_LEAVE: return "leave";
    case CHORUS_VIEW_CRASH: return "crash";
    case CHORUS_VIEW_PARTITION: return "partition";
    case CHORUS_VIEW_MERGE: return "merge";
  }
  return "unknown";
}

/* The new view's members by name, so every member prints a view the same
 * way (indices follow each node's own --peer order). Returns the count. */
/* A member whose name the server has not told us yet (it was admitted
 * into a seat before our next refresh) shows as "?". */
static const char *show_name(const char *name) { return name[0] ? name : "?"; }

static size_t show_view_members(const chorus_loop_event *ev, const char *out[]) {
  size_t n = 0;
  for (size_t i = 0; i < ev->member_count && i < CHORUS_MEMBERS_MAX; i++) {
    if (!(ev->members & (1u << i))) continue;
    const char *name = show_name(ev->names[i]);
    size_t j = n++;
    for (; j > 0 && strcmp(out[j - 1], name) > 0; j--) out[j] = out[j - 1];
    out[j] = name;
  }
  return n;
}

static void view_change_json(chorus_show *v, const chorus_loop_event *ev) {
  fprintf(v->out, "{\"event\":\"view\",\"view\":%lu,\"reason\":\"%s\",\"member\":",
          (unsigned long)ev->view, show_reason(ev->reason));
  chorus_json_cstr(v->out, show_name(ev->name));
  fputs(",\"members\":[", v->out);
  const char *names[CHORUS_MEMBERS_MAX];
  size_t n = show_view_members(ev, names);
  for (size_t i = 0; i < n; i++) {
    if (i) putc(',', v->out);
    chorus_json_cstr(v->out, names[i]);
  }
  fprintf(v->out, "],\"time_ms\":%llu}\n", show_time_ms());
}

/* "-- carol crashed (view 3: alice bob dave)" */
static void view_change_text(chorus_show *v, const chorus_loop_event *ev) {
  const char *name = show_name(ev->name);
  fputs("-- ", v->out);
  switch (ev->reason) {
    case CHORUS_VIEW_JOIN:
      /* About ourselves: we were admitted (again) after a restart. */
      if (strcmp(ev->name, v->self) == 0) fprintf(v->out, "you (%s) joined", name);
      else fprintf(v->out, "%s joined", name);
      break;
    case CHORUS_VIEW_LEAVE: fprintf(v->out, "%s left", name); break;
    case CHORUS_VIEW_CRASH: fprintf(v->out, "%s crashed", name); break;
    case CHORUS_VIEW_PARTITION: fprintf(v->out, "partition: %s unreachable", name); break;
    case CHORUS_VIEW_MERGE: fprintf(v->out, "merged with %s", name); break;
    default: fprintf(v->out, "%s removed", name); break;
  }
  fprintf(v->out, " (view %lu:", (unsigned long)ev->view);
  const char *names[CHORUS_MEMBERS_MAX];
  size_t n = show_view_members(ev, names);
  for (size_t i = 0; i < n; i++) fprintf(v->out, " %s", names[i]);
  fputs(")\n", v->out);
}

static void view_change(chorus_show *v, const chorus_loop_event *ev) {
  show_begin(v);
  if (v->log && v->log_level >= CHORUS_SHOW_LOG_INFO) {
    const char *names[CHORUS_MEMBERS_MAX];
    size_t n = show_view_members(ev, names);
    char list[CHORUS_MEMBERS_MAX * (CHORUS_NAME_BYTES_MAX + 1) + 1];
    size_t at = 0;
    for (size_t i = 0; i < n; i++)
      at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", i ? " " : "", names[i]);
    show_log(v, CHORUS_SHOW_LOG_INFO, "view %lu %s %s: %s", (unsigned long)ev->view,
             show_reason(ev->reason), show_name(ev->name), list);
  }
  if (v->json) view_change_json(v, ev);
  else view_change_text(v, ev);
  show_end(v);
}

static void view_leaving(chorus_show *v, const chorus_loop_event *ev) {
  if (ev->err != CHORUS_OK) {
    chorus_show_error(v, chorus_errname(ev->err), "cannot announce the leave: %s",
                      chorus_strerror(ev->err));
    return;
  }
  show_begin(v);
  if (v->json) fputs("{\"event\":\"leaving\"}\n", v->out);
  else fputs("-- leaving the room\n", v->out);
  show_end(v);
}

/* A private message to a member that is no longer in the view. */
static void view_gone_error(chorus_show *v, const chorus_loop_event *ev) {
  const char *why = ev->reason == CHORUS_VIEW_LEAVE       ? "left the room"
                    : ev->reason == CHORUS_VIEW_CRASH     ? "crashed and was removed from the room"
                    : ev->reason == CHORUS_VIEW_PARTITION ? "is unreachable (partition) and was "
                                                            "removed from the room"
                                                          : "was removed from the room";
  chorus_show_error(v, chorus_errname(ev->err), "cannot send to %s: %s %s (view %lu)", ev->name,
                    ev->name, why, (unsigned long)ev->view);
}

/* ---- /who and /stats ---------------------------------------------------- */

/* A member's state in words: "in_view", "leaving" (ourselves, after
 * /quit), or why it left the view. */
static const char *show_member_state(const chorus_loop_snapshot *s, size_t i) {
  const chorus_loop_member_state *m = &s->state[i];
  if (m->in_view) return i == s->self && s->leaving ? "leaving" : "in_view";
  if (!m->removal_seen) return "removed";
  switch (m->reason) {
    case CHORUS_VIEW_LEAVE: return "left";
    case CHORUS_VIEW_CRASH: return "crashed";
    case CHORUS_VIEW_PARTITION: return "unreachable";
    default: return "removed";
  }
}

static void view_who_json(chorus_show *v, const chorus_loop_snapshot *s, size_t i,
                          const char *addr) {
  int me = i == s->self;
  uint32_t epoch = me ? s->self_epoch : s->links[i].peer_epoch;
  const chorus_loop_member_state *m = &s->state[i];
  fputs(i ? ",{\"name\":" : "{\"name\":", v->out);
  chorus_json_cstr(v->out, s->names[i]);
  fputs(",\"addr\":", v->out);
  chorus_json_cstr(v->out, addr);
  fprintf(v->out, ",\"epoch\":%lu,\"self\":%s,\"contacted\":%s,\"state\":\"%s\"",
          (unsigned long)epoch, me ? "true" : "false", epoch != 0 ? "true" : "false",
          show_member_state(s, i));
  if (!m->in_view && m->removal_seen)
    fprintf(v->out, ",\"removed_in_view\":%lu", (unsigned long)m->view);
  putc('}', v->out);
}

/* "   carol        127.0.0.1:9002   epoch 7, crashed (removed in view 3)" */
static void view_who_text(chorus_show *v, const chorus_loop_snapshot *s, size_t i,
                          const char *addr) {
  int me = i == s->self;
  uint32_t epoch = me ? s->self_epoch : s->links[i].peer_epoch;
  const chorus_loop_member_state *m = &s->state[i];
  const char *state = show_member_state(s, i);
  fprintf(v->out, "   %-12s %-24s ", s->names[i], addr);
  if (epoch != 0) fprintf(v->out, "epoch %lu, ", (unsigned long)epoch);
  else fputs("not contacted yet, ", v->out);
  if (m->in_view) fputs(strcmp(state, "in_view") == 0 ? "in the view" : state, v->out);
  else if (m->removal_seen)
    fprintf(v->out, "%s (removed in view %lu)", state, (unsigned long)m->view);
  else fputs(state, v->out);
  fputs(me ? " (you)\n" : "\n", v->out);
}

static void view_who(chorus_show *v, const chorus_loop_snapshot *s) {
  size_t in_view = 0;
  for (size_t i = 0; i < s->member_count; i++) in_view += s->state[i].in_view != 0;
  show_begin(v);
  if (v->json) fputs("{\"event\":\"who\",\"members\":[", v->out);
  else
    fprintf(v->out, "-- view %lu: %zu of %zu members in the view\n", (unsigned long)s->peer.view,
            in_view, s->member_count);
  for (size_t i = 0; i < s->member_count; i++) {
    char addr[CHORUS_UDP_TEXT_BYTES];
    chorus_udp_format(&s->addrs[i], addr, sizeof addr);
    if (v->json) view_who_json(v, s, i, addr);
    else view_who_text(v, s, i, addr);
  }
  if (v->json) fprintf(v->out, "],\"view\":%lu}\n", (unsigned long)s->peer.view);
  show_end(v);
}

static size_t view_node_kvs(const chorus_loop_snapshot *s, show_kv *kv) {
  const chorus_peer_stats *p = &s->peer;
  const show_kv all[] = {
      {"datagrams_recv", p->datagrams_recv}, {"datagrams_sent", p->datagrams_sent},
      {"rx_truncated", p->rx_truncated},     {"rx_bad_magic", p->rx_bad_magic},
      {"rx_bad_version", p->rx_bad_version}, {"rx_bad_frame", p->rx_bad_frame},
      {"rx_too_big", p->rx_too_big},         {"rx_unknown_sender", p->rx_unknown_sender},
      {"rx_stale_epoch", p->rx_stale_epoch}, {"rx_wrong_dest", p->rx_wrong_dest},
      {"tx_window_full", p->tx_window_full}, {"events_dropped", p->events_dropped},
      {"delivered_room", p->delivered_room}, {"delivered_private", p->delivered_private},
      {"sent_room", p->sent_room},           {"sent_private", p->sent_private},
      {"view", p->view},                     {"sequencer", p->sequencer},
      {"holdback", p->holdback},             {"retained", p->retained},
      {"stability_lag", p->stability_lag},   {"room_discarded", p->room_discarded},
      {"room_relayed", p->room_relayed},     {"rx_room_refused", p->rx_room_refused},
      {"room_outbox", p->room_outbox},       {"room_numberings", p->room_numberings},
      {"room_numberings_full", p->room_numberings_full},
      {"fd_suspicions", p->fd_suspicions},
      {"fd_refutations", p->fd_refutations}, {"fd_frames_dropped", p->fd_frames_dropped},
      {"heartbeats_sent", p->heartbeats_sent}, {"views_held_dropped", p->views_held_dropped},
      {"history_dropped", p->history_dropped},
      {"stability_age_us", p->stability_oldest_us == UINT64_MAX || p->stability_oldest_us > s->now_us
                               ? 0
                               : s->now_us - p->stability_oldest_us},
  };
  _Static_assert(SHOW_N(all) <= SHOW_KV_MAX, "raise SHOW_KV_MAX");
  memcpy(kv, all, sizeof all);
  return SHOW_N(all);
}

static size_t view_link_kvs(const chorus_link_stats *l, show_kv *kv) {
  const show_kv all[] = {
      {"peer_epoch", l->peer_epoch},
      {"srtt_us", l->srtt_us},
      {"rttvar_us", l->rttvar_us},
      {"rto_us", l->rto_us},
      {"in_flight", l->in_flight},
      {"queued", l->queued},
      {"rcv_buffered", l->rcv_buffered},
      {"retransmits", l->retransmits},
      {"fast_retransmits", l->fast_retransmits},
      {"timeouts", l->timeouts},
      {"dup_frames", l->dup_frames},
      {"out_of_window", l->out_of_window},
      {"abandoned", l->abandoned},
      {"frames_sent", l->frames_sent},
      {"frames_recv", l->frames_recv},
      {"datagrams_sent", l->datagrams_sent},
      {"datagrams_recv", l->datagrams_recv},
      {"acks_sent", l->acks_sent},
  };
  _Static_assert(SHOW_N(all) <= SHOW_KV_MAX, "raise SHOW_KV_MAX");
  memcpy(kv, all, sizeof all);
  return SHOW_N(all);
}

static size_t view_tx_kvs(const chorus_loop_snapshot *s, show_kv *kv) {
  const chorus_udp_fault_stats *t = &s->tx;
  const chorus_loop_counters *c = &s->loop;
  const show_kv all[] = {
      {"tx_offered", t->offered},         {"tx_sent", t->sent},
      {"tx_injected_drops", t->dropped},  {"tx_injected_dups", t->duplicated},
      {"tx_injected_delays", t->delayed}, {"tx_delay_overflow", t->delay_overflow},
      {"tx_held", t->held},               {"tx_would_block", t->would_block},
      {"tx_errors", t->send_errors},      {"rx_datagrams", c->rx_datagrams},
      {"rx_rejected", c->rx_rejected},    {"rx_errors", c->rx_errors},
      {"poll_errors", c->poll_errors},    {"wakeups", c->wakeups},
      {"ticks", c->ticks},                {"cmds_done", c->cmds_done},
      {"cmds_refused", c->cmds_refused},  {"cmds_held", c->cmds_held},
      {"cmd_queue_full", c->queue_full},  {"cmds_queued", s->queued_cmds},
      {"view_changes", c->view_changes},  {"unknown_outputs", c->unknown_outputs},
      {"rx_strangers", c->rx_strangers},  {"members_set", c->members_set},
      {"members_refused", c->members_refused},
      {"rx_coalesced", c->rx_coalesced},  {"tx_gso_fallbacks", t->gso_fallbacks},
  };
  _Static_assert(SHOW_N(all) <= SHOW_KV_MAX, "raise SHOW_KV_MAX");
  memcpy(kv, all, sizeof all);
  return SHOW_N(all);
}

static void view_stats_json(chorus_show *v, const chorus_loop_snapshot *s) {
  show_kv kv[SHOW_KV_MAX];
  fputs("{\"event\":\"stats\",\"name\":", v->out);
  chorus_json_cstr(v->out, v->self);
  fprintf(v->out, ",\"epoch\":%lu,\"node\":", (unsigned long)s->self_epoch);
  view_kvs_json(v->out, kv, view_node_kvs(s, kv));
  fputs(",\"platform\":", v->out);
  view_kvs_json(v->out, kv, view_tx_kvs(s, kv));
  fputs(",\"links\":[", v->out);
  int first = 1;
  for (size_t i = 0; i < s->member_count; i++) {
    if (i == s->self) continue;
    fputs(first ? "{\"name\":" : ",{\"name\":", v->out);
    first = 0;
    chorus_json_cstr(v->out, s->names[i]);
    fputs(",\"stats\":", v->out);
    view_kvs_json(v->out, kv, view_link_kvs(&s->links[i], kv));
    putc('}', v->out);
  }
  fputs("]}\n", v->out);
}

static void view_stats_text(chorus_show *v, const chorus_loop_snapshot *s) {
  show_kv kv[SHOW_KV_MAX];
  fprintf(v->out, "-- node %s (epoch %lu): ", v->self, (unsigned long)s->self_epoch);
  view_kvs_text(v->out, kv, view_node_kvs(s, kv));
  fputs("\n-- platform: ", v->out);
  view_kvs_text(v->out, kv, view_tx_kvs(s, kv));
  putc('\n', v->out);
  for (size_t i = 0; i < s->member_count; i++) {
    if (i == s->self) continue;
    const chorus_link_stats *l = &s->links[i];
    fprintf(v->out, "-- link to %s: srtt %.2f ms, rttvar %.2f ms, rto %.2f ms; ", s->names[i],
            l->srtt_us / 1000.0, l->rttvar_us / 1000.0, l->rto_us / 1000.0);
    size_t n = view_link_kvs(l, kv);
    view_kvs_text(v->out, kv + 4, n - 4); /* skip epoch and the RTT trio above */
    fprintf(v->out, ", peer_epoch %lu\n", (unsigned long)l->peer_epoch);
  }
}

static void view_stats(chorus_show *v, const chorus_loop_snapshot *s) {
  show_begin(v);
  if (v->json) view_stats_json(v, s);
  else view_stats_text(v, s);
  show_end(v);
}

void chorus_show_on_event(void *ctx, const chorus_loop_event *ev) {
  chorus_show *v = ctx;
  switch (ev->kind) {
    case CHORUS_LOOP_EV_DELIVER:
      view_deliver(v, ev);
      return;
    case CHORUS_LOOP_EV_PEER_UP:
    case CHORUS_LOOP_EV_PEER_RESTARTED: view_peer(v, ev); return;
    case CHORUS_LOOP_EV_SENT: view_sent(v, ev); return;
    case CHORUS_LOOP_EV_ERROR:
      if (ev->gone) view_gone_error(v, ev);
      else chorus_show_error_code(v, ev->err, ev->name, ev->text_len);
      return;
    case CHORUS_LOOP_EV_VIEW: view_change(v, ev); return;
    case CHORUS_LOOP_EV_LEAVING: view_leaving(v, ev); return;
    case CHORUS_LOOP_EV_WHO: view_who(v, ev->snap); return;
    case CHORUS_LOOP_EV_STATS: view_stats(v, ev->snap); return;
    case CHORUS_LOOP_EV_STRANGER: return; /* for the server watcher, not the user */
  }
}
