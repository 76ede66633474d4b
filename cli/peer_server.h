/*
 * chorus_peer_srv: `chorus peer --server`: log in to the chorus servers,
 * join a room, learn its members (name, seat, address) and keep learning
 * them while the node runs.
 *
 * The seat the server gives each member of a room is the member's slot in
 * the peer's core (chorus_peer_config.slots). A watcher thread asks the
 * server for the room's members every CHORUS_PEER_SRV_REFRESH_MS (and at
 * once when the network loop reports a stranger) and names new occupants
 * of seats in the loop (chorus_loop_set_member); the core then admits them
 * with a view change. The same request keeps the session alive. When no
 * server answers the peers go on chatting and the watcher keeps trying;
 * when a server answers again but has forgotten the session (it
 * restarted), the watcher logs in and joins the room again (re-registers).
 *
 * Offline messages (SPEC section 6): a private message to a user who is not
 * in the room is queued here (at most CHORUS_PEER_SRV_OUTBOX_MAX) and
 * stored on the server by the watcher, one at a time in order, retried with
 * the same (epoch, id) until the server says it is durable; only then does
 * it leave the queue. The watcher also fetches the messages that waited for
 * this user, shows each once (duplicates after a lost ACK are recognised by
 * sender, epoch and id) and acknowledges them.
 */
#ifndef CHORUS_CLI_PEER_SERVER_H
#define CHORUS_CLI_PEER_SERVER_H

#include <stddef.h>

#include "loop.h"
#include "peer_args.h"
#include "peer_show.h"
#include "udp.h"

#define CHORUS_PEER_SRV_REFRESH_MS 1000
#define CHORUS_PEER_SRV_ERR_BYTES 512
#define CHORUS_PEER_SRV_OUTBOX_MAX 64  /* offline messages not yet stored */
#define CHORUS_PEER_SRV_SENDERS_MAX 64 /* senders remembered for duplicates */

typedef struct chorus_peer_srv chorus_peer_srv;

/* A room as the server lists it: the name of each seat ("" if free). */
typedef struct chorus_peer_roster {
  char names[CHORUS_MEMBERS_MAX][CHORUS_NAME_BYTES_MAX + 1];
  chorus_udp_addr addrs[CHORUS_MEMBERS_MAX];
  size_t self; /* our seat */
} chorus_peer_roster;

/*
 * chorus_peer_srv_open resolves the --server list, reads the password
 * (--password-file, else the terminal without echo), and logs in as
 * args->name, creating the account if the server does not know it. `local`
 * is the peer socket's bound address: the address registered for the
 * others is it, with a wildcard host replaced by the host's address toward
 * the first server. Returns 0 with *out set, 2 on bad usage, 1 on a runtime
 * failure (no server answers, wrong password, ...), with a sentence in err.
 */
int chorus_peer_srv_open(const chorus_peer_args *args, chorus_show *view,
                         const chorus_udp_addr *local, chorus_peer_srv **out, char *err,
                         size_t err_bytes);

/* chorus_peer_srv_free stops the watcher, logs out (best effort) and frees. */
void chorus_peer_srv_free(chorus_peer_srv *s);

/*
 * chorus_peer_srv_join joins `room` (created if missing) and fills *roster.
 * Returns 0, or 1 with a sentence in err ("room full", "no server
 * answers", ...).
 */
int chorus_peer_srv_join(chorus_peer_srv *s, const char *room, chorus_peer_roster *roster,
                         char *err, size_t err_bytes);

/* chorus_peer_srv_leave leaves the room at the server (best effort). */
void chorus_peer_srv_leave(chorus_peer_srv *s);

/* chorus_peer_srv_watch starts the watcher for `loop` (which must outlive
 * chorus_peer_srv_unwatch). Returns 0 or -1 (thread creation failed). */
int chorus_peer_srv_watch(chorus_peer_srv *s, chorus_loop *loop);

/* chorus_peer_srv_unwatch stops the watcher and waits for it. */
void chorus_peer_srv_unwatch(chorus_peer_srv *s);

/* The loop's event callback in server mode (ctx: the chorus_peer_srv):
 * passes every event to the view and wakes the watcher on a stranger. */
void chorus_peer_srv_on_event(void *ctx, const chorus_loop_event *ev);

/* The seat of member `name` in the room as last listed, or -1. */
int chorus_peer_srv_find(chorus_peer_srv *s, const char *name);

/*
 * chorus_peer_srv_offline queues text[0..len_bytes) for user `to`, who is
 * not in the room, to be stored on the server. Returns 0, or -1 with a
 * sentence in err: the queue is full, the text is longer than
 * CHORUS_SRV_MSG_BYTES_MAX, or `to` is not a valid name.
 */
int chorus_peer_srv_offline(chorus_peer_srv *s, const char *to, const uint8_t *text,
                            size_t len_bytes, char *err, size_t err_bytes);

/* chorus_peer_srv_finish, at exit (the watcher stopped): one last try to
 * store the queued offline messages; warns about any left. */
void chorus_peer_srv_finish(chorus_peer_srv *s);

/* /rooms and /users [PATTERN]: ask the server, show the answer. */
void chorus_peer_srv_rooms(chorus_peer_srv *s);
void chorus_peer_srv_users(chorus_peer_srv *s, const char *pattern);

#endif
