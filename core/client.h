/*
 * chorus_client: the client side of the server protocol (core/srvwire.h) as
 * a pure state machine: requests go out, are retransmitted with
 * exponential backoff, fail over to the next server of a list, and end in a
 * response or, after a deadline, in "server unreachable".
 *
 * The driver owns the socket and the clock and calls:
 *
 *   chorus_client_submit()  send a request (up to CHORUS_CLIENT_PENDING_MAX
 *                           at once)
 *   chorus_client_recv()    a datagram arrived from address `from`
 *   chorus_client_tick()    the deadline from chorus_client_deadline() passed
 *
 * then drains chorus_client_poll() until CHORUS_CLIENT_OUT_NONE: DATAGRAMs
 * to send to a server, RESPONSEs (decoded) and UNREACHABLE results.
 *
 * Retransmission: the first copy goes to the current server; each RTO
 * (initial rto_us, doubled per retransmission up to rto_max_us) sends it
 * again, and after tries_per_server unanswered copies the request (and the
 * client, for later requests) moves to the next server in the list, with a
 * fresh RTO. A request unanswered deadline_us after its submission ends
 * with CHORUS_CLIENT_OUT_UNREACHABLE (status CHORUS_SRV_UNREACHABLE).
 * Cluster: an answer CHORUS_SRV_NOT_LEADER or CHORUS_SRV_NO_QUORUM from the
 * server a request is at (with more than one server configured) is not a
 * result: the request moves to the next server, sent after
 * CHORUS_CLIENT_REDIRECT_US, so it finds the leader by itself; if the
 * deadline passes the UNREACHABLE result carries the last such status.
 * After a failover the session token of the old leader is unknown to the
 * new one (NOT_LOGGED_IN): the caller logs in again.
 * Request ids count up from a value drawn from the seed; a retransmission
 * keeps its id, so the server's reply cache answers duplicates.
 *
 * Sessions are the caller's: it copies the token of a LOGIN response into
 * later requests (chorus_srv_request.token).
 *
 * Pure: no I/O, no clock, no globals; all memory allocated at creation.
 */
#ifndef CHORUS_CLIENT_H
#define CHORUS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "srvwire.h"

#define CHORUS_CLIENT_SERVERS_MAX 9 /* every replica of a cluster */
#define CHORUS_CLIENT_PENDING_MAX 8 /* requests in flight or results unpolled */
#define CHORUS_CLIENT_RTO_US_DEFAULT 250000ull      /* 250 ms */
#define CHORUS_CLIENT_RTO_MAX_US_DEFAULT 2000000ull /* 2 s */
#define CHORUS_CLIENT_DEADLINE_US_DEFAULT 10000000ull /* 10 s */
#define CHORUS_CLIENT_TRIES_PER_SERVER_DEFAULT 3
#define CHORUS_CLIENT_DURATION_US_MAX 3600000000ull /* 1 hour */
#define CHORUS_CLIENT_REDIRECT_US 20000ull /* pause before the next server
                                              after NOT_LEADER/NO_QUORUM */

typedef struct chorus_client_config {
  chorus_srv_addr servers[CHORUS_CLIENT_SERVERS_MAX]; /* opaque addresses */
  size_t server_count;       /* 1..CHORUS_CLIENT_SERVERS_MAX */
  uint64_t rto_us;           /* first retransmission timeout, default 250 ms */
  uint64_t rto_max_us;       /* backoff cap, >= rto_us, default 2 s */
  uint64_t deadline_us;      /* give up after, default 10 s */
  uint32_t tries_per_server; /* copies sent before failing over, >= 1, default 3 */
  uint64_t seed;             /* first request id */
} chorus_client_config;

enum chorus_client_out_kind {
  CHORUS_CLIENT_OUT_NONE = 0,
  CHORUS_CLIENT_OUT_DATAGRAM = 1,    /* send data[0..len) to servers[server] */
  CHORUS_CLIENT_OUT_RESPONSE = 2,    /* resp holds the server's answer */
  CHORUS_CLIENT_OUT_UNREACHABLE = 3, /* no answer before the deadline */
};

