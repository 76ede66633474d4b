#include "evq.h"

#include <stdlib.h>

#include "err.h"

#define EVQ_CAPACITY_MAX ((size_t)1 << 28)

struct chorus_evq {
  chorus_evq_event *ev; /* heap array, ev[0] is the earliest */
  size_t len, capacity, high_water;
  uint64_t next_seq;
};

int chorus_evq_new(size_t capacity, chorus_evq **out) {
  if (!out) return CHORUS_ERR_INVAL;
  *out = NULL;
  if (capacity == 0 || capacity > EVQ_CAPACITY_MAX) return CHORUS_ERR_CONFIG;
  chorus_evq *q = calloc(1, sizeof *q);
  if (!q) return CHORUS_ERR_NOMEM;
  q->ev = malloc(capacity * sizeof *q->ev);
  if (!q->ev) {
    free(q);
    return CHORUS_ERR_NOMEM;
  }
  q->capacity = capacity;
  *out = q;
  return 0;
}

void chorus_evq_free(chorus_evq *q) {
  if (!q) return;
  free(q->ev);
  free(q);
}

/* Strict order on (at_us, seq); seq is unique, so no two events compare equal. */
static int earlier(const chorus_evq_event *a, const chorus_evq_event *b) {
  if (a->at_us != b->at_us) return a->at_us < b->at_us;
  return a->seq < b->seq;
}

static void sift_up(chorus_evq_event *ev, size_t i) {
  chorus_evq_event moving = ev[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!earlier(&moving, &ev[parent])) break;
    ev[i] = ev[parent];
    i = parent;
  }
  ev[i] = moving;
}

static void sift_down(chorus_evq_event *ev, size_t len, size_t i) {
  chorus_evq_event moving = ev[i];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= len) break;
    if (child + 1 < len && earlier(&ev[child + 1], &ev[child])) child++;
    if (!earlier(&ev[child], &moving)) break;
    ev[i] = ev[child];
    i = child;
  }
  ev[i] = moving;
}

int chorus_evq_push(chorus_evq *q, const chorus_evq_event *ev) {
  if (q->len == q->capacity) return CHORUS_ERR_QUEUE_FULL;
  q->ev[q->len] = *ev;
  q->ev[q->len].seq = q->next_seq++;
  sift_up(q->ev, q->len);
  q->len++;
  if (q->len > q->high_water) q->high_water = q->len;
  return 0;
}

int chorus_evq_pop(chorus_evq *q, chorus_evq_event *out) {
  if (q->len == 0) return 0;
  *out = q->ev[0];
  q->len--;
  if (q->len > 0) {
    q->ev[0] = q->ev[q->len];
    sift_down(q->ev, q->len, 0);
  }
  return 1;
}

size_t chorus_evq_len(const chorus_evq *q) { return q->len; }

size_t chorus_evq_high_water(const chorus_evq *q) { return q->high_water; }
