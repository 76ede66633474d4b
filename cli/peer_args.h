/*
 * chorus_peer_args: the command line of `chorus peer`, parsed and checked
 * (syntax only: addresses are resolved later by the caller).
 */
#ifndef CHORUS_CLI_PEER_ARGS_H
#define CHORUS_CLI_PEER_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "peer.h"

#define CHORUS_PEER_ARGS_DELAY_MS_MAX 60000 /* --delay-ms upper bound */
#define CHORUS_PEER_ARGS_GRACE_MS_DEFAULT 5000 /* exit: wait for ACKs at most */
#define CHORUS_PEER_ARGS_GRACE_MS_MAX 600000
#define CHORUS_PEER_ARGS_SERVERS_MAX 4           /* --server list entries */
#define CHORUS_PEER_ARGS_SERVER_TEXT_BYTES 256   /* one HOST:PORT */
#define CHORUS_PEER_ROOM_DEFAULT "lobby"

typedef struct chorus_peer_args {
  const char *name;   /* --name (points into argv) */
  const char *listen; /* --listen HOST:PORT (points into argv) */
  size_t peer_count;  /* --peer entries, excluding self */
  char peer_names[CHORUS_MEMBERS_MAX][CHORUS_NAME_BYTES_MAX + 1];
  const char *peer_addrs[CHORUS_MEMBERS_MAX]; /* HOST:PORT part, into argv */
  size_t server_count;  /* --server HOST:PORT[,HOST:PORT...] entries */
  char servers[CHORUS_PEER_ARGS_SERVERS_MAX][CHORUS_PEER_ARGS_SERVER_TEXT_BYTES];
  const char *room;     /* --room, default "lobby" (with --server) */
  const char *password_file; /* --password-file (points into argv) */
  const char *log_file; /* --log FILE (points into argv), or NULL */
  const char *data_dir; /* --data DIR (points into argv), or NULL */
  int log_level;        /* --log-level: 0 error, 1 warn, 2 info (default), 3 debug */
  enum chorus_order order; /* --order, default CHORUS_ORDER_TOTAL */
  enum chorus_fd_mode fd_mode; /* --fd, default CHORUS_FD_MODE_DEFAULT */
  int json;           /* --json */
  int block;          /* --block: wait for window space instead of failing */
  size_t max_msg_bytes;         /* --max-msg, default CHORUS_MSG_BYTES_DEFAULT */
  uint32_t drop_ppm, dup_ppm;   /* --drop P, --dup P (P in 0..1) */
  uint32_t delay_ppm;           /* --delay P, default 1 when --delay-ms > 0 */
  uint32_t delay_ms;            /* --delay-ms MS */
  int seed_set;                 /* --seed N given */
  uint64_t seed;
  uint32_t epoch;               /* --epoch N, 0 = from the clock */
  uint32_t grace_ms;            /* --grace-ms: at exit, wait for ACKs */
  int help;                     /* --help: print usage, exit 0 */
} chorus_peer_args;

/* The usage text (ends with a newline). */
extern const char chorus_peer_args_usage[];

/*
 * chorus_peer_args_parse parses argv[1..argc) (argv[0] is "peer") into *out.
 * Returns 0, or -1 with a one-line reason (no newline) in err[0..err_bytes):
 * unknown option, missing value, bad number, probability, order or failure
 * detection profile, bad name,
 * duplicate name, more than CHORUS_MEMBERS_MAX members, missing --name or
 * --listen, --server together with --peer, more than 4 servers, a bad room
 * name, --room or --password-file without --server, a bad --log-level. With --help returns 0 and sets out->help (other checks skipped).
 */
int chorus_peer_args_parse(int argc, char **argv, chorus_peer_args *out, char *err,
                           size_t err_bytes);

#endif
