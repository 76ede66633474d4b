#include "peer_args.h"
#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char chorus_peer_args_usage[] =
    "usage: chorus peer --name NAME --listen HOST:PORT\n"
    "                   [--server HOST:PORT[,HOST:PORT...] [--room ROOM]\n"
    "                    [--password-file FILE] | --peer NAME@HOST:PORT ...]\n"
    "                   [--order fifo|causal|total|safe] [--fd default|fast|off]\n"
    "                   [--json] [--block]\n"
    "                   [--max-msg BYTES]\n"
    "                   [--drop P] [--dup P] [--delay-ms MS] [--delay P] [--seed N]\n"
    "                   [--epoch N] [--grace-ms MS]\n"
    "                   [--log FILE] [--log-level error|warn|info|debug] [--data DIR]\n"
    "\n"
    "  --name NAME            your user name: 1-31 of A-Z a-z 0-9 _ . -\n"
    "  --listen HOST:PORT     UDP address to bind; [V6ADDR]:PORT for IPv6,\n"
    "                         [::]:PORT for dual stack, :PORT for 0.0.0.0\n"
    "  --server LIST          log in to these chorus servers (HOST:PORT, comma-\n"
    "                         separated, at most 4; the account is created on\n"
    "                         first use), join --room and find its members there\n"
    "  --room ROOM            the room to join (created if missing; default lobby)\n"
    "  --password-file FILE   read the password from FILE's first line (default:\n"
    "                         asked on the terminal, without echo)\n"
    "  --peer NAME@HOST:PORT  without a server: another member (repeat; at most\n"
    "                         10 members in all)\n"
    "  --order MODE           room order: fifo, causal, total (default) or safe\n"
    "  --fd PROFILE           failure detection (heartbeats, indirect probes,\n"
    "                         refutable suspicion): a crashed member is removed\n"
    "                         from the view in about 5 s with 'default', about\n"
    "                         2 s with 'fast' (a LAN); 'off' keeps the member\n"
    "                         list static (a graceful leave still removes)\n"
    "  --json                 commands on stdin, one JSON event per line on stdout\n"
    "  --block                when a send window is full, wait instead of failing\n"
    "  --max-msg BYTES        longest message, 1-65536 (default 4096)\n"
    "  --drop P               drop this fraction of outgoing datagrams (0-1)\n"
    "  --dup P                duplicate this fraction of outgoing datagrams\n"
    "  --delay-ms MS          hold outgoing datagrams a random 0-MS ms (reorders)\n"
    "  --delay P              fraction of datagrams held (default 1 with --delay-ms)\n"
    "  --seed N               seed for the protocol and fault PRNGs (default: pid)\n"
    "  --epoch N              override this boot's epoch (tests; default: clock)\n"
    "  --grace-ms MS          at exit (/quit, end of input, SIGINT, SIGTERM) the\n"
    "                         node announces its leave, then waits at most MS\n"
    "                         for it and its messages to be acknowledged\n"
    "                         (default 5000)\n"
    "  --log FILE             append a time-stamped log (view changes, peers,\n"
    "                         server steps, warnings, errors) to FILE\n"
    "  --log-level LEVEL      error, warn, info (default) or debug (every\n"
    "                         delivery too)\n"
    "  --data DIR             keep this node's last epoch in DIR (fsynced before\n"
    "                         use), so a new boot's epoch is above it even if\n"
    "                         the clock went back; DIR is locked while running\n"
    "  --help                 this text\n"
    "\n"
    "commands: TEXT (room message), /msg USER TEXT, /who, /stats, /history [N],\n"
    "/help, /quit;\n"
    "with --server also /rooms, /users [PATTERN], /join ROOM, /leave;\n"
    "//TEXT sends a room message that starts with '/'.\n";

static int args_fail(char *err, size_t err_bytes, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (err_bytes > 0) vsnprintf(err, err_bytes, fmt, ap);
  va_end(ap);
  return -1;
}

static int args_name_ok(const char *n, size_t len) {
  if (len == 0 || len > CHORUS_NAME_BYTES_MAX) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = n[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '.' || c == '-';
    if (!ok) return 0;
  }
  return 1;
}


