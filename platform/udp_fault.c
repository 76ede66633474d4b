#include "udp_fault.h"

#include <stdlib.h>
#include <string.h>

#include "prng.h"

typedef struct fault_held {
  uint64_t due_us;
  uint64_t seq; /* ties on due_us go out in arrival order */
  chorus_udp_addr to;
  size_t len;
  uint8_t data[CHORUS_DATAGRAM_BYTES_MAX];
} fault_held;

typedef uint8_t fault_slot[CHORUS_DATAGRAM_BYTES_MAX];

struct chorus_udp_fault {
  chorus_udp_fault_config cfg;
  chorus_prng prng;
  fault_held *held; /* unsorted array of cfg.delayed_max slots */
  size_t held_count;
  chorus_udp_msg batch[CHORUS_UDP_BATCH_MAX]; /* data points into slots */
  fault_slot *slots;                          /* CHORUS_UDP_BATCH_MAX */
  size_t batch_count;
  int gso; /* 1: same-size runs to one destination go segmented */
  uint64_t next_seq;
  chorus_udp_fault_stats st;
};

void chorus_udp_fault_config_default(chorus_udp_fault_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->delayed_max = CHORUS_UDP_FAULT_DELAYED_DEFAULT;
}

int chorus_udp_fault_new(const chorus_udp_fault_config *cfg, chorus_udp_fault **out) {
  if (cfg == NULL || out == NULL) return CHORUS_ERR_INVAL;
  if (cfg->drop_ppm > CHORUS_UDP_FAULT_PPM_ONE || cfg->dup_ppm > CHORUS_UDP_FAULT_PPM_ONE ||
      cfg->delay_ppm > CHORUS_UDP_FAULT_PPM_ONE || cfg->delayed_max == 0 ||
      cfg->delayed_max > CHORUS_UDP_FAULT_DELAYED_MAX)
    return CHORUS_ERR_CONFIG;
  chorus_udp_fault *f = calloc(1, sizeof *f);
  if (f == NULL) return CHORUS_ERR_NOMEM;
  f->held = calloc(cfg->delayed_max, sizeof *f->held);
  f->slots = malloc(CHORUS_UDP_BATCH_MAX * sizeof *f->slots);
  if (f->held == NULL || f->slots == NULL) {
    chorus_udp_fault_free(f);
    return CHORUS_ERR_NOMEM;
  }
  for (size_t i = 0; i < CHORUS_UDP_BATCH_MAX; i++) f->batch[i].data = f->slots[i];
  f->cfg = *cfg;
  f->gso = chorus_udp_gso_available();
  chorus_prng_init(&f->prng, cfg->seed);
  *out = f;
  return CHORUS_OK;
}

void chorus_udp_fault_free(chorus_udp_fault *f) {
  if (f == NULL) return;
  free(f->held);
  free(f->slots);
  free(f);
}

/* Count the outcome of one datagram the socket took or refused. */
static void fault_count(chorus_udp_fault *f, int rc, size_t len) {
  if (rc == CHORUS_UDP_OK) {
    f->st.sent++;
    f->st.sent_bytes += len;
  } else if (rc == CHORUS_UDP_WOULD_BLOCK) {
    f->st.would_block++;
  } else {
    f->st.send_errors++;
  }
}

/* Send the batch, grouped by destination for segmentation (which may
 * reorder it; each destination's datagrams keep their order). A refused
 * datagram is lost like a single sendto's (the core retransmits); the
 * ones after it still go. */
static void fault_send_batch(chorus_udp_fault *f, int fd) {
  size_t off = 0;
  while (off < f->batch_count) {
    size_t sent = 0;
    int gso = f->gso;
    int rc = chorus_udp_send_batch_gso(fd, f->batch + off, f->batch_count - off, &f->gso, &sent);
    if (gso && !f->gso) f->st.gso_fallbacks++;
    f->st.batches++;
    for (size_t i = 0; i < sent; i++) fault_count(f, CHORUS_UDP_OK, f->batch[off + i].len_bytes);
    off += sent;
    if (rc != CHORUS_UDP_OK) fault_count(f, rc, f->batch[off++].len_bytes);
  }
  f->batch_count = 0;
}

