/*
 * `chorus server`: the rendezvous, account and room server
 * (core/server.h driven by platform/server_loop.h), a single instance;
 * with --cluster FILE --id ID one replica of a cluster (core/replica.h
 * driven by platform/cluster_loop.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "server.h"
#include "cluster_loop.h"
#include "server_loop.h"

#define SERVER_ERR_BYTES 1600
#define SERVER_LEASE_S_MAX 86400
#define SERVER_LOCKOUT_S_MAX 86400

static const char server_usage[] =
    "usage: chorus server [--listen HOST:PORT] [--data DIR] [--iterations N]\n"
    "                     [--lease-s S] [--lockout-s S] [--max-accounts N]\n"
    "                     [--max-rooms N] [--cluster FILE --id ID]\n"
    "\n"
    "  --listen HOST:PORT  UDP address for clients (default 127.0.0.1:7700;\n"
    "                      0.0.0.0:7700 or [::]:7700 serve other hosts too)\n"
    "  --data DIR          data directory (created if missing): accounts and\n"
    "                      rooms, made durable (fsync) before a change is\n"
    "                      acknowledged; without it nothing is persisted\n"
    "  --iterations N      PBKDF2-HMAC-SHA256 rounds for new passwords, 1-100000000\n"
    "                      (default 600000, the OWASP floor; tests use less)\n"
    "  --lease-s S         session lease: a client silent for S seconds is logged\n"
    "                      out and leaves its room (default 30, at most 86400)\n"
    "  --lockout-s S       lock-out after 5 wrong passwords in a row (default 30)\n"
    "  --max-accounts N    account limit, 1-65535 (default 1024)\n"
    "  --max-rooms N       room limit, 1-4096 (default 64)\n"
    "  --cluster FILE      replicas, one per line: ID HOST CLIENT_PORT PEER_PORT\n"
    "                      PRIORITY ('#' comments); this process runs replica\n"
    "                      ID (its client and peer ports come from FILE; --listen\n"
    "                      is not used); --data is required\n"
    "  --id ID             this replica's ID in FILE\n"
    "  --help              this text\n"
    "\n"
    "Clients speak the server protocol of docs/PROTOCOL.md (UDP, 'C' 'S',\n"
    "version 1); tests/integration/srvclient.c is a small scriptable client.\n"
    "Events are logged on stdout (\"server: signup alice\"); passwords never are.\n"
    "SIGINT or SIGTERM stops the server cleanly (exit 0).\n";

/* Written by SIGINT/SIGTERM; the only global state, as signals require. */
static int server_stop_pipe[2] = {-1, -1};

typedef struct server_args {
  chorus_server_loop_config loop;
  const char *cluster;
  const char *id;
  int help;
} server_args;

static int server_usage_fail(const char *why) {
  fprintf(stderr, "chorus server: %s\n%s", why, server_usage);
  return 2;
}


/* A numeric option; 0 or the exit code. */
static int server_number(server_args *a, const char *opt, const char *v) {
  static const struct {
    const char *opt;
    unsigned long long lo, hi;
  } t[] = {{"--iterations", 1, CHORUS_SERVER_ITERATIONS_MAX},
           {"--lease-s", 1, SERVER_LEASE_S_MAX},
           {"--lockout-s", 1, SERVER_LOCKOUT_S_MAX},
           {"--max-accounts", 1, CHORUS_SERVER_ACCOUNTS_LIMIT},
           {"--max-rooms", 1, CHORUS_SERVER_ROOMS_LIMIT}};
  chorus_server_config *c = &a->loop.core;
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    if (strcmp(opt, t[i].opt) != 0) continue;
    unsigned long long n;
    char why[256];
    if (!chorus_args_uint(v, t[i].lo, t[i].hi, &n)) {
      snprintf(why, sizeof why, "bad %s '%s': expected a number from %llu to %llu", opt, v,
               t[i].lo, t[i].hi);
      return server_usage_fail(why);
    }
    if (i == 0) c->iterations = (uint32_t)n;
    if (i == 1) c->lease_us = n * 1000000ull;
    if (i == 2) c->lockout_us = n * 1000000ull;
    if (i == 3) c->accounts_max = (size_t)n;
    if (i == 4) c->rooms_max = (size_t)n;
    return 0;
  }
  return -1;
}

static int server_option(server_args *a, const char *opt, const char *v) {
  if (strcmp(opt, "--listen") == 0) a->loop.listen = v;
  else if (strcmp(opt, "--data") == 0) a->loop.data_dir = v;
  else if (strcmp(opt, "--cluster") == 0) a->cluster = v;
  else if (strcmp(opt, "--id") == 0) a->id = v;
  else return server_number(a, opt, v);
  return 0;
}

static int server_known(const char *opt) {
  static const char *const opts[] = {"--listen",    "--data",         "--cluster",
                                     "--id",        "--iterations",   "--lease-s",
                                     "--lockout-s", "--max-accounts", "--max-rooms"};
  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
    if (strcmp(opt, opts[i]) == 0) return 1;
  return 0;
}

