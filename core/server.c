#include "server.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "mailbox.h"
#include "prng.h"
#include "srvrec.h"
#include "wire.h"

#define SRV_NONE (-1)

typedef struct srv_account {
  uint8_t used, name_len, has_session;
  char name[CHORUS_NAME_BYTES_MAX + 1];
  uint8_t salt[CHORUS_SERVER_SALT_BYTES];
  uint8_t hash[CHORUS_SERVER_HASH_BYTES];
  uint32_t iterations;
  chorus_srv_addr creator; /* client address of the SIGNUP */
  uint32_t creator_rid;    /* and its request id */
  chorus_srv_addr peer;    /* where the user's peer listens */
  int32_t room;            /* room slot, or SRV_NONE */
  uint8_t token[CHORUS_SRV_TOKEN_BYTES];
  uint64_t lease_until_us; /* session, or restored membership */
  uint32_t failed;         /* consecutive wrong passwords */
  uint64_t locked_until_us;
} srv_account;

typedef struct srv_room {
  uint8_t used, name_len, count;
  char name[CHORUS_NAME_BYTES_MAX + 1];
  uint32_t members[CHORUS_MEMBERS_MAX]; /* account slots, join order */
  uint8_t seat[CHORUS_MEMBERS_MAX];     /* members[i]'s seat: its peers' rank */
} srv_room;

typedef struct srv_cache {
  uint8_t used;
  chorus_srv_addr addr;
  uint32_t rid;
  uint64_t req_hash; /* FNV-1a 64 of the request bytes */
  uint64_t time_us;
  uint16_t len;
  uint8_t bytes[CHORUS_SRV_DATAGRAM_BYTES_MAX];
} srv_cache;

typedef struct srv_out {
  enum chorus_server_out_kind kind;
  chorus_srv_addr to;
  uint16_t len;
  uint8_t bytes[CHORUS_SRV_DATAGRAM_BYTES_MAX];
  enum chorus_server_event event;
  char user[CHORUS_NAME_BYTES_MAX + 1];
  char room[CHORUS_NAME_BYTES_MAX + 1];
  uint32_t detail;
} srv_out;

struct chorus_server {
  chorus_server_config cfg;
  srv_account *acct;    /* accounts_max slots */
  uint32_t *acct_order; /* slots of used accounts, ascending by name */
  size_t acct_count;
  srv_room *room;       /* rooms_max slots */
  uint32_t *room_order;
  size_t room_count;
  size_t sessions;
  srv_cache *cache;     /* cache_entries slots */
  size_t cache_used;
  srv_out outq[CHORUS_SERVER_OUTQ_MAX];
  size_t out_head, out_len;
  chorus_mailbox *mb; /* offline messages */
  int leading;        /* replicated: we are the leader (we write records) */
  uint8_t drbg_key[CHORUS_SHA256_DIGEST_BYTES];
  uint64_t drbg_ctr;
  uint64_t seq;  /* last snapshot sequence number */
  int used;      /* a request arrived or a snapshot was loaded */
  chorus_server_stats st;
};

/* ---- small helpers ------------------------------------------------------ */

static void srv_wipe(void *p, size_t n) {
  volatile uint8_t *v = (volatile uint8_t *)p;
  while (n--) *v++ = 0;
}