typedef struct chorus_client_output {
  enum chorus_client_out_kind kind;
  size_t server;          /* DATAGRAM: index; RESPONSE: which one answered */
  chorus_srv_addr to;     /* DATAGRAM: servers[server] */
  const uint8_t *data;    /* DATAGRAM: valid until the next client call */
  size_t len;
  uint32_t rid;           /* the request's id */
  uint8_t op;             /* the request's opcode */
  uint64_t tag;           /* the caller's tag from submit */
  uint32_t sends;         /* RESPONSE, UNREACHABLE: copies sent */
  chorus_srv_response resp; /* RESPONSE. status CHORUS_SRV_BAD_VERSION with
                               detail = the server's version when it speaks
                               another version. UNREACHABLE: status
                               CHORUS_SRV_UNREACHABLE, or the last
                               NOT_LEADER / NO_QUORUM a cluster answered. */
} chorus_client_output;

typedef struct chorus_client_stats {
  uint64_t submitted, sent, retransmits, failovers;
  uint64_t responses, unreachable;
  uint64_t late;            /* responses to no pending request (duplicates) */
  uint64_t redirects;       /* NOT_LEADER / NO_QUORUM answers followed */
  uint64_t rx_unknown_sender, rx_bad; /* not from a server; malformed */
  uint32_t pending;         /* requests in flight */
  size_t current;           /* server the next request goes to */
} chorus_client_stats;

typedef struct chorus_client chorus_client;

/* Defaults above; servers still have to be set. */
void chorus_client_config_default(chorus_client_config *cfg);

/*
 * chorus_client_new allocates a client. Stores it in *out (owned by the
 * caller; chorus_client_free) and returns 0. Errors: CHORUS_ERR_INVAL (NULL
 * argument), CHORUS_ERR_CONFIG (no server or more than 9, an address longer
 * than 28 bytes, a zero duration or one above an hour, rto_max_us below
 * rto_us, tries_per_server 0), CHORUS_ERR_NOMEM.
 */
int chorus_client_new(const chorus_client_config *cfg, chorus_client **out);

/* chorus_client_free releases everything (pending requests are dropped,
 * their passwords wiped); NULL is allowed. */
void chorus_client_free(chorus_client *c);

/*
 * chorus_client_submit encodes request *req (copied; its rid is ignored and
 * replaced) and queues its first transmission at now_us. `tag` comes back in
 * the result. On success stores the request id in *rid (may be NULL) and
 * returns 0. Errors: CHORUS_ERR_INVAL (NULL argument, or the request does
 * not encode, see chorus_srv_request_encode), CHORUS_ERR_QUEUE_FULL
 * (CHORUS_CLIENT_PENDING_MAX requests in flight or results unpolled: poll
 * or wait for results first).
 */
int chorus_client_submit(chorus_client *c, uint64_t now_us, const chorus_srv_request *req,
                         uint64_t tag, uint32_t *rid);

/*
 * chorus_client_recv handles one datagram data[0..len) from address `from`.
 * A response to a pending request completes it (a RESPONSE output); one to
 * no pending request is counted as late and ignored. Returns 0, or (counted,
 * nothing changes) CHORUS_ERR_UNKNOWN_SENDER (from is not a configured
 * server), or a decode error of chorus_srv_response_decode
 * (CHORUS_ERR_BAD_VERSION only when no pending request matches), or
 * CHORUS_ERR_INVAL (NULL argument).
 */
int chorus_client_recv(chorus_client *c, uint64_t now_us, const chorus_srv_addr *from,
                       const uint8_t *data, size_t len);

/* chorus_client_tick retransmits, fails over and gives up as due at now_us.
 * Calling it early is harmless. */
void chorus_client_tick(chorus_client *c, uint64_t now_us);

/*
 * chorus_client_poll takes the next output into *out: first datagrams to
 * send, then results in completion order. Returns 0 (out->kind
 * CHORUS_CLIENT_OUT_NONE when nothing is pending) or CHORUS_ERR_INVAL.
 */
int chorus_client_poll(chorus_client *c, chorus_client_output *out);

/* When chorus_client_tick must next run (µs, the now_us clock), or
 * UINT64_MAX if nothing is pending. Poll first. */
uint64_t chorus_client_deadline(const chorus_client *c);

/* Copy the counters. */
void chorus_client_stats_get(const chorus_client *c, chorus_client_stats *out);

#endif
