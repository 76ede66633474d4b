/*
 * chorus_server: the rendezvous, account and room server as a pure state
 * machine (sans-I/O), in the shape of core/peer.h.
 *
 * The driver (platform/server_loop.c, or a test) owns the clock, the socket
 * and the disk. It feeds:
 *
 *   chorus_server_load()   once, before anything else: the last snapshot
 *   chorus_server_recv()   a request datagram from client address `from`
 *   chorus_server_tick()   the deadline from chorus_server_deadline() passed
 *   chorus_server_entropy() fresh random bytes (optional, any time)
 *
 * and drains chorus_server_poll() until CHORUS_SERVER_OUT_NONE:
 *
 *   PERSIST   write this full snapshot durably (fsync) before going on
 *   RESPONSE  send this datagram to `to`
 *   EVENT     something to log ("signup alice"); never carries a password
 *   RECORD    replicated mode only: a state change to log (see the end)
 *
 * Every change a client is told about is followed by a PERSIST queued
 * before the RESPONSE that acknowledges it, so a driver that handles the
 * outputs in order never acknowledges what is not on disk.
 *
 * Same inputs, same outputs, byte for byte: no clock, no I/O, no globals;
 * salts and session tokens come from an HMAC-SHA256 generator keyed from
 * chorus_server_config.seed (through core/prng) and from any bytes given to
 * chorus_server_entropy. All memory is allocated by chorus_server_new.
 *
 * Accounts: name (1-31 of A-Z a-z 0-9 _ . -), PBKDF2-HMAC-SHA256 of the
 * password with a 16-byte random salt and the iteration count in force when
 * it was set (kept per account). After `lockout_failures` consecutive wrong
 * passwords (login or delete) the account refuses logins for `lockout_us`
 * (CHORUS_SRV_LOCKED_OUT, detail = ms left); a success resets the count.
 * Lock-out state is not persisted.
 *
 * Sessions: LOGIN returns a random 16-byte token; one session per account
 * (a new login replaces the old token). Any request with the token, or a
 * KEEPALIVE, renews the lease (`lease_us`); an expired session is dropped
 * at the next tick and its user leaves its room. Sessions are not
 * persisted: after a restart clients log in again.
 *
 * Rooms: at most `room_members_max` (<= CHORUS_MEMBERS_MAX) members; a user
 * is in at most one room (joining another leaves the first). Rooms and
 * their members (with the peer address each registered) are persisted; a
 * member restored from a snapshot has no session and keeps its place for
 * one lease after the load, so a restarted server does not empty its rooms
 * before the members could come back.
 *
 * Idempotency: the response to each request is kept in a reply cache keyed
 * by (client address, request id, request bytes); a duplicate gets the same
 * bytes again without being executed twice. An address keeps at most
 * CHORUS_SERVER_CACHE_PER_ADDR responses (the client's window); an entry is
 * otherwise evicted only once older than `cache_ttl_us`; when every entry is
 * younger the request is refused with CHORUS_SRV_BUSY (not executed). A
 * SIGNUP repeated by the same (address, request id, password) after a
 * restart (cache lost) is answered OK again, since the account records who
 * created it.
 */
#ifndef CHORUS_SERVER_H
#define CHORUS_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "peer.h"
#include "srvwire.h"

/* Limits and defaults. */
#define CHORUS_SERVER_ACCOUNTS_DEFAULT 1024
#define CHORUS_SERVER_ACCOUNTS_LIMIT 65535 /* USERS total is a u16 */
#define CHORUS_SERVER_ROOMS_DEFAULT 64
#define CHORUS_SERVER_ROOMS_LIMIT 4096
#define CHORUS_SERVER_SESSIONS_DEFAULT 256 /* at most accounts_max */
#define CHORUS_SERVER_CACHE_DEFAULT 512    /* reply cache entries */
#define CHORUS_SERVER_CACHE_LIMIT 65536
#define CHORUS_SERVER_CACHE_PER_ADDR 8     /* = CHORUS_CLIENT_PENDING_MAX */
#define CHORUS_SERVER_ITERATIONS_DEFAULT 600000 /* PBKDF2, the OWASP floor */
#define CHORUS_SERVER_ITERATIONS_MAX 100000000
#define CHORUS_SERVER_LEASE_US_DEFAULT 30000000ull   /* 30 s */
#define CHORUS_SERVER_LOCKOUT_FAILURES_DEFAULT 5
#define CHORUS_SERVER_LOCKOUT_US_DEFAULT 30000000ull /* 30 s */
#define CHORUS_SERVER_CACHE_TTL_US_DEFAULT 60000000ull /* > a client's deadline */
#define CHORUS_SERVER_DURATION_US_MAX 86400000000ull /* any duration: 1 day */
#define CHORUS_SERVER_OUTQ_MAX 32       /* pending outputs */
#define CHORUS_SERVER_OUT_PER_INPUT 8   /* outputs one request can queue */
#define CHORUS_SERVER_RECORDS_PER_INPUT 3 /* RECORDs one request or one
                                             expiry can queue */