static int server_parse(int argc, char **argv, server_args *a) {
  memset(a, 0, sizeof *a);
  a->loop.listen = CHORUS_SERVER_LOOP_LISTEN_DEFAULT;
  a->loop.stop_fd = -1;
  chorus_server_config_default(&a->loop.core);
  char why[256];
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i];
    if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
      a->help = 1;
      return 0;
    }
    if (strncmp(opt, "--", 2) != 0) {
      snprintf(why, sizeof why, "unexpected argument '%s'", opt);
      return server_usage_fail(why);
    }
    if (!server_known(opt)) {
      snprintf(why, sizeof why, "unknown option '%s'", opt);
      return server_usage_fail(why);
    }
    if (i + 1 >= argc) {
      snprintf(why, sizeof why, "option %s needs a value", opt);
      return server_usage_fail(why);
    }
    int rc = server_option(a, opt, argv[++i]);
    if (rc != 0) return rc;
  }
  if ((a->cluster == NULL) != (a->id == NULL))
    return server_usage_fail(a->cluster ? "--cluster needs --id ID" : "--id needs --cluster FILE");
  if (a->loop.core.sessions_max > a->loop.core.accounts_max)
    a->loop.core.sessions_max = a->loop.core.accounts_max;
  return 0;
}

/* ---- --cluster ---------------------------------------------------------- */

/* Read the whole file (at most the parser's limit + 1 byte, so an oversized
 * one is reported by the parser). Returns the length, or -1 with errno. */
static long server_read_file(const char *path, uint8_t *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return -1;
  size_t n = fread(buf, 1, cap, f);
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    errno = EIO;
    return -1;
  }
  return (long)n;
}

static int server_cluster(const server_args *a) {
  static uint8_t text[CHORUS_CLUSTER_FILE_BYTES_MAX + 1];
  char why[SERVER_ERR_BYTES];
  long n = server_read_file(a->cluster, text, sizeof text);
  if (n < 0) {
    snprintf(why, sizeof why, "cannot read cluster file '%s': %s", a->cluster, strerror(errno));
    return server_usage_fail(why);
  }
  chorus_cluster c;
  chorus_cluster_error e;
  if (chorus_cluster_parse(text, (size_t)n, &c, &e) != 0) {
    char at[64] = "", also[64] = "", field[64] = "";
    if (e.line) snprintf(at, sizeof at, " line %zu", e.line);
    if (e.field[0]) snprintf(field, sizeof field, " ('%s')", e.field);
    if (e.other_line) snprintf(also, sizeof also, ", as on line %zu", e.other_line);
    snprintf(why, sizeof why, "cluster file '%s'%s: %s%s%s", a->cluster, at, e.why, field, also);
    return server_usage_fail(why);
  }
  int me = chorus_cluster_find(&c, a->id);
  if (me < 0) {
    snprintf(why, sizeof why, "--id '%s' is not in cluster file '%s'", a->id, a->cluster);
    return server_usage_fail(why);
  }
  if (a->loop.data_dir == NULL)
    return server_usage_fail("--cluster needs --data DIR: a replica keeps its log on disk");
  chorus_cluster_loop_config cc;
  memset(&cc, 0, sizeof cc);
  cc.cluster = &c;
  cc.self = (size_t)me;
  cc.data_dir = a->loop.data_dir;
  cc.core = a->loop.core;
  cc.stop_fd = a->loop.stop_fd;
  cc.log = a->loop.log;
  char err[SERVER_ERR_BYTES] = "";
  int rc = chorus_cluster_loop_run(&cc, err, sizeof err);
  if (rc == 2) return server_usage_fail(err);
  if (rc != 0) fprintf(stderr, "chorus server: %s\n", err);
  return rc;
}

/* ---- run ---------------------------------------------------------------- */

static void server_on_signal(int sig) {
  (void)sig;
  int saved = errno;
  if (server_stop_pipe[1] >= 0) {
    ssize_t k = write(server_stop_pipe[1], "x", 1);
    (void)k;
  }
  errno = saved;
}

static int server_signals(void) {
  if (pipe(server_stop_pipe) != 0) return -1;
  for (int i = 0; i < 2; i++) {
    int fl = fcntl(server_stop_pipe[i], F_GETFL);
    if (fl < 0 || fcntl(server_stop_pipe[i], F_SETFL, fl | O_NONBLOCK) != 0) return -1;
    (void)fcntl(server_stop_pipe[i], F_SETFD, FD_CLOEXEC);
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = server_on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  return 0;
}

int chorus_cmd_server(int argc, char **argv) {
  server_args a;
  int rc = server_parse(argc, argv, &a);
  if (rc != 0) return rc;
  if (a.help) {
    fputs(server_usage, stdout);
    return 0;
  }
  if (server_signals() != 0) {
    fprintf(stderr, "chorus server: cannot set up signal handling: %s\n", strerror(errno));
    return 1;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  a.loop.stop_fd = server_stop_pipe[0];
  a.loop.log = stdout;
  if (a.cluster) return server_cluster(&a);
  char err[SERVER_ERR_BYTES] = "";
  rc = chorus_server_loop_run(&a.loop, err, sizeof err);
  if (rc == 2) return server_usage_fail(err);
  if (rc != 0) fprintf(stderr, "chorus server: %s\n", err);
  return rc;
}