static uint64_t srv_fnv64(const uint8_t *p, size_t n) {
  uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

/* Byte-wise order of two names; shorter first on a common prefix. */
static int srv_namecmp(const char *a, size_t alen, const char *b, size_t blen) {
  size_t n = alen < blen ? alen : blen;
  int c = memcmp(a, b, n);
  if (c != 0) return c;
  return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

static uint32_t srv_ms_left(uint64_t until_us, uint64_t now_us) {
  uint64_t ms = (until_us - now_us + 999) / 1000;
  return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

static void srv_copy_name(char *dst, const char *src) {
  size_t n = strlen(src);
  if (n > CHORUS_NAME_BYTES_MAX) n = CHORUS_NAME_BYTES_MAX;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* ---- random bytes: HMAC-SHA256 in counter mode -------------------------- */

static void srv_random(chorus_server *s, uint8_t *out, size_t n) {
  while (n > 0) {
    uint8_t msg[9], block[CHORUS_SHA256_DIGEST_BYTES];
    msg[0] = 'R';
    chorus_wire_put_u32(msg + 1, (uint32_t)(s->drbg_ctr >> 32));
    chorus_wire_put_u32(msg + 5, (uint32_t)s->drbg_ctr);
    s->drbg_ctr++;
    (void)chorus_hmac_sha256(s->drbg_key, sizeof s->drbg_key, msg, sizeof msg, block);
    size_t k = n < sizeof block ? n : sizeof block;
    memcpy(out, block, k);
    srv_wipe(block, sizeof block);
    out += k;
    n -= k;
  }
}

static void srv_seed(chorus_server *s, uint64_t seed) {
  chorus_prng p;
  uint8_t raw[32];
  static const uint8_t label[] = "chorus server seed";
  chorus_prng_init(&p, seed);
  for (size_t i = 0; i < 4; i++) {
    uint64_t v = chorus_prng_next(&p);
    chorus_wire_put_u32(raw + 8 * i, (uint32_t)(v >> 32));
    chorus_wire_put_u32(raw + 8 * i + 4, (uint32_t)v);
  }
  (void)chorus_hmac_sha256(raw, sizeof raw, label, sizeof label - 1, s->drbg_key);
  srv_wipe(raw, sizeof raw);
  srv_wipe(&p, sizeof p);
}

int chorus_server_entropy(chorus_server *srv, const uint8_t *bytes, size_t len) {
  if (srv == NULL || (bytes == NULL && len > 0)) return CHORUS_ERR_INVAL;
  chorus_hmac_sha256_ctx ctx;
  static const uint8_t tag = 'E';
  chorus_hmac_sha256_init(&ctx, srv->drbg_key, sizeof srv->drbg_key);
  chorus_hmac_sha256_update(&ctx, &tag, 1);
  chorus_hmac_sha256_update(&ctx, bytes, len);
  return chorus_hmac_sha256_final(&ctx, srv->drbg_key);
}

/* ---- creation ----------------------------------------------------------- */

void chorus_server_config_default(chorus_server_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->accounts_max = CHORUS_SERVER_ACCOUNTS_DEFAULT;
  cfg->rooms_max = CHORUS_SERVER_ROOMS_DEFAULT;
  cfg->sessions_max = CHORUS_SERVER_SESSIONS_DEFAULT;
  cfg->room_members_max = CHORUS_MEMBERS_MAX;
  cfg->cache_entries = CHORUS_SERVER_CACHE_DEFAULT;
  cfg->iterations = CHORUS_SERVER_ITERATIONS_DEFAULT;
  cfg->lease_us = CHORUS_SERVER_LEASE_US_DEFAULT;
  cfg->lockout_failures = CHORUS_SERVER_LOCKOUT_FAILURES_DEFAULT;
  cfg->lockout_us = CHORUS_SERVER_LOCKOUT_US_DEFAULT;
  cfg->cache_ttl_us = CHORUS_SERVER_CACHE_TTL_US_DEFAULT;
  cfg->mailbox_messages = CHORUS_MAILBOX_MESSAGES_DEFAULT;
  cfg->mailbox_marks = CHORUS_MAILBOX_MARKS_DEFAULT;
}

static int srv_duration_ok(uint64_t us) {
  return us > 0 && us <= CHORUS_SERVER_DURATION_US_MAX;
}

static int srv_config_ok(const chorus_server_config *c) {
  return c->accounts_max >= 1 && c->accounts_max <= CHORUS_SERVER_ACCOUNTS_LIMIT &&
         c->rooms_max >= 1 && c->rooms_max <= CHORUS_SERVER_ROOMS_LIMIT &&
         c->sessions_max >= 1 && c->sessions_max <= c->accounts_max &&
         c->room_members_max >= 1 && c->room_members_max <= CHORUS_MEMBERS_MAX &&
         c->cache_entries >= 1 && c->cache_entries <= CHORUS_SERVER_CACHE_LIMIT &&
         c->iterations >= 1 && c->iterations <= CHORUS_SERVER_ITERATIONS_MAX &&
         c->lockout_failures >= 1 && srv_duration_ok(c->lease_us) &&
         srv_duration_ok(c->lockout_us) && srv_duration_ok(c->cache_ttl_us) &&
         c->mailbox_messages >= 1 && c->mailbox_messages <= CHORUS_MAILBOX_LIMIT &&
         c->mailbox_marks >= 1 && c->mailbox_marks <= CHORUS_MAILBOX_LIMIT;
}

int chorus_server_new(const chorus_server_config *cfg, chorus_server **out) {
  if (cfg == NULL || out == NULL) return CHORUS_ERR_INVAL;
  *out = NULL;
  if (!srv_config_ok(cfg)) return CHORUS_ERR_CONFIG;
  chorus_server *s = calloc(1, sizeof *s);
  if (s == NULL) return CHORUS_ERR_NOMEM;
  s->cfg = *cfg;
  s->acct = calloc(cfg->accounts_max, sizeof *s->acct);
  s->acct_order = calloc(cfg->accounts_max, sizeof *s->acct_order);
  s->room = calloc(cfg->rooms_max, sizeof *s->room);
  s->room_order = calloc(cfg->rooms_max, sizeof *s->room_order);
  s->cache = calloc(cfg->cache_entries, sizeof *s->cache);
  if (chorus_mailbox_new(cfg->mailbox_messages, cfg->mailbox_marks, &s->mb) != 0 ||
      !s->acct || !s->acct_order || !s->room || !s->room_order || !s->cache) {
    chorus_server_free(s);
    return CHORUS_ERR_NOMEM;
  }
  srv_seed(s, cfg->seed);
  *out = s;
  return 0;
}

void chorus_server_free(chorus_server *srv) {
  if (srv == NULL) return;
  if (srv->acct) srv_wipe(srv->acct, srv->cfg.accounts_max * sizeof *srv->acct);
  srv_wipe(srv->drbg_key, sizeof srv->drbg_key);
  free(srv->acct);
  free(srv->acct_order);
  free(srv->room);
  free(srv->room_order);
  free(srv->cache);
  chorus_mailbox_free(srv->mb);
  free(srv);
}

/* ---- lookups and sorted indexes ----------------------------------------- */

/* Position of `name` in a sorted index (found: *hit = 1). */
static size_t srv_acct_pos(const chorus_server *s, const char *name, size_t len, int *hit) {
  size_t lo = 0, hi = s->acct_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const srv_account *a = &s->acct[s->acct_order[mid]];
    int c = srv_namecmp(a->name, a->name_len, name, len);
    if (c == 0) { *hit = 1; return mid; }
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  *hit = 0;
  return lo;
}

static int32_t srv_acct_find(const chorus_server *s, const char *name) {
  int hit;
  size_t pos = srv_acct_pos(s, name, strlen(name), &hit);
  return hit ? (int32_t)s->acct_order[pos] : SRV_NONE;
}

static size_t srv_room_pos(const chorus_server *s, const char *name, size_t len, int *hit) {
  size_t lo = 0, hi = s->room_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const srv_room *r = &s->room[s->room_order[mid]];
    int c = srv_namecmp(r->name, r->name_len, name, len);
    if (c == 0) { *hit = 1; return mid; }
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  *hit = 0;
  return lo;
}

static int32_t srv_room_find(const chorus_server *s, const char *name) {
  int hit;
  size_t pos = srv_room_pos(s, name, strlen(name), &hit);
  return hit ? (int32_t)s->room_order[pos] : SRV_NONE;
}

static void srv_index_insert(uint32_t *order, size_t count, size_t pos, uint32_t slot) {
  memmove(order + pos + 1, order + pos, (count - pos) * sizeof *order);
  order[pos] = slot;
}

static void srv_index_remove(uint32_t *order, size_t count, uint32_t slot) {
  for (size_t i = 0; i < count; i++)
    if (order[i] == slot) {
      memmove(order + i, order + i + 1, (count - i - 1) * sizeof *order);
      return;
    }
}

/* A free slot (the caller checked the count against the limit). */
static uint32_t srv_acct_alloc(const chorus_server *s) {
  uint32_t i = 0;
  while (s->acct[i].used) i++;
  return i;
}

static uint32_t srv_room_alloc(const chorus_server *s) {
  uint32_t i = 0;
  while (s->room[i].used) i++;
  return i;
}

/* ---- output queue ------------------------------------------------------- */

static size_t srv_out_free(const chorus_server *s) {
  return CHORUS_SERVER_OUTQ_MAX - s->out_len;
}

/* The caller made sure a slot is free. */
static srv_out *srv_out_push(chorus_server *s, enum chorus_server_out_kind kind) {
  srv_out *o = &s->outq[(s->out_head + s->out_len) % CHORUS_SERVER_OUTQ_MAX];
  s->out_len++;
  o->kind = kind;
  o->len = 0;
  o->user[0] = o->room[0] = '\0';
  o->detail = 0;
  return o;
}

static void srv_event(chorus_server *s, enum chorus_server_event ev, const srv_account *a,
                      const srv_room *r, uint32_t detail) {
  if (srv_out_free(s) == 0) return; /* never: budgets are checked first */
  srv_out *o = srv_out_push(s, CHORUS_SERVER_OUT_EVENT);
  o->event = ev;
  if (a) srv_copy_name(o->user, a->name);
  if (r) srv_copy_name(o->room, r->name);
  o->detail = detail;
}

/* Queue a snapshot, unless one is already the last queued output (it will
 * be encoded when polled, so it covers this change too). */
static void srv_persist(chorus_server *s) {
  if (s->out_len > 0) {
    const srv_out *tail = &s->outq[(s->out_head + s->out_len - 1) % CHORUS_SERVER_OUTQ_MAX];
    if (tail->kind == CHORUS_SERVER_OUT_PERSIST) return;
  }
  if (srv_out_free(s) == 0) return; /* never: budgets are checked first */
  srv_out_push(s, CHORUS_SERVER_OUT_PERSIST);
}

static void srv_respond_bytes(chorus_server *s, const chorus_srv_addr *to, const uint8_t *b,
                              size_t n) {
  if (srv_out_free(s) == 0) return; /* never: budgets are checked first */
  srv_out *o = srv_out_push(s, CHORUS_SERVER_OUT_RESPONSE);
  o->to = *to;
  memcpy(o->bytes, b, n);
  o->len = (uint16_t)n;
}

/* ---- rooms and sessions ------------------------------------------------- */

static int srv_online(const srv_account *a, uint64_t now_us) {
  return a->has_session && a->lease_until_us > now_us;
}

/* Take account `slot` out of its room; emits LEAVE. 1 if it was in one. */
static int srv_room_remove(chorus_server *s, uint32_t slot) {
  srv_account *a = &s->acct[slot];
  if (a->room == SRV_NONE) return 0;
  srv_room *r = &s->room[a->room];
  size_t i = 0;
  while (i < r->count && r->members[i] != slot) i++;
  if (i < r->count) {
    memmove(r->members + i, r->members + i + 1, (r->count - i - 1) * sizeof *r->members);
    memmove(r->seat + i, r->seat + i + 1, (r->count - i - 1) * sizeof *r->seat);
    r->count--;
  }
  a->room = SRV_NONE;
  srv_event(s, CHORUS_SERVER_EV_LEAVE, a, r, r->count);
  return 1;
}

/* The lowest seat nobody in room r holds (the room is not full). */
static uint8_t srv_free_seat(const srv_room *r) {
  uint32_t used = 0;
  for (size_t i = 0; i < r->count; i++) used |= 1u << r->seat[i];
  uint8_t k = 0;
  while (used & (1u << k)) k++;
  return k;
}

static void srv_room_add(chorus_server *s, uint32_t slot, int32_t room) {
  srv_room *r = &s->room[room];
  r->seat[r->count] = srv_free_seat(r);
  r->members[r->count++] = slot;
  s->acct[slot].room = room;
  srv_event(s, CHORUS_SERVER_EV_JOIN, &s->acct[slot], r, r->count);
}

static void srv_session_drop(chorus_server *s, srv_account *a) {
  if (!a->has_session) return;
  a->has_session = 0;
  srv_wipe(a->token, sizeof a->token);
  s->sessions--;
}

/* Expire account `slot` (lease over): drop the session, leave the room.
 * Returns 1 if a room changed (persist). */
static void srv_leave_rec(chorus_server *s, uint32_t slot);

static int srv_expire(chorus_server *s, uint32_t slot) {
  srv_account *a = &s->acct[slot];
  if (a->has_session) {
    srv_session_drop(s, a);
    srv_event(s, CHORUS_SERVER_EV_EXPIRED, a, NULL, 0);
  }
  s->st.expired++;
  if (a->room == SRV_NONE) return 0;
  srv_leave_rec(s, slot);
  return 1;
}

static int srv_lease_running(const srv_account *a) {
  return a->used && (a->has_session || a->room != SRV_NONE);
}

/* The account whose live session has this token, or SRV_NONE. */
static int32_t srv_session(const chorus_server *s, uint64_t now_us, const uint8_t *token) {
  static const uint8_t zero[CHORUS_SRV_TOKEN_BYTES];
  if (chorus_ct_equal(token, zero, sizeof zero)) return SRV_NONE;
  int32_t found = SRV_NONE;
  for (size_t i = 0; i < s->cfg.accounts_max; i++) {
    const srv_account *a = &s->acct[i];
    if (a->used && srv_online(a, now_us) && chorus_ct_equal(a->token, token, sizeof a->token))
      found = (int32_t)i;
  }
  return found;
}

/* ---- passwords ---------------------------------------------------------- */

static int srv_password_ok(const srv_account *a, const uint8_t *pw, size_t len) {
  uint8_t h[CHORUS_SERVER_HASH_BYTES];
  int ok = chorus_pbkdf2_sha256(pw, len, a->salt, sizeof a->salt, a->iterations, h,
                                sizeof h) == 0 &&
           chorus_ct_equal(h, a->hash, sizeof h);
  srv_wipe(h, sizeof h);
  return ok;
}

/* A wrong password for `a`: count it, maybe lock. Returns the status. */
static int srv_password_failed(chorus_server *s, uint64_t now_us, srv_account *a,
                               uint32_t *detail) {
  s->st.failed_logins++;
  a->failed++;
  if (a->failed < s->cfg.lockout_failures) {
    srv_event(s, CHORUS_SERVER_EV_LOGIN_FAILED, a, NULL, a->failed);
    return CHORUS_SRV_WRONG_PASSWORD;
  }
  a->failed = 0;
  a->locked_until_us = now_us + s->cfg.lockout_us;
  *detail = srv_ms_left(a->locked_until_us, now_us);
  srv_event(s, CHORUS_SERVER_EV_LOCKED_OUT, a, NULL, *detail);
  return CHORUS_SRV_LOCKED_OUT;
}

/* Lock-out check, then the password. Returns CHORUS_SRV_OK or the status. */
static int srv_authenticate(chorus_server *s, uint64_t now_us, srv_account *a,
                            const chorus_srv_request *q, uint32_t *detail) {
  if (now_us < a->locked_until_us) {
    *detail = srv_ms_left(a->locked_until_us, now_us);
    return CHORUS_SRV_LOCKED_OUT;
  }
  if (q->password_len == 0) return CHORUS_SRV_BAD_PASSWORD;
  if (!srv_password_ok(a, q->password, q->password_len))
    return srv_password_failed(s, now_us, a, detail);
  a->failed = 0;
  return CHORUS_SRV_OK;
}

/* ---- state changes ------------------------------------------------------ */
/*
 * Every change of persisted state is a record (core/srvrec.h) applied by
 * srv_apply: the leader (or a lone server) builds it in a handler and calls
 * srv_do, a follower decodes it in chorus_server_apply. One code path, so
 * replicas that apply the same records reach the same state. An apply
 * fails (CHORUS_ERR_CONFIG) only on a record that does not fit the state:
 * the handlers check everything first.
 */

static int ap_signup(chorus_server *s, const chorus_srvrec *r) {
  int hit;
  size_t len = strlen(r->user);
  size_t pos = srv_acct_pos(s, r->user, len, &hit);
  if (hit || s->acct_count >= s->cfg.accounts_max || r->iterations == 0 ||
      r->iterations > CHORUS_SERVER_ITERATIONS_MAX)
    return CHORUS_ERR_CONFIG;
  uint32_t slot = srv_acct_alloc(s);
  srv_account *a = &s->acct[slot];
  memset(a, 0, sizeof *a);
  memcpy(a->salt, r->salt, sizeof a->salt);
  memcpy(a->hash, r->hash, sizeof a->hash);
  a->iterations = r->iterations;
  a->used = 1;
  a->name_len = (uint8_t)len;
  memcpy(a->name, r->user, len + 1);
  a->creator = r->addr;
  a->creator_rid = r->rid;
  a->room = SRV_NONE;
  srv_index_insert(s->acct_order, s->acct_count, pos, slot);
  s->acct_count++;
  srv_event(s, CHORUS_SERVER_EV_SIGNUP, a, NULL, 0);
  return 0;
}

static int ap_delete(chorus_server *s, const chorus_srvrec *r) {
  int32_t slot = srv_acct_find(s, r->user);
  if (slot == SRV_NONE) return CHORUS_ERR_CONFIG;
  srv_account *a = &s->acct[slot];
  srv_room_remove(s, (uint32_t)slot);
  srv_session_drop(s, a);
  srv_event(s, CHORUS_SERVER_EV_DELETE, a, NULL, 0);
  chorus_mailbox_drop_user(s->mb, r->user);
  srv_index_remove(s->acct_order, s->acct_count, (uint32_t)slot);
  s->acct_count--;
  srv_wipe(a, sizeof *a);
  a->room = SRV_NONE;
  return 0;
}

static int ap_set_addr(chorus_server *s, const chorus_srvrec *r) {
  int32_t slot = srv_acct_find(s, r->user);
  if (slot == SRV_NONE) return CHORUS_ERR_CONFIG;
  s->acct[slot].peer = r->addr;
  return 0;
}

static int ap_room_create(chorus_server *s, const chorus_srvrec *r) {
  int hit;
  size_t len = strlen(r->room);
  size_t pos = srv_room_pos(s, r->room, len, &hit);
  if (hit || s->room_count >= s->cfg.rooms_max) return CHORUS_ERR_CONFIG;
  uint32_t slot = srv_room_alloc(s);
  srv_room *rm = &s->room[slot];
  memset(rm, 0, sizeof *rm);
  rm->used = 1;
  rm->name_len = (uint8_t)len;
  memcpy(rm->name, r->room, len + 1);
  srv_index_insert(s->room_order, s->room_count, pos, slot);
  s->room_count++;
  int32_t creator = srv_acct_find(s, r->from);
  srv_event(s, CHORUS_SERVER_EV_ROOM_CREATE, creator == SRV_NONE ? NULL : &s->acct[creator], rm,
            0);
  return 0;
}

static int ap_join(chorus_server *s, const chorus_srvrec *r) {
  int32_t slot = srv_acct_find(s, r->user), room = srv_room_find(s, r->room);
  if (slot == SRV_NONE || room == SRV_NONE) return CHORUS_ERR_CONFIG;
  if (s->acct[slot].room == room) return 0;
  if (s->room[room].count >= s->cfg.room_members_max) return CHORUS_ERR_CONFIG;
  srv_room_remove(s, (uint32_t)slot);
  srv_room_add(s, (uint32_t)slot, room);
  return 0;
}

static int ap_leave(chorus_server *s, const chorus_srvrec *r) {
  int32_t slot = srv_acct_find(s, r->user);
  if (slot == SRV_NONE) return CHORUS_ERR_CONFIG;
  srv_room_remove(s, (uint32_t)slot);
  return 0;
}

static int ap_msg_store(chorus_server *s, const chorus_srvrec *r) {
  int32_t to = srv_acct_find(s, r->user);
  if (to == SRV_NONE) return CHORUS_ERR_CONFIG;
  int rc = chorus_mailbox_store(s->mb, r->user, r->from, r->sender_epoch, r->msg_id, r->text,
                                r->text_len);
  if (rc < 0) return CHORUS_ERR_CONFIG;
  srv_event(s, CHORUS_SERVER_EV_MSG_STORE, &s->acct[to], NULL,
            (uint32_t)chorus_mailbox_waiting(s->mb, r->user));
  return 0;
}

static int ap_msg_ack(chorus_server *s, const chorus_srvrec *r) {
  int32_t slot = srv_acct_find(s, r->user);
  if (slot == SRV_NONE) return CHORUS_ERR_CONFIG;
  size_t n = chorus_mailbox_ack(s->mb, r->user, r->upto);
  srv_event(s, CHORUS_SERVER_EV_MSG_ACK, &s->acct[slot], NULL, (uint32_t)n);
  return 0;
}

static int srv_apply(chorus_server *s, const chorus_srvrec *r) {
  switch (r->type) {
  case CHORUS_SRVREC_NOOP: return 0;
  case CHORUS_SRVREC_SIGNUP: return ap_signup(s, r);
  case CHORUS_SRVREC_DELETE: return ap_delete(s, r);
  case CHORUS_SRVREC_SET_ADDR: return ap_set_addr(s, r);
  case CHORUS_SRVREC_ROOM_CREATE: return ap_room_create(s, r);
  case CHORUS_SRVREC_JOIN: return ap_join(s, r);
  case CHORUS_SRVREC_LEAVE: return ap_leave(s, r);
  case CHORUS_SRVREC_MSG_STORE: return ap_msg_store(s, r);
  case CHORUS_SRVREC_MSG_ACK: return ap_msg_ack(s, r);
  default: return CHORUS_ERR_BAD_FRAME;
  }
}

/* Apply a change made here, then log it: a RECORD (replicated) or a
 * snapshot (alone). The handler checked that it fits. */
static void srv_do(chorus_server *s, const chorus_srvrec *r) {
  int rc = srv_apply(s, r);
  assert(rc == 0);
  (void)rc;
  if (!s->cfg.replicated) {
    srv_persist(s);
    return;
  }
  if (srv_out_free(s) == 0) return; /* never: budgets are checked first */
  srv_out *o = srv_out_push(s, CHORUS_SERVER_OUT_RECORD);
  int n = chorus_srvrec_encode(o->bytes, sizeof o->bytes, r);
  assert(n > 0);
  o->len = (uint16_t)(n > 0 ? n : 0);
}

static void srv_leave_rec(chorus_server *s, uint32_t slot) {
  chorus_srvrec r;
  memset(&r, 0, sizeof r);
  r.type = CHORUS_SRVREC_LEAVE;
  srv_copy_name(r.user, s->acct[slot].name);
  srv_do(s, &r);
}

static void srv_addr_rec(chorus_server *s, uint32_t slot, const chorus_srv_addr *addr) {
  chorus_srvrec r;
  memset(&r, 0, sizeof r);
  r.type = CHORUS_SRVREC_SET_ADDR;
  srv_copy_name(r.user, s->acct[slot].name);
  r.addr = *addr;
  srv_do(s, &r);
}

/* ---- request handlers --------------------------------------------------- */

/* Context of one request being executed. */
typedef struct srv_req {
  uint64_t now_us;
  const chorus_srv_addr *from;
  const chorus_srv_request *q;
  chorus_srv_response *p;
  int32_t self; /* the session's account, or SRV_NONE */
} srv_req;

static int srv_fail(srv_req *x, int status, uint32_t detail) {
  x->p->status = (uint8_t)status;
  x->p->detail = detail;
  return status;
}

static int srv_new_account(chorus_server *s, srv_req *x) {
  const chorus_srv_request *q = x->q;
  chorus_srvrec r;
  memset(&r, 0, sizeof r);
  r.type = CHORUS_SRVREC_SIGNUP;
  srv_copy_name(r.user, q->user);
  srv_random(s, r.salt, sizeof r.salt);
  r.iterations = s->cfg.iterations;
  if (chorus_pbkdf2_sha256(q->password, q->password_len, r.salt, sizeof r.salt, r.iterations,
                           r.hash, sizeof r.hash) != 0)
    return srv_fail(x, CHORUS_SRV_BAD_PASSWORD, 0);
  r.addr = *x->from;
  r.rid = q->rid;
  srv_do(s, &r);
  srv_wipe(&r, sizeof r);
  return CHORUS_SRV_OK;
}

static int srv_op_signup(chorus_server *s, srv_req *x) {
  const chorus_srv_request *q = x->q;
  size_t len = strlen(q->user);
  if (!chorus_srv_name_valid(q->user, len)) return srv_fail(x, CHORUS_SRV_BAD_NAME, 0);
  if (q->password_len == 0) return srv_fail(x, CHORUS_SRV_BAD_PASSWORD, 0);
  int hit;
  size_t pos = srv_acct_pos(s, q->user, len, &hit);
  if (hit) {
    const srv_account *a = &s->acct[s->acct_order[pos]];
    /* The same SIGNUP again after a restart lost the reply cache. */
    if (a->creator_rid == q->rid && chorus_srv_addr_equal(&a->creator, x->from) &&
        srv_password_ok(a, q->password, q->password_len))
      return CHORUS_SRV_OK;
    return srv_fail(x, CHORUS_SRV_NAME_TAKEN, 0);
  }
  if (s->acct_count >= s->cfg.accounts_max)
    return srv_fail(x, CHORUS_SRV_TOO_MANY_ACCOUNTS, (uint32_t)s->cfg.accounts_max);
  return srv_new_account(s, x);
}

/* Start (or replace) the session of account `slot`. */
static void srv_session_start(chorus_server *s, srv_req *x, uint32_t slot) {
  srv_account *a = &s->acct[slot];
  if (!a->has_session) s->sessions++;
  a->has_session = 1;
  srv_random(s, a->token, sizeof a->token);
  a->lease_until_us = x->now_us + s->cfg.lease_us;
  /* The address is part of the persisted membership. */
  if (!chorus_srv_addr_equal(&a->peer, &x->q->addr)) srv_addr_rec(s, slot, &x->q->addr);
  srv_event(s, CHORUS_SERVER_EV_LOGIN, a, a->room == SRV_NONE ? NULL : &s->room[a->room], 0);
  memcpy(x->p->token, a->token, sizeof a->token);
  x->p->lease_ms = (uint32_t)(s->cfg.lease_us / 1000);
  if (a->room != SRV_NONE) srv_copy_name(x->p->room, s->room[a->room].name);
}

static int srv_op_login(chorus_server *s, srv_req *x) {
  const chorus_srv_request *q = x->q;
  if (!chorus_srv_name_valid(q->user, strlen(q->user))) return srv_fail(x, CHORUS_SRV_BAD_NAME, 0);
  int32_t slot = srv_acct_find(s, q->user);
  if (slot == SRV_NONE) return srv_fail(x, CHORUS_SRV_UNKNOWN_USER, 0);
  srv_account *a = &s->acct[slot];
  uint32_t detail = 0;
  int st = srv_authenticate(s, x->now_us, a, q, &detail);
  if (st != CHORUS_SRV_OK) return srv_fail(x, st, detail);
  /* A lease that ran out but was not yet ticked away ends here, so the
   * outcome does not depend on when the driver ticked. */
  if (srv_lease_running(a) && a->lease_until_us <= x->now_us) srv_expire(s, (uint32_t)slot);
  if (!a->has_session && s->sessions >= s->cfg.sessions_max)
    return srv_fail(x, CHORUS_SRV_TOO_MANY_SESSIONS, (uint32_t)s->cfg.sessions_max);
  srv_session_start(s, x, (uint32_t)slot);
  return CHORUS_SRV_OK;
}

static int srv_op_logout(chorus_server *s, srv_req *x) {
  srv_account *a = &s->acct[x->self];
  if (a->room != SRV_NONE) srv_leave_rec(s, (uint32_t)x->self);
  srv_session_drop(s, a);
  srv_event(s, CHORUS_SERVER_EV_LOGOUT, a, NULL, 0);
  return CHORUS_SRV_OK;
}

static int srv_op_keepalive(chorus_server *s, srv_req *x) {
  x->p->lease_ms = (uint32_t)(s->cfg.lease_us / 1000);
  return CHORUS_SRV_OK;
}

static int srv_op_users(chorus_server *s, srv_req *x) {
  const char *pat = x->q->pattern;
  size_t plen = strlen(pat);
  if (!chorus_srv_pattern_valid(pat, plen)) return srv_fail(x, CHORUS_SRV_BAD_PATTERN, 0);
  size_t total = 0;
  for (size_t i = 0; i < s->acct_count; i++) {
    const srv_account *a = &s->acct[s->acct_order[i]];
    if (!chorus_srv_match(pat, plen, a->name, a->name_len)) continue;
    if (total >= x->q->start && x->p->count < CHORUS_SRV_PAGE_MAX) {
      chorus_srv_entry *e = &x->p->entries[x->p->count++];
      srv_copy_name(e->name, a->name);
      e->value = srv_online(a, x->now_us) ? CHORUS_SRV_FLAG_ONLINE : 0;
    }
    total++;
  }
  x->p->total = (uint16_t)total;
  return CHORUS_SRV_OK;
}

static int srv_op_delete(chorus_server *s, srv_req *x) {
  uint32_t slot = (uint32_t)x->self, detail = 0;
  srv_account *a = &s->acct[slot];
  int st = srv_authenticate(s, x->now_us, a, x->q, &detail);
  if (st != CHORUS_SRV_OK) return srv_fail(x, st, detail);
  chorus_srvrec r;
  memset(&r, 0, sizeof r);
  r.type = CHORUS_SRVREC_DELETE;
  srv_copy_name(r.user, a->name);
  srv_do(s, &r);
  return CHORUS_SRV_OK;
}

static int srv_op_set_addr(chorus_server *s, srv_req *x) {
  srv_account *a = &s->acct[x->self];
  if (!chorus_srv_addr_equal(&a->peer, &x->q->addr))
    srv_addr_rec(s, (uint32_t)x->self, &x->q->addr);
  return CHORUS_SRV_OK;
}

/* Create room q->room (it does not exist); returns its slot or SRV_NONE
 * (status set: TOO_MANY_ROOMS). */
static int32_t srv_room_create(chorus_server *s, srv_req *x) {
  if (s->room_count >= s->cfg.rooms_max) {
    srv_fail(x, CHORUS_SRV_TOO_MANY_ROOMS, (uint32_t)s->cfg.rooms_max);
    return SRV_NONE;
  }
  chorus_srvrec r;
  memset(&r, 0, sizeof r);
  r.type = CHORUS_SRVREC_ROOM_CREATE;
  srv_copy_name(r.room, x->q->room);
  srv_copy_name(r.from, s->acct[x->self].name);
  srv_do(s, &r);
  return srv_room_find(s, x->q->room);
}

static int srv_op_room_create(chorus_server *s, srv_req *x) {
  const char *name = x->q->room;
  size_t len = strlen(name);
  if (!chorus_srv_name_valid(name, len)) return srv_fail(x, CHORUS_SRV_BAD_NAME, 0);
  if (srv_room_find(s, name) != SRV_NONE) return srv_fail(x, CHORUS_SRV_ROOM_EXISTS, 0);
  return srv_room_create(s, x) == SRV_NONE ? x->p->status : CHORUS_SRV_OK;
}

static void srv_members(const chorus_server *s, srv_req *x, int32_t room) {
  const srv_room *r = &s->room[room];
  srv_copy_name(x->p->room, r->name);
  x->p->count = r->count;
  for (size_t i = 0; i < r->count; i++) {
    const srv_account *a = &s->acct[r->members[i]];
    chorus_srv_member *m = &x->p->members[i];
    srv_copy_name(m->name, a->name);
    m->flags = srv_online(a, x->now_us) ? CHORUS_SRV_FLAG_ONLINE : 0;
    m->seat = r->seat[i];
    m->addr = a->peer;
  }
}

int chorus_server_room_members(const chorus_server *srv, uint64_t now_us, const char *room,
                               chorus_srv_response *out) {
  if (!srv || !room || !out) return CHORUS_ERR_INVAL;
  memset(out, 0, sizeof *out);
  int32_t r = srv_room_find(srv, room);
  if (r == SRV_NONE) return CHORUS_OK;
  srv_req x = {now_us, NULL, NULL, out, SRV_NONE};
  srv_members(srv, &x, r);
  return CHORUS_OK;
}

static int srv_op_room_join(chorus_server *s, srv_req *x) {
  const char *name = x->q->room;
  size_t len = strlen(name);
  if (!chorus_srv_name_valid(name, len)) return srv_fail(x, CHORUS_SRV_BAD_NAME, 0);
  (void)len;
  int32_t room = srv_room_find(s, name);
  srv_account *a = &s->acct[x->self];
  if (room == SRV_NONE) {
    if (!(x->q->flags & CHORUS_SRV_JOIN_CREATE)) return srv_fail(x, CHORUS_SRV_NO_SUCH_ROOM, 0);
    room = srv_room_create(s, x);
    if (room == SRV_NONE) return x->p->status;
  }
  if (a->room != room) {
    if (s->room[room].count >= s->cfg.room_members_max)
      return srv_fail(x, CHORUS_SRV_ROOM_FULL, (uint32_t)s->cfg.room_members_max);
    chorus_srvrec r;
    memset(&r, 0, sizeof r);
    r.type = CHORUS_SRVREC_JOIN;
    srv_copy_name(r.user, a->name);
    srv_copy_name(r.room, name);
    srv_do(s, &r);
  }
  srv_members(s, x, room);
  return CHORUS_SRV_OK;
}

static int srv_op_room_leave(chorus_server *s, srv_req *x) {
  if (s->acct[x->self].room == SRV_NONE) return srv_fail(x, CHORUS_SRV_NOT_IN_ROOM, 0);
  srv_leave_rec(s, (uint32_t)x->self);
  return CHORUS_SRV_OK;
}

static int srv_op_room_list(chorus_server *s, srv_req *x) {
  for (size_t i = x->q->start; i < s->room_count && x->p->count < CHORUS_SRV_PAGE_MAX; i++) {
    const srv_room *r = &s->room[s->room_order[i]];
    chorus_srv_entry *e = &x->p->entries[x->p->count++];
    srv_copy_name(e->name, r->name);
    e->value = r->count;
  }
  x->p->total = (uint16_t)s->room_count;
  return CHORUS_SRV_OK;
}

static int srv_op_room_members(chorus_server *s, srv_req *x) {
  const char *name = x->q->room;
  if (!chorus_srv_name_valid(name, strlen(name))) return srv_fail(x, CHORUS_SRV_BAD_NAME, 0);
  int32_t room = srv_room_find(s, name);
  if (room == SRV_NONE) return srv_fail(x, CHORUS_SRV_NO_SUCH_ROOM, 0);
  srv_members(s, x, room);
  return CHORUS_SRV_OK;
}

static int srv_op_msg_store(chorus_server *s, srv_req *x) {
  const chorus_srv_request *q = x->q;
  if (!chorus_srv_name_valid(q->to, strlen(q->to))) return srv_fail(x, CHORUS_SRV_BAD_NAME, 0);
  if (q->text_len == 0) return srv_fail(x, CHORUS_SRV_BAD_TEXT, 0);
  if (srv_acct_find(s, q->to) == SRV_NONE) return srv_fail(x, CHORUS_SRV_UNKNOWN_USER, 0);
  const char *from = s->acct[x->self].name;
  int rc = chorus_mailbox_check(s->mb, q->to, from, q->sender_epoch, q->msg_id);
  if (rc == 1) return CHORUS_SRV_OK; /* stored before: a retransmission */
  if (rc < 0) return srv_fail(x, CHORUS_SRV_MAILBOX_FULL, (uint32_t)s->cfg.mailbox_messages);
  chorus_srvrec r;
  memset(&r, 0, sizeof r);
  r.type = CHORUS_SRVREC_MSG_STORE;
  srv_copy_name(r.user, q->to);
  srv_copy_name(r.from, from);
  r.sender_epoch = q->sender_epoch;
  r.msg_id = q->msg_id;
  r.text_len = q->text_len;
  memcpy(r.text, q->text, q->text_len);
  srv_do(s, &r);
  return CHORUS_SRV_OK;
}

/* The oldest waiting messages that fit one answer datagram. */
static int srv_op_msg_fetch(chorus_server *s, srv_req *x) {
  const char *me = s->acct[x->self].name;
  size_t waiting = chorus_mailbox_waiting(s->mb, me);
  chorus_srv_response *p = x->p;
  p->waiting = (uint16_t)(waiting > UINT16_MAX ? UINT16_MAX : waiting);
  size_t room = CHORUS_SRV_DATAGRAM_BYTES_MAX - CHORUS_SRV_RESP_HEADER_BYTES - 3, off = 0;
  chorus_mailbox_msg m;
  for (size_t k = 0; k < CHORUS_SRV_FETCH_MAX; k++) {
    if (chorus_mailbox_get(s->mb, me, k, &m) != 0) break;
    size_t need = 8 + 1 + strlen(m.from) + 16 + 2 + m.len;
    if (need > room) break;
    chorus_srv_message *o = &p->msgs[p->msg_count++];
    o->seq = m.seq;
    srv_copy_name(o->from, m.from);
    o->sender_epoch = m.sender_epoch;
    o->msg_id = m.msg_id;
    o->text_off = (uint16_t)off;
    o->text_len = m.len;
    memcpy(p->text + off, m.text, m.len);
    off += m.len;
    room -= need;
  }
  return CHORUS_SRV_OK;
}

static int srv_op_msg_ack(chorus_server *s, srv_req *x) {
  const char *me = s->acct[x->self].name;
  chorus_mailbox_msg m;
  if (chorus_mailbox_get(s->mb, me, 0, &m) != 0 || m.seq > x->q->upto) return CHORUS_SRV_OK;
  chorus_srvrec r;
  memset(&r, 0, sizeof r);
  r.type = CHORUS_SRVREC_MSG_ACK;
  srv_copy_name(r.user, me);
  r.upto = x->q->upto;
  srv_do(s, &r);
  return CHORUS_SRV_OK;
}

typedef int (*srv_handler)(chorus_server *s, srv_req *x);

/* The handler of a session op (or NULL for SIGNUP and LOGIN). */
static srv_handler srv_session_handler(uint8_t op) {
  switch (op) {
  case CHORUS_SRV_OP_LOGOUT: return srv_op_logout;
  case CHORUS_SRV_OP_KEEPALIVE: return srv_op_keepalive;
  case CHORUS_SRV_OP_USERS: return srv_op_users;
  case CHORUS_SRV_OP_DELETE: return srv_op_delete;
  case CHORUS_SRV_OP_SET_ADDR: return srv_op_set_addr;
  case CHORUS_SRV_OP_ROOM_CREATE: return srv_op_room_create;
  case CHORUS_SRV_OP_ROOM_JOIN: return srv_op_room_join;
  case CHORUS_SRV_OP_ROOM_LEAVE: return srv_op_room_leave;
  case CHORUS_SRV_OP_ROOM_LIST: return srv_op_room_list;
  case CHORUS_SRV_OP_ROOM_MEMBERS: return srv_op_room_members;
  case CHORUS_SRV_OP_MSG_STORE: return srv_op_msg_store;
  case CHORUS_SRV_OP_MSG_FETCH: return srv_op_msg_fetch;
  case CHORUS_SRV_OP_MSG_ACK: return srv_op_msg_ack;
  default: return NULL;
  }
}

/* Execute request x->q; fills x->p. */
static void srv_execute(chorus_server *s, srv_req *x) {
  const chorus_srv_request *q = x->q;
  x->p->op = q->op;
  x->p->rid = q->rid;
  x->p->status = CHORUS_SRV_OK;
  s->st.requests++;
  if (q->op == CHORUS_SRV_OP_SIGNUP) { srv_op_signup(s, x); return; }
  if (q->op == CHORUS_SRV_OP_LOGIN) { srv_op_login(s, x); return; }
  srv_handler h = srv_session_handler(q->op);
  x->self = srv_session(s, x->now_us, q->token);
  if (h == NULL) { srv_fail(x, CHORUS_SRV_UNKNOWN_OP, 0); return; }
  if (x->self == SRV_NONE) { srv_fail(x, CHORUS_SRV_NOT_LOGGED_IN, 0); return; }
  s->acct[x->self].lease_until_us = x->now_us + s->cfg.lease_us; /* renew */
  h(s, x);
}

/* ---- reply cache -------------------------------------------------------- */

static srv_cache *srv_cache_find(chorus_server *s, const chorus_srv_addr *from, uint32_t rid,
                                 uint64_t hash) {
  for (size_t i = 0; i < s->cfg.cache_entries; i++) {
    srv_cache *c = &s->cache[i];
    if (c->used && c->rid == rid && c->req_hash == hash && chorus_srv_addr_equal(&c->addr, from))
      return c;
  }
  return NULL;
}

/* A slot for a new response from `from`: the address's oldest when it has
 * CHORUS_SERVER_CACHE_PER_ADDR, else a free one, else the oldest of all if
 * older than the TTL. NULL (with *retry_ms) when the cache is full. */
static srv_cache *srv_cache_slot(chorus_server *s, uint64_t now_us,
                                 const chorus_srv_addr *from, uint32_t *retry_ms) {
  srv_cache *mine = NULL, *free_slot = NULL, *oldest = NULL;
  size_t n_mine = 0;
  for (size_t i = 0; i < s->cfg.cache_entries; i++) {
    srv_cache *c = &s->cache[i];
    if (!c->used) {
      if (!free_slot) free_slot = c;
      continue;
    }
    if (chorus_srv_addr_equal(&c->addr, from)) {
      n_mine++;
      if (!mine || c->time_us < mine->time_us) mine = c;
    }
    if (!oldest || c->time_us < oldest->time_us) oldest = c;
  }
  if (n_mine >= CHORUS_SERVER_CACHE_PER_ADDR) return mine;
  if (free_slot) {
    s->cache_used++;
    return free_slot;
  }
  if (oldest && now_us - oldest->time_us >= s->cfg.cache_ttl_us) return oldest;
  *retry_ms = oldest ? srv_ms_left(oldest->time_us + s->cfg.cache_ttl_us, now_us) : 0;
  return NULL;
}

/* ---- receive ------------------------------------------------------------ */

/* Answer without executing or caching: BAD_VERSION, BAD_REQUEST, BUSY... */
static void srv_answer(chorus_server *s, const chorus_srv_addr *to, uint8_t op, uint32_t rid,
                       int status, uint32_t detail) {
  chorus_srv_response p;
  uint8_t buf[CHORUS_SRV_DATAGRAM_BYTES_MAX];
  memset(&p, 0, sizeof p);
  p.op = (uint8_t)(op & ~CHORUS_SRV_OP_RESPONSE);
  p.rid = rid;
  p.status = (uint8_t)status;
  p.detail = detail;
  int n = chorus_srv_response_encode(buf, sizeof buf, &p);
  if (n > 0) srv_respond_bytes(s, to, buf, (size_t)n);
}

/* Count a datagram that cannot even be answered; returns its code. */
static int srv_drop(chorus_server *s, int rc) {
  if (rc == CHORUS_ERR_TOO_BIG) s->st.rx_too_big++;
  else if (rc == CHORUS_ERR_BAD_MAGIC) s->st.rx_bad_magic++;
  else if (rc == CHORUS_ERR_BAD_VERSION) s->st.rx_bad_version++;
  else if (rc == CHORUS_ERR_TRUNCATED) s->st.rx_truncated++;
  else s->st.rx_bad_frame++;
  return rc;
}

/* Decode failed with rc: answer with the most specific status. */
static void srv_reject(chorus_server *s, const chorus_srv_addr *from,
                       const chorus_srv_request *q, int rc) {
  if (rc == CHORUS_ERR_BAD_VERSION) {
    s->st.rx_bad_version++;
    srv_answer(s, from, q->op, q->rid, CHORUS_SRV_BAD_VERSION, CHORUS_SRV_VERSION);
    return;
  }
  if (rc == CHORUS_ERR_TRUNCATED) s->st.rx_truncated++;
  else s->st.rx_bad_frame++;
  int status = chorus_srv_op_known(q->op) ? CHORUS_SRV_BAD_REQUEST : CHORUS_SRV_UNKNOWN_OP;
  srv_answer(s, from, q->op, q->rid, status, 0);
}

/* Execute a decoded request and queue (and cache) its response. */
static void srv_handle(chorus_server *s, uint64_t now_us, const chorus_srv_addr *from,
                       const chorus_srv_request *q, uint64_t hash) {
  uint32_t retry_ms = 0;
  srv_cache *c = srv_cache_slot(s, now_us, from, &retry_ms);
  if (c == NULL) {
    s->st.busy++;
    srv_answer(s, from, q->op, q->rid, CHORUS_SRV_BUSY, retry_ms);
    return;
  }
  chorus_srv_response p;
  memset(&p, 0, sizeof p);
  srv_req x = {now_us, from, q, &p, SRV_NONE};
  srv_execute(s, &x);
  int n = chorus_srv_response_encode(c->bytes, sizeof c->bytes, &p);
  if (n < 0) { /* cannot happen: every field was produced within its limit */
    p.status = CHORUS_SRV_BAD_REQUEST;
    n = chorus_srv_response_encode(c->bytes, sizeof c->bytes, &p);
  }
  c->used = 1;
  c->addr = *from;
  c->rid = q->rid;
  c->req_hash = hash;
  c->time_us = now_us;
  c->len = (uint16_t)(n > 0 ? n : 0);
  srv_respond_bytes(s, from, c->bytes, c->len);
}

int chorus_server_recv(chorus_server *srv, uint64_t now_us, const chorus_srv_addr *from,
                       const uint8_t *data, size_t len) {
  if (srv == NULL || from == NULL || from->len > CHORUS_SRV_ADDR_BYTES_MAX ||
      (data == NULL && len > 0))
    return CHORUS_ERR_INVAL;
  if (srv_out_free(srv) < CHORUS_SERVER_OUT_PER_INPUT) {
    srv->st.queue_full++;
    return CHORUS_ERR_QUEUE_FULL;
  }
  srv->used = 1;
  chorus_srv_request q;
  int rc = chorus_srv_request_decode(data, len, &q);
  if (rc == CHORUS_ERR_TOO_BIG || rc == CHORUS_ERR_BAD_MAGIC || len < 8)
    return srv_drop(srv, rc);
  if (data[3] & CHORUS_SRV_OP_RESPONSE) return srv_drop(srv, CHORUS_ERR_BAD_FRAME);
  uint64_t hash = srv_fnv64(data, len);
  const srv_cache *c = rc == 0 ? srv_cache_find(srv, from, q.rid, hash) : NULL;
  if (c != NULL) {
    srv->st.duplicates++;
    srv_respond_bytes(srv, from, c->bytes, c->len);
  } else if (rc != 0) {
    srv_reject(srv, from, &q, rc);
  } else {
    srv_handle(srv, now_us, from, &q, hash);
  }
  srv_wipe(&q, sizeof q); /* holds a password */
  return 0;
}

/* ---- timers ------------------------------------------------------------- */

void chorus_server_tick(chorus_server *srv, uint64_t now_us) {
  if (srv == NULL || (srv->cfg.replicated && !srv->leading)) return;
  size_t records = 0;
  for (size_t i = 0; i < srv->cfg.accounts_max; i++) {
    const srv_account *a = &srv->acct[i];
    if (!srv_lease_running(a) || a->lease_until_us > now_us) continue;
    /* EXPIRED, LEAVE, and the PERSIST or RECORD; a bounded number of
     * records per call, so the driver can make room in its log. */
    if (srv_out_free(srv) < 3 || records == CHORUS_SERVER_RECORDS_PER_INPUT) break;
    records += (size_t)srv_expire(srv, (uint32_t)i);
  }
}

uint64_t chorus_server_deadline(const chorus_server *srv) {
  uint64_t d = UINT64_MAX;
  if (srv == NULL) return d;
  for (size_t i = 0; i < srv->cfg.accounts_max; i++) {
    const srv_account *a = &srv->acct[i];
    if (srv_lease_running(a) && a->lease_until_us < d) d = a->lease_until_us;
  }
  return d;
}

/* ---- snapshot ----------------------------------------------------------- */

size_t chorus_server_poll_bytes_min(const chorus_server *srv) {
  size_t n = CHORUS_SERVER_SNAPSHOT_HEADER_BYTES + CHORUS_SHA256_DIGEST_BYTES +
             srv->cfg.accounts_max * CHORUS_SERVER_SNAPSHOT_ACCOUNT_BYTES_MAX +
             srv->cfg.rooms_max * CHORUS_SERVER_SNAPSHOT_ROOM_BYTES_MAX +
             chorus_mailbox_bytes_max(srv->mb);
  return n < CHORUS_SRV_DATAGRAM_BYTES_MAX ? CHORUS_SRV_DATAGRAM_BYTES_MAX : n;
}

typedef struct snap_w {
  uint8_t *p;
  size_t off;
} snap_w;

static void sw_u8(snap_w *w, uint8_t v) { w->p[w->off++] = v; }

static void sw_u32(snap_w *w, uint32_t v) {
  chorus_wire_put_u32(w->p + w->off, v);
  w->off += 4;
}

static void sw_bytes(snap_w *w, const void *b, size_t n) {
  memcpy(w->p + w->off, b, n);
  w->off += n;
}

static void sw_str(snap_w *w, const char *s, size_t n) {
  sw_u8(w, (uint8_t)n);
  sw_bytes(w, s, n);
}

static void sw_addr(snap_w *w, const chorus_srv_addr *a) {
  sw_u8(w, a->len);
  sw_bytes(w, a->bytes, a->len);
}

static size_t srv_snapshot_size(const chorus_server *s) {
  size_t n = CHORUS_SERVER_SNAPSHOT_HEADER_BYTES + CHORUS_SHA256_DIGEST_BYTES;
  for (size_t i = 0; i < s->acct_count; i++) {
    const srv_account *a = &s->acct[s->acct_order[i]];
    n += 1 + a->name_len + sizeof a->salt + sizeof a->hash + 4 + 1 + a->creator.len + 4 + 1 +
         a->peer.len;
  }
  for (size_t i = 0; i < s->room_count; i++) {
    const srv_room *r = &s->room[s->room_order[i]];
    n += 1 + r->name_len + 1;
    for (size_t k = 0; k < r->count; k++) n += 2 + s->acct[r->members[k]].name_len;
  }
  return n + chorus_mailbox_bytes(s->mb);
}

static void srv_snapshot_body(const chorus_server *s, snap_w *w) {
  for (size_t i = 0; i < s->acct_count; i++) {
    const srv_account *a = &s->acct[s->acct_order[i]];
    sw_str(w, a->name, a->name_len);
    sw_bytes(w, a->salt, sizeof a->salt);
    sw_bytes(w, a->hash, sizeof a->hash);
    sw_u32(w, a->iterations);
    sw_addr(w, &a->creator);
    sw_u32(w, a->creator_rid);
    sw_addr(w, &a->peer);
  }
  for (size_t i = 0; i < s->room_count; i++) {
    const srv_room *r = &s->room[s->room_order[i]];
    sw_str(w, r->name, r->name_len);
    sw_u8(w, r->count);
    for (size_t k = 0; k < r->count; k++) {
      const srv_account *a = &s->acct[r->members[k]];
      sw_u8(w, r->seat[k]);
      sw_str(w, a->name, a->name_len);
    }
  }
  int n = chorus_mailbox_encode(s->mb, w->p + w->off, chorus_mailbox_bytes(s->mb));
  assert(n >= 0);
  w->off += (size_t)(n > 0 ? n : 0);
}

int chorus_server_snapshot_encode(const chorus_server *srv, uint8_t *buf, size_t cap_bytes) {
  if (srv == NULL || buf == NULL) return CHORUS_ERR_INVAL;
  size_t n = srv_snapshot_size(srv);
  if (n > cap_bytes || n > INT32_MAX) return CHORUS_ERR_NOBUF;
  snap_w w = {buf, 0};
  sw_bytes(&w, "CSNP", 4);
  sw_u8(&w, 0);
  sw_u8(&w, CHORUS_SERVER_SNAPSHOT_VERSION);
  sw_u8(&w, 0);
  sw_u8(&w, 0);
  sw_u32(&w, (uint32_t)(srv->seq >> 32));
  sw_u32(&w, (uint32_t)srv->seq);
  sw_u32(&w, (uint32_t)n);
  sw_u32(&w, (uint32_t)srv->acct_count);
  sw_u32(&w, (uint32_t)srv->room_count);
  srv_snapshot_body(srv, &w);
  (void)chorus_sha256(buf, w.off, buf + w.off);
  return (int)n;
}

/* Reader over a snapshot body; any overrun is corruption. */
typedef struct snap_r {
  const uint8_t *p;
  size_t len, off;
  const char *why; /* first error, or NULL */
} snap_r;

static int sr_need(snap_r *r, size_t n) {
  if (r->why) return 0;
  if (r->len - r->off < n) {
    r->why = "corrupt snapshot: a record runs past the end";
    return 0;
  }
  return 1;
}

static uint8_t sr_u8(snap_r *r) { return sr_need(r, 1) ? r->p[r->off++] : 0; }

static uint32_t sr_u32(snap_r *r) {
  if (!sr_need(r, 4)) return 0;
  uint32_t v = chorus_wire_get_u32(r->p + r->off);
  r->off += 4;
  return v;
}

static void sr_bytes(snap_r *r, void *out, size_t n) {
  if (!sr_need(r, n)) return;
  memcpy(out, r->p + r->off, n);
  r->off += n;
}

/* A name (1..31 valid bytes) into out; its length, 0 on error. */
static size_t sr_name(snap_r *r, char *out, const char *why_bad) {
  size_t n = sr_u8(r);
  if (n > CHORUS_NAME_BYTES_MAX && !r->why) r->why = why_bad;
  if (r->why) return 0;
  sr_bytes(r, out, n);
  if (r->why) return 0;
  out[n] = '\0';
  if (!chorus_srv_name_valid(out, n)) {
    r->why = why_bad;
    return 0;
  }
  return n;
}

static void sr_addr(snap_r *r, chorus_srv_addr *a) {
  a->len = sr_u8(r);
  if (a->len > CHORUS_SRV_ADDR_BYTES_MAX && !r->why)
    r->why = "corrupt snapshot: an address longer than 28 bytes";
  if (!r->why) sr_bytes(r, a->bytes, a->len);
}

static void srv_reset(chorus_server *s) {
  srv_wipe(s->acct, s->cfg.accounts_max * sizeof *s->acct);
  memset(s->room, 0, s->cfg.rooms_max * sizeof *s->room);
  chorus_mailbox_clear(s->mb);
  s->acct_count = s->room_count = s->sessions = 0;
  s->seq = 0;
}

static void srv_load_account(chorus_server *s, snap_r *r, uint32_t slot) {
  srv_account *a = &s->acct[slot];
  a->name_len = (uint8_t)sr_name(r, a->name, "corrupt snapshot: a bad account name");
  sr_bytes(r, a->salt, sizeof a->salt);
  sr_bytes(r, a->hash, sizeof a->hash);
  a->iterations = sr_u32(r);
  sr_addr(r, &a->creator);
  a->creator_rid = sr_u32(r);
  sr_addr(r, &a->peer);
  a->room = SRV_NONE;
  if (r->why) return;
  if (a->iterations == 0 || a->iterations > CHORUS_SERVER_ITERATIONS_MAX)
    r->why = "corrupt snapshot: an iteration count out of range";
  if (slot > 0) {
    const srv_account *prev = &s->acct[slot - 1];
    if (srv_namecmp(prev->name, prev->name_len, a->name, a->name_len) >= 0 && !r->why)
      r->why = "corrupt snapshot: accounts out of order or duplicated";
  }
  a->used = 1;
  s->acct_order[slot] = slot;
  s->acct_count = slot + 1u;
}

static void srv_load_member(chorus_server *s, snap_r *r, uint64_t now_us, uint32_t room) {
  char name[CHORUS_NAME_BYTES_MAX + 1];
  srv_room *rm = &s->room[room];
  uint8_t seat = sr_u8(r);
  sr_name(r, name, "corrupt snapshot: a bad room member name");
  if (r->why) return;
  for (size_t i = 0; i < rm->count; i++)
    if (rm->seat[i] == seat) r->why = "corrupt snapshot: two room members in one seat";
  if (seat >= CHORUS_MEMBERS_MAX) r->why = "corrupt snapshot: a room seat out of range";
  if (r->why) return;
  int32_t slot = srv_acct_find(s, name);
  if (slot == SRV_NONE) {
    r->why = "corrupt snapshot: a room member is not an account";
    return;
  }
  srv_account *a = &s->acct[slot];
  if (a->room != SRV_NONE) {
    r->why = "corrupt snapshot: an account is in two rooms";
    return;
  }
  a->room = (int32_t)room;
  a->lease_until_us = now_us + s->cfg.lease_us;
  rm->seat[rm->count] = seat;
  rm->members[rm->count++] = (uint32_t)slot;
}

/* Returns 0, or CHORUS_ERR_CONFIG / CHORUS_ERR_BAD_FRAME with r->why. */
static int srv_load_room(chorus_server *s, snap_r *r, uint64_t now_us, uint32_t slot) {
  srv_room *rm = &s->room[slot];
  rm->name_len = (uint8_t)sr_name(r, rm->name, "corrupt snapshot: a bad room name");
  size_t n = sr_u8(r);
  if (r->why) return CHORUS_ERR_BAD_FRAME;
  if (slot > 0) {
    const srv_room *prev = &s->room[slot - 1];
    if (srv_namecmp(prev->name, prev->name_len, rm->name, rm->name_len) >= 0) {
      r->why = "corrupt snapshot: rooms out of order or duplicated";
      return CHORUS_ERR_BAD_FRAME;
    }
  }
  if (n > CHORUS_MEMBERS_MAX) {
    r->why = "corrupt snapshot: a room with more than 10 members";
    return CHORUS_ERR_BAD_FRAME;
  }
  if (n > s->cfg.room_members_max) {
    r->why = "snapshot has a room with more members than this server allows";
    return CHORUS_ERR_CONFIG;
  }
  rm->used = 1;
  s->room_order[slot] = slot;
  s->room_count = slot + 1u;
  for (size_t k = 0; k < n && !r->why; k++) srv_load_member(s, r, now_us, slot);
  return r->why ? CHORUS_ERR_BAD_FRAME : 0;
}

/* Header checks; returns 0 or the error with *why. */
static int srv_load_header(const uint8_t *d, size_t len, const char **why) {
  if (len < 4 || memcmp(d, "CSNP", 4) != 0) {
    *why = len < 4 ? "snapshot truncated: shorter than its magic"
                   : "not a chorus server snapshot (bad magic)";
    return len < 4 ? CHORUS_ERR_TRUNCATED : CHORUS_ERR_BAD_MAGIC;
  }
  if (len < 6) { *why = "snapshot truncated: no version"; return CHORUS_ERR_TRUNCATED; }
  if (chorus_wire_get_u16(d + 4) != CHORUS_SERVER_SNAPSHOT_VERSION) {
    *why = "snapshot version not supported by this build";
    return CHORUS_ERR_BAD_VERSION;
  }
  if (len < CHORUS_SERVER_SNAPSHOT_HEADER_BYTES + CHORUS_SHA256_DIGEST_BYTES) {
    *why = "snapshot truncated: shorter than its header";
    return CHORUS_ERR_TRUNCATED;
  }
  uint32_t total = chorus_wire_get_u32(d + 16);
  if (total != len) {
    *why = total > len ? "snapshot truncated: shorter than its length field (torn write?)"
                       : "corrupt snapshot: bytes after its end";
    return total > len ? CHORUS_ERR_TRUNCATED : CHORUS_ERR_BAD_FRAME;
  }
  uint8_t sum[CHORUS_SHA256_DIGEST_BYTES];
  (void)chorus_sha256(d, len - sizeof sum, sum);
  if (memcmp(sum, d + len - sizeof sum, sizeof sum) != 0) {
    *why = "corrupt snapshot: checksum mismatch";
    return CHORUS_ERR_BAD_FRAME;
  }
  if (chorus_wire_get_u16(d + 6) != 0) {
    *why = "corrupt snapshot: unknown flags";
    return CHORUS_ERR_BAD_FRAME;
  }
  return 0;
}

static int srv_load_body(chorus_server *s, uint64_t now_us, const uint8_t *d, size_t len,
                         const char **why) {
  uint32_t n_acct = chorus_wire_get_u32(d + 20), n_room = chorus_wire_get_u32(d + 24);
  if (n_acct > s->cfg.accounts_max || n_room > s->cfg.rooms_max) {
    *why = n_acct > s->cfg.accounts_max ? "snapshot has more accounts than this server allows"
                                        : "snapshot has more rooms than this server allows";
    return CHORUS_ERR_CONFIG;
  }
  snap_r r = {d, len - CHORUS_SHA256_DIGEST_BYTES, CHORUS_SERVER_SNAPSHOT_HEADER_BYTES, NULL};
  for (uint32_t i = 0; i < n_acct && !r.why; i++) srv_load_account(s, &r, i);
  int rc = 0;
  for (uint32_t i = 0; i < n_room && !r.why; i++) rc = srv_load_room(s, &r, now_us, i);
  if (!r.why) {
    size_t used = 0;
    int mrc = chorus_mailbox_decode(s->mb, d + r.off, r.len - r.off, &used);
    if (mrc == CHORUS_ERR_CONFIG) {
      *why = "snapshot has more offline messages than this server allows";
      return CHORUS_ERR_CONFIG;
    }
    if (mrc != 0) r.why = "corrupt snapshot: bad offline messages";
    r.off += used;
  }
  if (!r.why && r.off != r.len) r.why = "corrupt snapshot: bytes after the last room";
  if (r.why) {
    *why = r.why;
    return rc ? rc : CHORUS_ERR_BAD_FRAME;
  }
  s->seq = ((uint64_t)chorus_wire_get_u32(d + 8) << 32) | chorus_wire_get_u32(d + 12);
  return 0;
}

int chorus_server_load(chorus_server *srv, uint64_t now_us, const uint8_t *data, size_t len,
                       const char **why) {
  const char *scratch;
  if (why == NULL) why = &scratch;
  *why = "invalid argument, or the server already ran";
  if (srv == NULL || data == NULL || srv->used) return CHORUS_ERR_INVAL;
  int rc = srv_load_header(data, len, why);
  if (rc == 0) rc = srv_load_body(srv, now_us, data, len, why);
  if (rc != 0) {
    srv_reset(srv);
    return rc;
  }
  srv->used = 1;
  *why = "ok";
  return 0;
}

/* ---- output ------------------------------------------------------------- */

int chorus_server_poll(chorus_server *srv, chorus_server_output *out, uint8_t *buf,
                       size_t cap_bytes) {
  if (srv == NULL || out == NULL || buf == NULL) return CHORUS_ERR_INVAL;
  memset(out, 0, sizeof *out);
  if (srv->out_len == 0) return 0;
  const srv_out *o = &srv->outq[srv->out_head];
  if (o->kind == CHORUS_SERVER_OUT_PERSIST) {
    srv->seq++;
    int n = chorus_server_snapshot_encode(srv, buf, cap_bytes);
    if (n < 0) {
      srv->seq--;
      return n;
    }
    out->len = (size_t)n;
    out->snapshot_seq = srv->seq;
    srv->st.persists++;
  } else if (o->kind == CHORUS_SERVER_OUT_RESPONSE || o->kind == CHORUS_SERVER_OUT_RECORD) {
    if (cap_bytes < o->len) return CHORUS_ERR_NOBUF;
    memcpy(buf, o->bytes, o->len);
    out->len = o->len;
    out->to = o->to;
  } else {
    out->event = o->event;
    memcpy(out->user, o->user, sizeof out->user);
    memcpy(out->room, o->room, sizeof out->room);
    out->detail = o->detail;
  }
  out->kind = o->kind;
  out->data = buf;
  srv->out_head = (srv->out_head + 1) % CHORUS_SERVER_OUTQ_MAX;
  srv->out_len--;
  return 0;
}

void chorus_server_stats_get(const chorus_server *srv, chorus_server_stats *out) {
  *out = srv->st;
  out->accounts = (uint32_t)srv->acct_count;
  out->rooms = (uint32_t)srv->room_count;
  out->sessions = (uint32_t)srv->sessions;
  out->cache_used = (uint32_t)srv->cache_used;
}

/* ---- replicated mode ---------------------------------------------------- */

int chorus_server_apply(chorus_server *srv, uint64_t now_us, const uint8_t *data, size_t len) {
  (void)now_us; /* records carry no time: a replica's state is the log's */
  if (srv == NULL || (data == NULL && len > 0)) return CHORUS_ERR_INVAL;
  if (srv_out_free(srv) < CHORUS_SERVER_OUT_PER_INPUT) return CHORUS_ERR_QUEUE_FULL;
  chorus_srvrec r;
  int rc = chorus_srvrec_decode(data, len, &r);
  if (rc != 0) return CHORUS_ERR_BAD_FRAME;
  srv->used = 1;
  rc = srv_apply(srv, &r);
  srv_wipe(&r, sizeof r); /* a password hash */
  return rc == CHORUS_ERR_BAD_FRAME ? rc : (rc ? CHORUS_ERR_CONFIG : 0);
}

void chorus_server_set_leading(chorus_server *srv, uint64_t now_us, int leading) {
  if (srv == NULL) return;
  srv->leading = leading;
  for (size_t i = 0; i < srv->cfg.accounts_max; i++) {
    srv_account *a = &srv->acct[i];
    if (!a->used) continue;
    if (!leading) srv_session_drop(srv, a);
    else if (!a->has_session && a->room != SRV_NONE) a->lease_until_us = now_us + srv->cfg.lease_us;
  }
}

size_t chorus_server_out_free(const chorus_server *srv) { return srv ? srv_out_free(srv) : 0; }

const char *chorus_server_event_name(int event) {
  static const char *const names[] = {"signup", "login", "login-failed", "locked-out",
                                      "logout", "expired", "delete", "room-create",
                                      "join",   "leave", "msg-store", "msg-ack"};
  if (event < 0 || event >= (int)(sizeof names / sizeof names[0])) return "unknown";
  return names[event];
}

/* ---- cluster file ------------------------------------------------------- */

#define CL_FIELDS 5

typedef struct cl_fields {
  const uint8_t *f[CL_FIELDS];
  size_t len[CL_FIELDS];
  size_t n; /* fields seen (may exceed CL_FIELDS) */
} cl_fields;

static int cl_fail(chorus_cluster_error *err, int rc, size_t line, const char *why,
                   const uint8_t *field, size_t flen) {
  err->line = line;
  err->why = why;
  size_t n = flen < CHORUS_NAME_BYTES_MAX ? flen : CHORUS_NAME_BYTES_MAX;
  for (size_t i = 0; i < n; i++)
    err->field[i] = (field[i] > 0x20 && field[i] < 0x7f) ? (char)field[i] : '?';
  err->field[n] = '\0';
  return rc;
}

static int cl_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Split line[0..len) into fields, up to a '#'. 0, or a control byte's
 * offset + 1. */
static size_t cl_split(const uint8_t *line, size_t len, cl_fields *out) {
  out->n = 0;
  size_t i = 0;
  while (i < len && line[i] != '#') {
    if (line[i] < 0x20 && !cl_space(line[i])) return i + 1;
    if (line[i] == 0x7f) return i + 1;
    if (cl_space(line[i])) { i++; continue; }
    size_t start = i;
    while (i < len && line[i] != '#' && line[i] > 0x20 && line[i] != 0x7f) i++;
    if (out->n < CL_FIELDS) {
      out->f[out->n] = line + start;
      out->len[out->n] = i - start;
    }
    out->n++;
  }
  for (; i < len; i++) /* the comment: anything but NUL */
    if (line[i] == 0) return i + 1;
  return 0;
}

/* Decimal digits only, value <= max. */
static int cl_uint(const uint8_t *p, size_t n, uint32_t max, uint32_t *out) {
  if (n == 0 || n > 10) return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return 0;
    v = v * 10 + (uint64_t)(p[i] - '0');
  }
  if (v > max) return 0;
  *out = (uint32_t)v;
  return 1;
}

/* Host: a name, IPv4, bare IPv6 or [IPv6]; letters, digits, . - _ : % */
static int cl_host_ok(const uint8_t *p, size_t n) {
  if (n == 0 || n > CHORUS_CLUSTER_HOST_BYTES_MAX) return 0;
  size_t lo = 0, hi = n;
  if (p[0] == '[') {
    if (n < 3 || p[n - 1] != ']') return 0;
    lo = 1;
    hi = n - 1;
  }
  for (size_t i = lo; i < hi; i++) {
    uint8_t c = p[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '-' || c == '_' || c == ':' || c == '%';
    if (!ok) return 0;
  }
  return 1;
}

/* Fill `r` from the five fields; 0 or the error. */
static int cl_replica(const cl_fields *fl, size_t line, chorus_cluster_replica *r,
                      chorus_cluster_error *err) {
  static const char *const port_why[2] = {"bad CLIENT_PORT: use 1-65535",
                                          "bad PEER_PORT: use 1-65535"};
  if (!chorus_srv_name_valid((const char *)fl->f[0], fl->len[0]))
    return cl_fail(err, CHORUS_ERR_BAD_FRAME, line, "bad ID: use 1-31 of A-Z a-z 0-9 _ . -",
                   fl->f[0], fl->len[0]);
  if (!cl_host_ok(fl->f[1], fl->len[1]))
    return cl_fail(err, CHORUS_ERR_BAD_FRAME, line,
                   "bad HOST: a name, IPv4 or IPv6 address of at most 255 bytes", fl->f[1],
                   fl->len[1]);
  uint32_t port[2];
  for (size_t k = 0; k < 2; k++)
    if (!cl_uint(fl->f[2 + k], fl->len[2 + k], 65535, &port[k]) || port[k] == 0)
      return cl_fail(err, CHORUS_ERR_BAD_FRAME, line, port_why[k], fl->f[2 + k],
                     fl->len[2 + k]);
  if (!cl_uint(fl->f[4], fl->len[4], UINT32_MAX, &r->priority))
    return cl_fail(err, CHORUS_ERR_BAD_FRAME, line, "bad PRIORITY: use 0-4294967295",
                   fl->f[4], fl->len[4]);
  if (port[0] == port[1])
    return cl_fail(err, CHORUS_ERR_BAD_FRAME, line, "CLIENT_PORT and PEER_PORT are the same",
                   fl->f[3], fl->len[3]);
  memcpy(r->id, fl->f[0], fl->len[0]);
  r->id[fl->len[0]] = '\0';
  memcpy(r->host, fl->f[1], fl->len[1]);
  r->host[fl->len[1]] = '\0';
  r->client_port = (uint16_t)port[0];
  r->peer_port = (uint16_t)port[1];
  r->line = line;
  return 0;
}

static int cl_port_clash(const chorus_cluster_replica *a, const chorus_cluster_replica *b) {
  return strcmp(a->host, b->host) == 0 &&
         (a->client_port == b->client_port || a->client_port == b->peer_port ||
          a->peer_port == b->client_port || a->peer_port == b->peer_port);
}

/* Compare the new replica r with the earlier ones. */
static int cl_unique(const chorus_cluster *c, const chorus_cluster_replica *r,
                     chorus_cluster_error *err) {
  for (size_t i = 0; i < c->count; i++) {
    const chorus_cluster_replica *o = &c->replicas[i];
    const char *why = NULL;
    const char *field = r->id;
    char prio[11];
    if (strcmp(o->id, r->id) == 0) why = "duplicate ID";
    else if (o->priority == r->priority) {
      why = "duplicate PRIORITY: the Fast Bully election needs distinct priorities";
      size_t n = 0;
      uint32_t v = r->priority;
      char rev[10];
      do { rev[n++] = (char)('0' + v % 10); v /= 10; } while (v > 0);
      for (size_t k = 0; k < n; k++) prio[k] = rev[n - 1 - k];
      prio[n] = '\0';
      field = prio;
    } else if (cl_port_clash(o, r)) {
      why = "duplicate address: this HOST already uses one of these ports";
      field = r->host;
    }
    if (why) {
      err->other_line = o->line;
      return cl_fail(err, CHORUS_ERR_BAD_FRAME, r->line, why, (const uint8_t *)field,
                     strlen(field));
    }
  }
  return 0;
}

/* One line (without its '\n'). */
static int cl_line(const uint8_t *line, size_t len, size_t lineno, chorus_cluster *c,
                   chorus_cluster_error *err) {
  if (len > CHORUS_CLUSTER_LINE_BYTES_MAX)
    return cl_fail(err, CHORUS_ERR_TOO_BIG, lineno, "line longer than 1024 bytes", line, 0);
  cl_fields fl;
  size_t bad = cl_split(line, len, &fl);
  if (bad)
    return cl_fail(err, CHORUS_ERR_BAD_FRAME, lineno, "control character or NUL byte", line, 0);
  if (fl.n == 0) return 0;
  if (fl.n != CL_FIELDS)
    return cl_fail(err, CHORUS_ERR_BAD_FRAME, lineno,
                   "expected 5 fields: ID HOST CLIENT_PORT PEER_PORT PRIORITY", fl.f[0],
                   fl.len[0]);
  if (c->count >= CHORUS_CLUSTER_REPLICAS_MAX)
    return cl_fail(err, CHORUS_ERR_CONFIG, lineno, "more than 9 replicas", fl.f[0], fl.len[0]);
  chorus_cluster_replica *r = &c->replicas[c->count];
  int rc = cl_replica(&fl, lineno, r, err);
  if (rc == 0) rc = cl_unique(c, r, err);
  if (rc == 0) c->count++;
  return rc;
}

int chorus_cluster_parse(const uint8_t *text, size_t len, chorus_cluster *out,
                         chorus_cluster_error *err) {
  chorus_cluster_error scratch;
  if (err == NULL) err = &scratch;
  memset(err, 0, sizeof *err);
  if (out == NULL || (text == NULL && len > 0)) {
    err->why = "invalid argument";
    return CHORUS_ERR_INVAL;
  }
  memset(out, 0, sizeof *out);
  if (len > CHORUS_CLUSTER_FILE_BYTES_MAX)
    return cl_fail(err, CHORUS_ERR_TOO_BIG, 0, "cluster file larger than 64 KiB", text, 0);
  size_t start = 0, lineno = 1;
  while (start < len) {
    size_t end = start;
    while (end < len && text[end] != '\n') end++;
    int rc = cl_line(text + start, end - start, lineno, out, err);
    if (rc != 0) {
      memset(out->replicas, 0, sizeof out->replicas);
      out->count = 0;
      return rc;
    }
    start = end + 1;
    lineno++;
  }
  if (out->count == 0)
    return cl_fail(err, CHORUS_ERR_CONFIG, 0, "no replica in the cluster file", text, 0);
  return 0;
}

int chorus_cluster_find(const chorus_cluster *c, const char *id) {
  if (c == NULL || id == NULL) return -1;
  for (size_t i = 0; i < c->count; i++)
    if (strcmp(c->replicas[i].id, id) == 0) return (int)i;
  return -1;
}