#define CHORUS_SERVER_SALT_BYTES 16
#define CHORUS_SERVER_HASH_BYTES 32

/* Snapshot format (see chorus_server_snapshot_encode). */
#define CHORUS_SERVER_SNAPSHOT_VERSION 3 /* 2 added room seats, 3 the mailbox */
#define CHORUS_SERVER_SNAPSHOT_HEADER_BYTES 28
#define CHORUS_SERVER_SNAPSHOT_ACCOUNT_BYTES_MAX \
  (1 + CHORUS_NAME_BYTES_MAX + CHORUS_SERVER_SALT_BYTES + CHORUS_SERVER_HASH_BYTES + 4 + \
   (1 + CHORUS_SRV_ADDR_BYTES_MAX) + 4 + (1 + CHORUS_SRV_ADDR_BYTES_MAX))
#define CHORUS_SERVER_SNAPSHOT_ROOM_BYTES_MAX \
  (1 + CHORUS_NAME_BYTES_MAX + 1 + CHORUS_MEMBERS_MAX * (1 + CHORUS_NAME_BYTES_MAX))

typedef struct chorus_server_config {
  size_t accounts_max;     /* 1..CHORUS_SERVER_ACCOUNTS_LIMIT, default 1024 */
  size_t rooms_max;        /* 1..CHORUS_SERVER_ROOMS_LIMIT, default 64 */
  size_t sessions_max;     /* 1..accounts_max, default 256 */
  size_t room_members_max; /* 1..CHORUS_MEMBERS_MAX, default CHORUS_MEMBERS_MAX */
  size_t cache_entries;    /* 1..CHORUS_SERVER_CACHE_LIMIT, default 512 */
  uint32_t iterations;     /* PBKDF2 rounds for new passwords, 1..1e8,
                              default 600,000 (tests use small counts) */
  uint64_t lease_us;       /* session lease, default 30 s */
  uint32_t lockout_failures; /* wrong passwords before a lock-out, >= 1,
                                default 5 */
  uint64_t lockout_us;     /* lock-out duration, default 30 s */
  uint64_t cache_ttl_us;   /* reply cache: youngest evictable age, 60 s */
  uint64_t seed;           /* seeds the salt and token generator */
  size_t mailbox_messages; /* offline messages held, 1..65535, default 256 */
  size_t mailbox_marks;    /* (sender, recipient) pairs remembered for
                              idempotent stores, 1..65535, default 1024 */
  int replicated;          /* 0: PERSIST snapshots; 1: one replica of a
                              cluster: RECORD outputs (see below) */
} chorus_server_config;

enum chorus_server_out_kind {
  CHORUS_SERVER_OUT_NONE = 0,
  CHORUS_SERVER_OUT_PERSIST = 1,  /* data[0..len): a full snapshot */
  CHORUS_SERVER_OUT_RESPONSE = 2, /* data[0..len): a datagram for `to` */
  CHORUS_SERVER_OUT_EVENT = 3,    /* event, user, room, detail */
  CHORUS_SERVER_OUT_RECORD = 4,   /* replicated: data[0..len) is a state
                                     change (core/srvrec.h) already applied;
                                     log it before the RESPONSEs after it */
};

