/*
 * chorus_session: how a peer talks to the chorus servers. One UDP socket of
 * its own and the core's client state machine (core/client.h), which
 * retransmits, fails over along the server list and gives up at a deadline;
 * this module only carries its datagrams and waits in poll().
 *
 * Calls block until the answer or the deadline and are serialised by a
 * mutex, so the input thread (/users, /rooms, /join) and the peer's
 * background registration can share one session. The session token of the
 * last LOGIN is remembered and put into every later request.
 */
#ifndef CHORUS_PLATFORM_SESSION_H
#define CHORUS_PLATFORM_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "srvwire.h"
#include "udp.h"

#define CHORUS_SESSION_DEADLINE_US_DEFAULT 4000000ull /* one request, all servers */

typedef struct chorus_session chorus_session;

/*
 * chorus_session_new opens a socket of the servers' address family and a
 * client for servers[0..count) (1..CHORUS_CLIENT_SERVERS_MAX), each request
 * given up after deadline_us. `seed` draws the first request id. Stores the
 * session in *out (chorus_session_free) and returns 0; -1 with a sentence in
 * err[0..err_bytes) when the socket, the client or the mutex cannot be made.
 */
int chorus_session_new(const chorus_udp_addr *servers, size_t count, uint64_t seed,
                       uint64_t deadline_us, chorus_session **out, char *err,
                       size_t err_bytes);

/* chorus_session_free closes the socket and wipes the token; NULL is
 * allowed. No call may be running. */
void chorus_session_free(chorus_session *s);

/*
 * chorus_session_call sends *req (its token replaced by the session's, its
 * rid by the client's) and waits for the answer, stored in *resp. A LOGIN
 * answered OK makes its token the session's. Returns the answer's status:
 * CHORUS_SRV_OK, a server's error status, or CHORUS_SRV_UNREACHABLE (no
 * server answered before the deadline, or the socket failed).
 */
int chorus_session_call(chorus_session *s, chorus_srv_request *req, chorus_srv_response *resp);

/* chorus_session_logged_out forgets the token (the server said
 * NOT_LOGGED_IN, or the user logged out). */
void chorus_session_logged_out(chorus_session *s);

#endif