static void fault_put(chorus_udp_fault *f, int fd, const chorus_udp_addr *to,
                      const uint8_t *data, size_t len) {
  if (len > CHORUS_DATAGRAM_BYTES_MAX) { /* not ours to batch: keep the order */
    fault_send_batch(f, fd);
    fault_count(f, chorus_udp_send(fd, to, data, len), len);
    return;
  }
  if (f->batch_count == CHORUS_UDP_BATCH_MAX) fault_send_batch(f, fd);
  chorus_udp_msg *m = &f->batch[f->batch_count++];
  m->addr = *to;
  m->len_bytes = len;
  memcpy(m->data, data, len);
}

/* Hold one copy; 0 if the queue is full (the caller sends it at once). */
static int fault_hold(chorus_udp_fault *f, const chorus_udp_addr *to,
                      const uint8_t *data, size_t len, uint64_t now_us) {
  if (f->held_count == f->cfg.delayed_max || len > CHORUS_DATAGRAM_BYTES_MAX) {
    f->st.delay_overflow++;
    return 0;
  }
  fault_held *h = &f->held[f->held_count++];
  h->due_us = now_us + chorus_prng_range(&f->prng, 0, f->cfg.delay_max_us);
  h->seq = f->next_seq++;
  h->to = *to;
  h->len = len;
  memcpy(h->data, data, len);
  f->st.delayed++;
  return 1;
}

/* One copy: delayed or sent now. */
static void fault_emit(chorus_udp_fault *f, int fd, const chorus_udp_addr *to,
                       const uint8_t *data, size_t len, uint64_t now_us) {
  if (f->cfg.delay_ppm > 0 && chorus_prng_chance_ppm(&f->prng, f->cfg.delay_ppm) &&
      fault_hold(f, to, data, len, now_us))
    return;
  fault_put(f, fd, to, data, len);
}

void chorus_udp_fault_send(chorus_udp_fault *f, int fd, const chorus_udp_addr *to,
                           const uint8_t *data, size_t len_bytes, uint64_t now_us) {
  f->st.offered++;
  if (f->cfg.drop_ppm > 0 && chorus_prng_chance_ppm(&f->prng, f->cfg.drop_ppm)) {
    f->st.dropped++;
    return;
  }
  fault_emit(f, fd, to, data, len_bytes, now_us);
  if (f->cfg.dup_ppm > 0 && chorus_prng_chance_ppm(&f->prng, f->cfg.dup_ppm)) {
    f->st.duplicated++;
    fault_emit(f, fd, to, data, len_bytes, now_us);
  }
}

/* Index of the held datagram due first (queue must be non-empty). */
static size_t fault_first(const chorus_udp_fault *f) {
  size_t best = 0;
  for (size_t i = 1; i < f->held_count; i++) {
    const fault_held *a = &f->held[i], *b = &f->held[best];
    if (a->due_us < b->due_us || (a->due_us == b->due_us && a->seq < b->seq)) best = i;
  }
  return best;
}

uint64_t chorus_udp_fault_deadline(const chorus_udp_fault *f) {
  if (f->held_count == 0) return UINT64_MAX;
  return f->held[fault_first(f)].due_us;
}

void chorus_udp_fault_flush(chorus_udp_fault *f, int fd, uint64_t now_us) {
  while (f->held_count > 0) {
    size_t i = fault_first(f);
    fault_held *h = &f->held[i];
    if (h->due_us > now_us) break;
    fault_put(f, fd, &h->to, h->data, h->len);
    /* Unsorted array: fill the hole with the last entry. */
    f->held_count--;
    if (i != f->held_count) f->held[i] = f->held[f->held_count];
  }
  fault_send_batch(f, fd);
}

void chorus_udp_fault_stats_get(const chorus_udp_fault *f, chorus_udp_fault_stats *out) {
  *out = f->st;
  out->held = (uint32_t)f->held_count;
  out->batched = (uint32_t)f->batch_count;
}
