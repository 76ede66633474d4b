#include "client.h"

#include <stdlib.h>
#include <string.h>

#include "prng.h"

typedef struct cl_pending {
  uint8_t used, send_now;
  uint32_t rid;
  uint8_t op;
  uint64_t tag;
  uint64_t give_up_us; /* submission + deadline */
  uint64_t next_us;    /* next retransmission */
  uint64_t rto_us;
  uint32_t tries_here; /* copies sent to the current server */
  uint32_t sends;
  uint8_t refused;     /* last NOT_LEADER / NO_QUORUM status, or 0 */
  size_t server;
  uint16_t len;
  uint8_t bytes[CHORUS_SRV_DATAGRAM_BYTES_MAX];
} cl_pending;

typedef struct cl_result {
  enum chorus_client_out_kind kind;
  size_t server;
  uint32_t rid, sends;
  uint8_t op;
  uint64_t tag;
  chorus_srv_response resp;
} cl_result;

struct chorus_client {
  chorus_client_config cfg;
  cl_pending pending[CHORUS_CLIENT_PENDING_MAX];
  cl_result *results; /* ring of CHORUS_CLIENT_PENDING_MAX */
  size_t res_head, res_len;
  size_t current;
  uint32_t next_rid;
  chorus_client_stats st;
};

static void cl_wipe(void *p, size_t n) {
  volatile uint8_t *v = (volatile uint8_t *)p;
  while (n--) *v++ = 0;
}

void chorus_client_config_default(chorus_client_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->rto_us = CHORUS_CLIENT_RTO_US_DEFAULT;
  cfg->rto_max_us = CHORUS_CLIENT_RTO_MAX_US_DEFAULT;
  cfg->deadline_us = CHORUS_CLIENT_DEADLINE_US_DEFAULT;
  cfg->tries_per_server = CHORUS_CLIENT_TRIES_PER_SERVER_DEFAULT;
}

static int cl_duration_ok(uint64_t us) { return us > 0 && us <= CHORUS_CLIENT_DURATION_US_MAX; }

static int cl_config_ok(const chorus_client_config *c) {
  if (c->server_count == 0 || c->server_count > CHORUS_CLIENT_SERVERS_MAX) return 0;
  for (size_t i = 0; i < c->server_count; i++)
    if (c->servers[i].len > CHORUS_SRV_ADDR_BYTES_MAX) return 0;
  return cl_duration_ok(c->rto_us) && cl_duration_ok(c->rto_max_us) &&
         cl_duration_ok(c->deadline_us) && c->rto_max_us >= c->rto_us &&
         c->tries_per_server >= 1;
}

int chorus_client_new(const chorus_client_config *cfg, chorus_client **out) {
  if (cfg == NULL || out == NULL) return CHORUS_ERR_INVAL;
  *out = NULL;
  if (!cl_config_ok(cfg)) return CHORUS_ERR_CONFIG;
  chorus_client *c = calloc(1, sizeof *c);
  if (c == NULL) return CHORUS_ERR_NOMEM;
  c->results = calloc(CHORUS_CLIENT_PENDING_MAX, sizeof *c->results);
  if (c->results == NULL) {
    free(c);
    return CHORUS_ERR_NOMEM;
  }
  c->cfg = *cfg;
  chorus_prng p;
  chorus_prng_init(&p, cfg->seed);
  c->next_rid = (uint32_t)chorus_prng_next(&p);
  *out = c;
  return 0;
}

void chorus_client_free(chorus_client *c) {
  if (c == NULL) return;
  cl_wipe(c->pending, sizeof c->pending);
  free(c->results);
  free(c);
}

static size_t cl_in_flight(const chorus_client *c) {
  size_t n = 0;
  for (size_t i = 0; i < CHORUS_CLIENT_PENDING_MAX; i++) n += c->pending[i].used;
  return n;
}