/* Probability 0..1 as parts per million. */
static int args_prob(const char *s, uint32_t *ppm) {
  char *end = NULL;
  errno = 0;
  double p = strtod(s, &end);
  if (end == s || *end != '\0' || errno != 0 || !(p >= 0.0 && p <= 1.0)) return 0;
  *ppm = (uint32_t)(p * 1000000.0 + 0.5);
  return 1;
}

typedef struct args_state {
  chorus_peer_args *a;
  char *err;
  size_t err_bytes;
  int delay_p_set;
} args_state;

static int args_add_peer(args_state *st, const char *v) {
  chorus_peer_args *a = st->a;
  const char *at = strchr(v, '@');
  if (at == NULL) return args_fail(st->err, st->err_bytes, "bad --peer '%s': expected NAME@HOST:PORT", v);
  size_t len = (size_t)(at - v);
  if (!args_name_ok(v, len))
    return args_fail(st->err, st->err_bytes,
                     "bad --peer '%s': a name is 1-31 of A-Z a-z 0-9 _ . -", v);
  if (a->peer_count + 1 >= CHORUS_MEMBERS_MAX)
    return args_fail(st->err, st->err_bytes, "too many members: at most %d, yourself included",
                     CHORUS_MEMBERS_MAX);
  memcpy(a->peer_names[a->peer_count], v, len);
  a->peer_names[a->peer_count][len] = '\0';
  a->peer_addrs[a->peer_count] = at + 1;
  a->peer_count++;
  return 0;
}

/* --server HOST:PORT[,HOST:PORT...] */
static int args_servers(args_state *st, const char *v) {
  chorus_peer_args *a = st->a;
  for (const char *p = v;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (len == 0 || len >= CHORUS_PEER_ARGS_SERVER_TEXT_BYTES)
      return args_fail(st->err, st->err_bytes, "bad --server '%s': expected HOST:PORT[,HOST:PORT...]", v);
    if (a->server_count == CHORUS_PEER_ARGS_SERVERS_MAX)
      return args_fail(st->err, st->err_bytes, "too many servers: at most %d",
                       CHORUS_PEER_ARGS_SERVERS_MAX);
    memcpy(a->servers[a->server_count], p, len);
    a->servers[a->server_count++][len] = '\0';
    if (!comma) return 0;
    p = comma + 1;
  }
}

static int args_fd(args_state *st, const char *v) {
  static const char *const names[] = {"default", "fast", "off"};
  static const enum chorus_fd_mode values[] = {CHORUS_FD_MODE_DEFAULT, CHORUS_FD_MODE_FAST,
                                               CHORUS_FD_MODE_OFF};
  for (size_t i = 0; i < 3; i++)
    if (strcmp(v, names[i]) == 0) {
      st->a->fd_mode = values[i];
      return 0;
    }
  return args_fail(st->err, st->err_bytes, "bad --fd '%s': expected default, fast or off", v);
}

static int args_log_level(args_state *st, const char *v) {
  static const char *const levels[] = {"error", "warn", "info", "debug"};
  for (int i = 0; i < 4; i++)
    if (strcmp(v, levels[i]) == 0) {
      st->a->log_level = i;
      return 0;
    }
  return args_fail(st->err, st->err_bytes,
                   "bad --log-level '%s': expected error, warn, info or debug", v);
}

static int args_order(args_state *st, const char *v) {
  static const char *const modes[] = {"fifo", "causal", "total", "safe"};
  static const enum chorus_order values[] = {CHORUS_ORDER_FIFO, CHORUS_ORDER_CAUSAL,
                                             CHORUS_ORDER_TOTAL, CHORUS_ORDER_SAFE};
  for (size_t i = 0; i < 4; i++)
    if (strcmp(v, modes[i]) == 0) {
      st->a->order = values[i];
      return 0;
    }
  return args_fail(st->err, st->err_bytes, "bad --order '%s': expected fifo, causal, total or safe",
                   v);
}

