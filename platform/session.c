#include "session.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "server_loop.h"

#define SESSION_RX_BYTES 2048  /* above 1200: oversized answers are seen, counted */
#define SESSION_WAIT_MS_MAX 1000

struct chorus_session {
  pthread_mutex_t mu; /* one call at a time */
  int fd;
  chorus_client *client;
  chorus_udp_addr addrs[CHORUS_CLIENT_SERVERS_MAX];
  uint8_t token[CHORUS_SRV_TOKEN_BYTES];
  uint8_t rx[SESSION_RX_BYTES];
};

static int session_client(chorus_session *s, const chorus_udp_addr *servers, size_t count,
                          uint64_t seed, uint64_t deadline_us) {
  chorus_client_config cc;
  chorus_client_config_default(&cc);
  for (size_t i = 0; i < count; i++) {
    if (chorus_server_loop_addr_pack(&servers[i], &cc.servers[i]) != 0) return -1;
    s->addrs[i] = servers[i];
  }
  cc.server_count = count;
  cc.seed = seed;
  cc.deadline_us = deadline_us;
  return chorus_client_new(&cc, &s->client) == CHORUS_OK ? 0 : -1;
}

int chorus_session_new(const chorus_udp_addr *servers, size_t count, uint64_t seed,
                       uint64_t deadline_us, chorus_session **out, char *err,
                       size_t err_bytes) {
  if (count == 0 || count > CHORUS_CLIENT_SERVERS_MAX) {
    snprintf(err, err_bytes, "give 1 to %d servers", CHORUS_CLIENT_SERVERS_MAX);
    return -1;
  }
  chorus_session *s = calloc(1, sizeof *s);
  if (!s) {
    snprintf(err, err_bytes, "out of memory");
    return -1;
  }
  s->fd = -1;
  chorus_udp_addr any;
  memset(&any, 0, sizeof any);
  any.ss.ss_family = servers[0].ss.ss_family;
  any.len = servers[0].len;
  if (chorus_udp_open(&any, 0, &s->fd, err, err_bytes) != CHORUS_UDP_OK) {
    free(s);
    return -1;
  }
  if (session_client(s, servers, count, seed, deadline_us) != 0 ||
      pthread_mutex_init(&s->mu, NULL) != 0) {
    snprintf(err, err_bytes, "cannot set up the server client");
    chorus_client_free(s->client);
    chorus_udp_close(s->fd);
    free(s);
    return -1;
  }
  *out = s;
  return 0;
}

void chorus_session_free(chorus_session *s) {
  if (!s) return;
  chorus_client_free(s->client);
  chorus_udp_close(s->fd);
  pthread_mutex_destroy(&s->mu);
  memset(s->token, 0, sizeof s->token);
  free(s);
}

/* Send what the client queued; take the result for `rid` if it is there.
 * Returns 1 with *status set when the request ended. */
static int session_outputs(chorus_session *s, uint32_t rid, chorus_srv_response *resp,
                           int *status) {
  int done = 0;
  chorus_client_output o;
  while (chorus_client_poll(s->client, &o) == 0 && o.kind != CHORUS_CLIENT_OUT_NONE) {
    if (o.kind == CHORUS_CLIENT_OUT_DATAGRAM) {
      chorus_udp_send(s->fd, &s->addrs[o.server], o.data, o.len); /* loss: retransmitted */
    } else if (o.rid == rid) {
      *resp = o.resp;
      *status = o.kind == CHORUS_CLIENT_OUT_RESPONSE ? o.resp.status : CHORUS_SRV_UNREACHABLE;
      done = 1;
    }
  }
  return done;
}

static void session_recv(chorus_session *s, uint64_t now_us) {
  for (;;) {
    size_t len = 0;
    chorus_udp_addr from;
    chorus_srv_addr packed;
    if (chorus_udp_recv(s->fd, s->rx, sizeof s->rx, &len, &from) != CHORUS_UDP_OK) return;
    if (chorus_server_loop_addr_pack(&from, &packed) == 0)
      chorus_client_recv(s->client, now_us, &packed, s->rx, len); /* strays are counted */
  }
}

/* Milliseconds to wait for the client's next timer, at least 1. */
static int session_wait_ms(const chorus_session *s, uint64_t now_us) {
  uint64_t due = chorus_client_deadline(s->client);
  if (due == UINT64_MAX) return SESSION_WAIT_MS_MAX;
  uint64_t ms = due > now_us ? (due - now_us + 999) / 1000 : 0;
  if (ms < 1) ms = 1;
  return ms > SESSION_WAIT_MS_MAX ? SESSION_WAIT_MS_MAX : (int)ms;
}

static int session_wait(chorus_session *s, uint32_t rid, chorus_srv_response *resp) {
  int status = CHORUS_SRV_UNREACHABLE;
  while (!session_outputs(s, rid, resp, &status)) {
    struct pollfd p = {s->fd, POLLIN, 0};
    int n = poll(&p, 1, session_wait_ms(s, chorus_clock_now_us()));
    if (n < 0 && errno != EINTR) return CHORUS_SRV_UNREACHABLE;
    uint64_t now_us = chorus_clock_now_us();
    if (n > 0) session_recv(s, now_us);
    chorus_client_tick(s->client, now_us);
  }
  return status;
}

int chorus_session_call(chorus_session *s, chorus_srv_request *req, chorus_srv_response *resp) {
  pthread_mutex_lock(&s->mu);
  memcpy(req->token, s->token, sizeof s->token);
  uint32_t rid = 0;
  int status = CHORUS_SRV_BAD_REQUEST;
  memset(resp, 0, sizeof *resp);
  if (chorus_client_submit(s->client, chorus_clock_now_us(), req, 0, &rid) == CHORUS_OK)
    status = session_wait(s, rid, resp);
  if (status == CHORUS_SRV_OK && req->op == CHORUS_SRV_OP_LOGIN)
    memcpy(s->token, resp->token, sizeof s->token);
  pthread_mutex_unlock(&s->mu);
  return status;
}

void chorus_session_logged_out(chorus_session *s) {
  pthread_mutex_lock(&s->mu);
  memset(s->token, 0, sizeof s->token);
  pthread_mutex_unlock(&s->mu);
}