enum chorus_server_event {
  CHORUS_SERVER_EV_SIGNUP = 0,
  CHORUS_SERVER_EV_LOGIN = 1,
  CHORUS_SERVER_EV_LOGIN_FAILED = 2, /* wrong password; detail = failures */
  CHORUS_SERVER_EV_LOCKED_OUT = 3,   /* detail = lock-out in ms */
  CHORUS_SERVER_EV_LOGOUT = 4,
  CHORUS_SERVER_EV_EXPIRED = 5,      /* session lease ran out */
  CHORUS_SERVER_EV_DELETE = 6,
  CHORUS_SERVER_EV_ROOM_CREATE = 7,
  CHORUS_SERVER_EV_JOIN = 8,         /* detail = members now */
  CHORUS_SERVER_EV_LEAVE = 9,        /* detail = members now */
  CHORUS_SERVER_EV_MSG_STORE = 10,   /* user = recipient, detail = waiting */
  CHORUS_SERVER_EV_MSG_ACK = 11,     /* detail = messages deleted */
};

/* One output. `data` points into the caller's buffer given to poll. */
typedef struct chorus_server_output {
  enum chorus_server_out_kind kind;
  chorus_srv_addr to;       /* RESPONSE: the client's address */
  const uint8_t *data;      /* PERSIST, RESPONSE */
  size_t len;               /* bytes at data */
  uint64_t snapshot_seq;    /* PERSIST: 1, 2, ... (continues a loaded one) */
  enum chorus_server_event event; /* EVENT */
  char user[CHORUS_NAME_BYTES_MAX + 1]; /* EVENT: the account ("" if none) */
  char room[CHORUS_NAME_BYTES_MAX + 1]; /* EVENT: the room ("" if none) */
  uint32_t detail;          /* EVENT: see enum chorus_server_event */
} chorus_server_output;

/* Counters. Every datagram that is not executed is counted by reason. */
typedef struct chorus_server_stats {
  uint64_t requests;        /* executed */
  uint64_t duplicates;      /* answered from the reply cache */
  uint64_t rx_too_big, rx_truncated, rx_bad_magic, rx_bad_version, rx_bad_frame;
  uint64_t busy;            /* refused: reply cache full (CHORUS_SRV_BUSY) */
  uint64_t queue_full;      /* recv refused: output queue full */
  uint64_t persists;        /* snapshots handed out */
  uint64_t expired;         /* sessions and restored memberships expired */
  uint64_t failed_logins;
  uint32_t accounts, rooms, sessions, cache_used;
} chorus_server_stats;

typedef struct chorus_server chorus_server;

/* Fill `cfg` with the defaults above (seed 0). */
void chorus_server_config_default(chorus_server_config *cfg);

/*
 * chorus_server_new allocates a server with every buffer it will use. On
 * success stores it in *out (owned by the caller; chorus_server_free) and
 * returns 0. Errors: CHORUS_ERR_INVAL (NULL argument), CHORUS_ERR_CONFIG (a
 * limit out of its range above, a zero duration or one above
 * CHORUS_SERVER_DURATION_US_MAX), CHORUS_ERR_NOMEM.
 */
int chorus_server_new(const chorus_server_config *cfg, chorus_server **out);

/* chorus_server_free releases everything, wiping password hashes and
 * tokens first; NULL is allowed. */
void chorus_server_free(chorus_server *srv);

/*
 * chorus_server_entropy mixes bytes[0..len) into the salt and token
 * generator (HMAC-SHA256 of the key and the bytes). Call it with bytes from
 * the system's entropy source; a deterministic run may never call it.
 * The bytes are not kept. Returns 0, or CHORUS_ERR_INVAL (NULL with len > 0).
 */
int chorus_server_entropy(chorus_server *srv, const uint8_t *bytes, size_t len);

/*
 * chorus_server_load restores snapshot data[0..len) (as written by a
 * PERSIST output) into a server that has not yet received anything. The
 * bytes are copied. Restored room members keep their place until
 * now_us + lease_us. Returns 0, or (with *why set to a static sentence, the
 * server left empty):
 *   CHORUS_ERR_INVAL        NULL argument, or the server was already used;
 *   CHORUS_ERR_BAD_MAGIC    not a chorus server snapshot;
 *   CHORUS_ERR_BAD_VERSION  a snapshot version this build does not read;
 *   CHORUS_ERR_TRUNCATED    shorter than its header says (a torn file);
 *   CHORUS_ERR_BAD_FRAME    checksum mismatch or a malformed field
 *                           (corruption);
 *   CHORUS_ERR_CONFIG       valid, but more accounts, rooms or room members
 *                           than this server's limits allow.
 * Loading empty data (len 0) is not allowed: a missing snapshot is the
 * driver's business (start empty without calling load).
 */
int chorus_server_load(chorus_server *srv, uint64_t now_us, const uint8_t *data,
                       size_t len, const char **why);