int chorus_client_submit(chorus_client *c, uint64_t now_us, const chorus_srv_request *req,
                         uint64_t tag, uint32_t *rid) {
  if (c == NULL || req == NULL) return CHORUS_ERR_INVAL;
  if (cl_in_flight(c) + c->res_len >= CHORUS_CLIENT_PENDING_MAX) return CHORUS_ERR_QUEUE_FULL;
  cl_pending *p = NULL;
  for (size_t i = 0; i < CHORUS_CLIENT_PENDING_MAX && p == NULL; i++)
    if (!c->pending[i].used) p = &c->pending[i];
  chorus_srv_request q = *req;
  q.rid = c->next_rid;
  int n = chorus_srv_request_encode(p->bytes, sizeof p->bytes, &q);
  cl_wipe(&q, sizeof q);
  if (n < 0) return CHORUS_ERR_INVAL;
  p->used = 1;
  p->send_now = 1;
  p->rid = c->next_rid++;
  p->op = req->op;
  p->tag = tag;
  p->len = (uint16_t)n;
  p->give_up_us = now_us + c->cfg.deadline_us;
  p->rto_us = c->cfg.rto_us;
  p->next_us = now_us + p->rto_us;
  p->tries_here = 1;
  p->sends = 1;
  p->server = c->current;
  c->st.submitted++;
  if (rid) *rid = p->rid;
  return 0;
}

/* The result ring has room: a slot completes at most once per submit, and
 * submit keeps in-flight + results below CHORUS_CLIENT_PENDING_MAX. */
static cl_result *cl_result_push(chorus_client *c, const cl_pending *p,
                                 enum chorus_client_out_kind kind) {
  cl_result *r = &c->results[(c->res_head + c->res_len) % CHORUS_CLIENT_PENDING_MAX];
  c->res_len++;
  memset(r, 0, sizeof *r);
  r->kind = kind;
  r->rid = p->rid;
  r->op = p->op;
  r->tag = p->tag;
  r->sends = p->sends;
  r->server = p->server;
  return r;
}

static void cl_finish(cl_pending *p) {
  cl_wipe(p, sizeof *p); /* the request bytes may hold a password */
}

static int cl_server_index(const chorus_client *c, const chorus_srv_addr *from) {
  for (size_t i = 0; i < c->cfg.server_count; i++)
    if (chorus_srv_addr_equal(&c->cfg.servers[i], from)) return (int)i;
  return -1;
}

static cl_pending *cl_find(chorus_client *c, uint32_t rid) {
  for (size_t i = 0; i < CHORUS_CLIENT_PENDING_MAX; i++)
    if (c->pending[i].used && c->pending[i].rid == rid) return &c->pending[i];
  return NULL;
}

/* A response in another version: its version-independent prefix (magic,
 * version, op, rid) still says which request it answers. */
static int cl_other_version(chorus_client *c, const uint8_t *data, size_t len, int server,
                            uint8_t version) {
  if (len < 8) return CHORUS_ERR_BAD_VERSION;
  uint32_t rid = ((uint32_t)data[4] << 24) | ((uint32_t)data[5] << 16) |
                 ((uint32_t)data[6] << 8) | data[7];
  cl_pending *p = cl_find(c, rid);
  if (p == NULL) return CHORUS_ERR_BAD_VERSION;
  cl_result *r = cl_result_push(c, p, CHORUS_CLIENT_OUT_RESPONSE);
  r->server = (size_t)server;
  r->resp.op = p->op;
  r->resp.rid = rid;
  r->resp.status = CHORUS_SRV_BAD_VERSION;
  r->resp.version = version;
  r->resp.detail = version;
  c->st.responses++;
  cl_finish(p);
  return 0;
}

/* A replica of a cluster that cannot serve (not the leader, or a leader
 * without a majority): try the next server after a short pause, so a
 * cluster in the middle of an election is not flooded. */
static void cl_redirect(chorus_client *c, cl_pending *p, uint64_t now_us, uint8_t status) {
  p->refused = status;
  p->server = (p->server + 1) % c->cfg.server_count;
  c->current = p->server;
  p->tries_here = 0;
  p->rto_us = c->cfg.rto_us;
  p->send_now = 0;
  p->next_us = now_us + CHORUS_CLIENT_REDIRECT_US;
  c->st.failovers++;
  c->st.redirects++;
}