/* Options with a value. */
static int args_value(args_state *st, const char *opt, const char *v) {
  chorus_peer_args *a = st->a;
  unsigned long long n = 0;
  if (strcmp(opt, "--name") == 0) a->name = v;
  else if (strcmp(opt, "--listen") == 0) a->listen = v;
  else if (strcmp(opt, "--peer") == 0) return args_add_peer(st, v);
  else if (strcmp(opt, "--server") == 0) return args_servers(st, v);
  else if (strcmp(opt, "--room") == 0) a->room = v;
  else if (strcmp(opt, "--password-file") == 0) a->password_file = v;
  else if (strcmp(opt, "--log") == 0) a->log_file = v;
  else if (strcmp(opt, "--data") == 0) a->data_dir = v;
  else if (strcmp(opt, "--log-level") == 0) return args_log_level(st, v);
  else if (strcmp(opt, "--order") == 0) return args_order(st, v);
  else if (strcmp(opt, "--fd") == 0) return args_fd(st, v);
  else if (strcmp(opt, "--max-msg") == 0) {
    if (!chorus_args_uint(v, 1, CHORUS_MSG_BYTES_MAX, &n))
      return args_fail(st->err, st->err_bytes, "bad --max-msg '%s': expected 1 to %d bytes", v,
                       CHORUS_MSG_BYTES_MAX);
    a->max_msg_bytes = (size_t)n;
  } else if (strcmp(opt, "--drop") == 0 || strcmp(opt, "--dup") == 0 ||
             strcmp(opt, "--delay") == 0) {
    uint32_t *dst = strcmp(opt, "--drop") == 0  ? &a->drop_ppm
                    : strcmp(opt, "--dup") == 0 ? &a->dup_ppm
                                                : &a->delay_ppm;
    if (!args_prob(v, dst))
      return args_fail(st->err, st->err_bytes, "bad %s '%s': expected a probability from 0 to 1",
                       opt, v);
    if (dst == &a->delay_ppm) st->delay_p_set = 1;
  } else if (strcmp(opt, "--delay-ms") == 0) {
    if (!chorus_args_uint(v, 0, CHORUS_PEER_ARGS_DELAY_MS_MAX, &n))
      return args_fail(st->err, st->err_bytes, "bad --delay-ms '%s': expected 0 to %d", v,
                       CHORUS_PEER_ARGS_DELAY_MS_MAX);
    a->delay_ms = (uint32_t)n;
  } else if (strcmp(opt, "--seed") == 0) {
    if (!chorus_args_uint(v, 0, UINT64_MAX, &n))
      return args_fail(st->err, st->err_bytes, "bad --seed '%s': expected an unsigned integer", v);
    a->seed = n;
    a->seed_set = 1;
  } else if (strcmp(opt, "--epoch") == 0) {
    if (!chorus_args_uint(v, 1, UINT32_MAX, &n))
      return args_fail(st->err, st->err_bytes, "bad --epoch '%s': expected 1 to %lu", v,
                       (unsigned long)UINT32_MAX);
    a->epoch = (uint32_t)n;
  } else if (strcmp(opt, "--grace-ms") == 0) {
    if (!chorus_args_uint(v, 0, CHORUS_PEER_ARGS_GRACE_MS_MAX, &n))
      return args_fail(st->err, st->err_bytes, "bad --grace-ms '%s': expected 0 to %d", v,
                       CHORUS_PEER_ARGS_GRACE_MS_MAX);
    a->grace_ms = (uint32_t)n;
  } else {
    return args_fail(st->err, st->err_bytes, "unknown option '%s'", opt);
  }
  return 0;
}

static int args_has_value(const char *opt) {
  static const char *const with_value[] = {"--name",  "--listen", "--peer",     "--order",
                                           "--max-msg", "--drop", "--dup",      "--delay",
                                           "--delay-ms", "--seed", "--epoch", "--grace-ms",
                                           "--fd", "--server", "--room", "--password-file",
                                           "--log", "--log-level", "--data"};
  for (size_t i = 0; i < sizeof with_value / sizeof with_value[0]; i++)
    if (strcmp(opt, with_value[i]) == 0) return 1;
  return 0;
}