/*
 * chorus_server_recv handles one datagram data[0..len) from client address
 * `from` (an opaque blob, copied) at now_us. Well-formed requests are
 * executed (or answered from the reply cache); a request that can be
 * answered but not parsed gets CHORUS_SRV_BAD_REQUEST, BAD_VERSION or
 * UNKNOWN_OP. Returns 0 when it queued an answer, or the reason nothing was
 * queued (counted in stats): CHORUS_ERR_TOO_BIG, CHORUS_ERR_TRUNCATED (too
 * short to carry a request id), CHORUS_ERR_BAD_MAGIC, CHORUS_ERR_BAD_FRAME (a
 * response datagram), CHORUS_ERR_QUEUE_FULL (fewer than
 * CHORUS_SERVER_OUT_PER_INPUT free output slots: poll, then the client's
 * retransmission is executed), CHORUS_ERR_INVAL (NULL argument, or
 * from->len above 28).
 */
int chorus_server_recv(chorus_server *srv, uint64_t now_us, const chorus_srv_addr *from,
                       const uint8_t *data, size_t len);

/*
 * chorus_server_tick expires sessions and restored memberships whose lease
 * ended by now_us (EVENTs, then one PERSIST if a room changed). It stops
 * early when the output queue runs short; the deadline then stays due, so
 * poll and tick again. Calling it early is harmless.
 */
void chorus_server_tick(chorus_server *srv, uint64_t now_us);

/*
 * chorus_server_poll takes the next output into *out. buf (owned by the
 * caller, cap_bytes at least chorus_server_poll_bytes_min) receives the
 * snapshot or the datagram; out->data points into it. Returns 0 (out->kind
 * CHORUS_SERVER_OUT_NONE when nothing is pending), CHORUS_ERR_NOBUF (cap too
 * small; the output stays queued) or CHORUS_ERR_INVAL.
 */
int chorus_server_poll(chorus_server *srv, chorus_server_output *out, uint8_t *buf,
                       size_t cap_bytes);

/* Smallest poll buffer: the largest snapshot of this server's limits (at
 * least CHORUS_SRV_DATAGRAM_BYTES_MAX). */
size_t chorus_server_poll_bytes_min(const chorus_server *srv);

/* Time (µs, the now_us clock) at which chorus_server_tick must next run, or
 * UINT64_MAX if nothing expires. Poll first. */
uint64_t chorus_server_deadline(const chorus_server *srv);

/*
 * chorus_server_snapshot_encode writes the current state as a snapshot
 * (sequence number unchanged) into buf[0..cap_bytes) and returns its
 * length, or CHORUS_ERR_NOBUF. Layout, big-endian:
 *
 *   0  magic 4 'C' 'S' 'N' 'P' | 4 version u16 (1) | 6 flags u16 (0)
 *   8  seq u64 | 16 length u32 (whole snapshot) | 20 accounts u32 |
 *   24 rooms u32
 *   accounts, strictly ascending by name (bytes):
 *     name str8 | salt 16 | hash 32 | iterations u32 |
 *     creator addr (len u8 + bytes) | creator rid u32 | peer addr
 *   rooms, strictly ascending by name:
 *     name str8 | n u8 | n * (seat u8, member name str8) (join order)
 *   the offline messages: see chorus_mailbox_encode
 *   SHA-256 (32 bytes) of everything before it
 *
 * A loaded snapshot re-encodes to the same bytes.
 */
int chorus_server_snapshot_encode(const chorus_server *srv, uint8_t *buf,
                                  size_t cap_bytes);

/*
 * chorus_server_room_members fills *out (room, count, members) with room
 * `room` as a ROOM_MEMBERS answer would list it at now_us; count 0 if there
 * is no such room. For tests and the simulator's checker. Returns 0 or
 * CHORUS_ERR_INVAL (NULL argument).
 */
int chorus_server_room_members(const chorus_server *srv, uint64_t now_us, const char *room,
                               chorus_srv_response *out);

/* Copy the counters. */
void chorus_server_stats_get(const chorus_server *srv, chorus_server_stats *out);