int chorus_client_recv(chorus_client *c, uint64_t now_us, const chorus_srv_addr *from,
                       const uint8_t *data, size_t len) {
  if (c == NULL || from == NULL || (data == NULL && len > 0)) return CHORUS_ERR_INVAL;
  int server = cl_server_index(c, from);
  if (server < 0) {
    c->st.rx_unknown_sender++;
    return CHORUS_ERR_UNKNOWN_SENDER;
  }
  chorus_srv_response resp;
  int rc = chorus_srv_response_decode(data, len, &resp);
  if (rc == CHORUS_ERR_BAD_VERSION) {
    rc = cl_other_version(c, data, len, server, resp.version);
    if (rc != 0) c->st.rx_bad++;
    return rc;
  }
  if (rc != 0) {
    c->st.rx_bad++;
    return rc;
  }
  cl_pending *p = cl_find(c, resp.rid);
  if (p == NULL || p->op != resp.op) {
    c->st.late++;
    return 0;
  }
  if ((resp.status == CHORUS_SRV_NOT_LEADER || resp.status == CHORUS_SRV_NO_QUORUM) &&
      c->cfg.server_count > 1) {
    if ((size_t)server == p->server) cl_redirect(c, p, now_us, resp.status);
    return 0;
  }
  cl_result *r = cl_result_push(c, p, CHORUS_CLIENT_OUT_RESPONSE);
  r->server = (size_t)server;
  r->resp = resp;
  c->st.responses++;
  cl_finish(p);
  return 0;
}

/* Retransmit p at now_us, moving to the next server when due. */
static void cl_retransmit(chorus_client *c, cl_pending *p, uint64_t now_us) {
  if (p->tries_here >= c->cfg.tries_per_server && c->cfg.server_count > 1) {
    p->server = (p->server + 1) % c->cfg.server_count;
    p->tries_here = 0;
    p->rto_us = c->cfg.rto_us;
    c->current = p->server;
    c->st.failovers++;
  } else {
    p->rto_us = p->rto_us * 2 > c->cfg.rto_max_us ? c->cfg.rto_max_us : p->rto_us * 2;
  }
  p->tries_here++;
  p->sends++;
  p->send_now = 1;
  p->next_us = now_us + p->rto_us;
  c->st.retransmits++;
}

void chorus_client_tick(chorus_client *c, uint64_t now_us) {
  if (c == NULL) return;
  for (size_t i = 0; i < CHORUS_CLIENT_PENDING_MAX; i++) {
    cl_pending *p = &c->pending[i];
    if (!p->used) continue;
    if (now_us >= p->give_up_us) {
      cl_result *r = cl_result_push(c, p, CHORUS_CLIENT_OUT_UNREACHABLE);
      r->resp.op = p->op;
      r->resp.rid = p->rid;
      r->resp.status = p->refused ? p->refused : CHORUS_SRV_UNREACHABLE;
      c->st.unreachable++;
      cl_finish(p);
    } else if (now_us >= p->next_us) {
      cl_retransmit(c, p, now_us);
    }
  }
}

int chorus_client_poll(chorus_client *c, chorus_client_output *out) {
  if (c == NULL || out == NULL) return CHORUS_ERR_INVAL;
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < CHORUS_CLIENT_PENDING_MAX; i++) {
    cl_pending *p = &c->pending[i];
    if (!p->used || !p->send_now) continue;
    p->send_now = 0;
    out->kind = CHORUS_CLIENT_OUT_DATAGRAM;
    out->server = p->server;
    out->to = c->cfg.servers[p->server];
    out->data = p->bytes;
    out->len = p->len;
    out->rid = p->rid;
    out->op = p->op;
    out->tag = p->tag;
    c->st.sent++;
    return 0;
  }
  if (c->res_len == 0) return 0;
  cl_result *r = &c->results[c->res_head];
  out->kind = r->kind;
  out->server = r->server;
  out->rid = r->rid;
  out->op = r->op;
  out->tag = r->tag;
  out->sends = r->sends;
  out->resp = r->resp;
  cl_wipe(r, sizeof *r); /* a LOGIN response holds a session token */
  c->res_head = (c->res_head + 1) % CHORUS_CLIENT_PENDING_MAX;
  c->res_len--;
  return 0;
}

uint64_t chorus_client_deadline(const chorus_client *c) {
  uint64_t d = UINT64_MAX;
  if (c == NULL) return d;
  for (size_t i = 0; i < CHORUS_CLIENT_PENDING_MAX; i++) {
    const cl_pending *p = &c->pending[i];
    if (!p->used) continue;
    if (p->next_us < d) d = p->next_us;
    if (p->give_up_us < d) d = p->give_up_us;
  }
  return d;
}

void chorus_client_stats_get(const chorus_client *c, chorus_client_stats *out) {
  *out = c->st;
  out->pending = (uint32_t)cl_in_flight(c);
  out->current = c->current;
}