/* --server excludes --peer; --room and --password-file need it. */
static int args_check_server(args_state *st) {
  chorus_peer_args *a = st->a;
  if (a->server_count == 0) {
    if (a->room || a->password_file)
      return args_fail(st->err, st->err_bytes, "%s needs --server",
                       a->room ? "--room" : "--password-file");
    return 0;
  }
  if (a->peer_count > 0)
    return args_fail(st->err, st->err_bytes,
                     "--server and --peer exclude each other: the server lists the members");
  if (!a->room) a->room = CHORUS_PEER_ROOM_DEFAULT;
  if (!args_name_ok(a->room, strlen(a->room)))
    return args_fail(st->err, st->err_bytes, "bad --room '%s': 1-31 of A-Z a-z 0-9 _ . -",
                     a->room);
  return 0;
}

/* Whole-list checks once every option is read. */
static int args_check(args_state *st) {
  chorus_peer_args *a = st->a;
  if (a->name == NULL) return args_fail(st->err, st->err_bytes, "missing --name");
  if (!args_name_ok(a->name, strlen(a->name)))
    return args_fail(st->err, st->err_bytes, "bad --name '%s': 1-31 of A-Z a-z 0-9 _ . -",
                     a->name);
  if (a->listen == NULL) return args_fail(st->err, st->err_bytes, "missing --listen");
  for (size_t i = 0; i < a->peer_count; i++) {
    if (strcmp(a->peer_names[i], a->name) == 0)
      return args_fail(st->err, st->err_bytes, "duplicate member name '%s' (that is you)",
                       a->name);
    for (size_t j = 0; j < i; j++)
      if (strcmp(a->peer_names[i], a->peer_names[j]) == 0)
        return args_fail(st->err, st->err_bytes, "duplicate member name '%s'", a->peer_names[i]);
  }
  if (!st->delay_p_set && a->delay_ms > 0) a->delay_ppm = 1000000u;
  return args_check_server(st);
}

/* One argv element (plus its value); returns the count consumed or -1. */
static int args_one(args_state *st, int argc, char **argv, int i) {
  const char *arg = argv[i];
  if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
    st->a->help = 1;
    return 1;
  }
  if (strcmp(arg, "--json") == 0) { st->a->json = 1; return 1; }
  if (strcmp(arg, "--block") == 0) { st->a->block = 1; return 1; }
  char opt[32];
  const char *eq = strchr(arg, '=');
  size_t olen = eq ? (size_t)(eq - arg) : strlen(arg);
  if (strncmp(arg, "--", 2) != 0 || olen >= sizeof opt)
    return args_fail(st->err, st->err_bytes, "unexpected argument '%s'", arg);
  memcpy(opt, arg, olen);
  opt[olen] = '\0';
  if (!args_has_value(opt)) return args_fail(st->err, st->err_bytes, "unknown option '%s'", opt);
  if (eq) return args_value(st, opt, eq + 1) < 0 ? -1 : 1;
  if (i + 1 >= argc) return args_fail(st->err, st->err_bytes, "option %s needs a value", opt);
  return args_value(st, opt, argv[i + 1]) < 0 ? -1 : 2;
}

int chorus_peer_args_parse(int argc, char **argv, chorus_peer_args *out, char *err,
                           size_t err_bytes) {
  memset(out, 0, sizeof *out);
  out->max_msg_bytes = CHORUS_MSG_BYTES_DEFAULT;
  out->order = CHORUS_ORDER_TOTAL;
  out->fd_mode = CHORUS_FD_MODE_DEFAULT;
  out->grace_ms = CHORUS_PEER_ARGS_GRACE_MS_DEFAULT;
  out->log_level = 2; /* info */
  if (err_bytes > 0) err[0] = '\0';
  args_state st = {out, err, err_bytes, 0};
  for (int i = 1; i < argc;) {
    int used = args_one(&st, argc, argv, i);
    if (used < 0) return -1;
    i += used;
  }
  if (out->help) return 0;
  return args_check(&st);
}