/* ---- replicated mode (cfg.replicated, core/replica.h) ------------------- */
/*
 * In replicated mode a change is never persisted as a snapshot: the server
 * applies it and queues a RECORD output (core/srvrec.h) before the
 * RESPONSE; the driver appends it to the replicated log and holds the
 * response until the record is committed. Only the leader executes
 * requests (chorus_server_set_leading); followers apply the leader's
 * records in log order with chorus_server_apply and so reach the same
 * state. Sessions, lock-outs and the reply cache stay local to a replica
 * (a client logs in again after a failover). The snapshot
 * (chorus_server_snapshot_encode) is the state after the records applied
 * so far; chorus_server_load restores it.
 */

/*
 * chorus_server_apply applies one record data[0..len) at now_us (a
 * follower, or a leader replaying its log). Queues EVENTs only. Returns 0,
 * or CHORUS_ERR_BAD_FRAME (not a record) or CHORUS_ERR_CONFIG (the record
 * does not fit the state or the limits: replicas diverged or the limits
 * differ; the caller stops) or CHORUS_ERR_QUEUE_FULL (fewer than
 * CHORUS_SERVER_OUT_PER_INPUT free outputs: poll first).
 */
int chorus_server_apply(chorus_server *srv, uint64_t now_us, const uint8_t *data, size_t len);

/*
 * chorus_server_set_leading switches the role at now_us. Becoming the
 * leader gives every room member without a session a fresh lease (it may
 * come back to this leader); ceasing drops every session (tokens wiped).
 */
void chorus_server_set_leading(chorus_server *srv, uint64_t now_us, int leading);

/* Output slots free (the driver checks room before a request or tick). */
size_t chorus_server_out_free(const chorus_server *srv);

/* "signup", "login", ... for logs; "unknown" otherwise. Never NULL. */
const char *chorus_server_event_name(int event);

/* ---- cluster file (SPEC section 3) -------------------------------------- */

#define CHORUS_CLUSTER_REPLICAS_MAX 9
#define CHORUS_CLUSTER_HOST_BYTES_MAX 255
#define CHORUS_CLUSTER_LINE_BYTES_MAX 1024
#define CHORUS_CLUSTER_FILE_BYTES_MAX 65536

/* One replica line: ID HOST CLIENT_PORT PEER_PORT PRIORITY. */
typedef struct chorus_cluster_replica {
  char id[CHORUS_NAME_BYTES_MAX + 1];       /* name alphabet, unique */
  char host[CHORUS_CLUSTER_HOST_BYTES_MAX + 1]; /* name, IPv4, IPv6 (bare or
                                                   in brackets) */
  uint16_t client_port;                     /* 1..65535 */
  uint16_t peer_port;                       /* 1..65535 */
  uint32_t priority;                        /* unique; higher wins (Bully) */
  size_t line;                              /* 1-based line number */
} chorus_cluster_replica;

typedef struct chorus_cluster {
  size_t count; /* 1..CHORUS_CLUSTER_REPLICAS_MAX */
  chorus_cluster_replica replicas[CHORUS_CLUSTER_REPLICAS_MAX];
} chorus_cluster;

/* Where and why a cluster file was refused. */
typedef struct chorus_cluster_error {
  size_t line;       /* 1-based; 0 for the file as a whole */
  const char *why;   /* static sentence, never NULL after an error */
  char field[CHORUS_NAME_BYTES_MAX + 1]; /* the offending field, cut to 31
                                            printable bytes ("" if none) */
  size_t other_line; /* for duplicates: the line it clashes with, else 0 */
} chorus_cluster_error;

/*
 * chorus_cluster_parse parses a cluster file text[0..len): one replica per
 * line, fields separated by spaces or tabs, '#' starts a comment running to
 * the end of the line, blank lines and CRLF endings allowed. A total
 * decoder: any bytes give a cluster or an error. Returns 0, or with *err
 * filled: CHORUS_ERR_TOO_BIG (file above 64 KiB, or a line above 1024
 * bytes), CHORUS_ERR_BAD_FRAME (a NUL or control byte, wrong field count,
 * bad ID, host, port or priority, duplicate ID, priority or address),
 * CHORUS_ERR_CONFIG (no replica, or more than CHORUS_CLUSTER_REPLICAS_MAX),
 * CHORUS_ERR_INVAL (NULL argument).
 */
int chorus_cluster_parse(const uint8_t *text, size_t len, chorus_cluster *out,
                         chorus_cluster_error *err);

/* Index of replica `id` in c, or -1. */
int chorus_cluster_find(const chorus_cluster *c, const char *id);

#endif
