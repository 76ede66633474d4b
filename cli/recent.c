#include "recent.h"

#include <stdlib.h>
#include <string.h>

typedef struct recent_entry {
  uint64_t pos;      /* where its name and text start (absolute byte count) */
  uint64_t time_ms;
  int kind;
  uint8_t name_len;
  size_t text_len;
} recent_entry;

struct chorus_recent {
  recent_entry ent[CHORUS_RECENT_MSGS];
  size_t head, count;  /* ring of entries */
  uint64_t start, end; /* bytes in use: [start, end) modulo CHORUS_RECENT_BYTES */
  uint8_t bytes[CHORUS_RECENT_BYTES];
};

chorus_recent *chorus_recent_new(void) { return calloc(1, sizeof(chorus_recent)); }

void chorus_recent_free(chorus_recent *r) { free(r); }

size_t chorus_recent_count(const chorus_recent *r) { return r->count; }

static void recent_drop_oldest(chorus_recent *r) {
  r->head = (r->head + 1) % CHORUS_RECENT_MSGS;
  r->count--;
  r->start = r->count ? r->ent[r->head].pos : r->end;
}

static void recent_put(chorus_recent *r, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) r->bytes[(r->end + i) % CHORUS_RECENT_BYTES] = p[i];
  r->end += n;
}

void chorus_recent_add(chorus_recent *r, uint64_t time_ms, int kind, const char *name,
                       const uint8_t *text, size_t text_len_bytes) {
  size_t name_len = strlen(name);
  if (name_len > 31) name_len = 31;
  if (text_len_bytes > CHORUS_RECENT_BYTES - name_len)
    text_len_bytes = CHORUS_RECENT_BYTES - name_len;
  size_t need = name_len + text_len_bytes;
  while (r->count > 0 &&
         (r->count == CHORUS_RECENT_MSGS || r->end - r->start + need > CHORUS_RECENT_BYTES))
    recent_drop_oldest(r);
  recent_entry *e = &r->ent[(r->head + r->count++) % CHORUS_RECENT_MSGS];
  e->pos = r->end;
  e->time_ms = time_ms;
  e->kind = kind;
  e->name_len = (uint8_t)name_len;
  e->text_len = text_len_bytes;
  if (r->count == 1) r->start = r->end;
  recent_put(r, (const uint8_t *)name, name_len);
  recent_put(r, text, text_len_bytes);
}

int chorus_recent_get(const chorus_recent *r, size_t i, chorus_recent_msg *out, uint8_t *text,
                      size_t cap_bytes) {
  if (i >= r->count) return -1;
  const recent_entry *e = &r->ent[(r->head + i) % CHORUS_RECENT_MSGS];
  out->time_ms = e->time_ms;
  out->kind = e->kind;
  for (size_t k = 0; k < e->name_len; k++)
    out->name[k] = (char)r->bytes[(e->pos + k) % CHORUS_RECENT_BYTES];
  out->name[e->name_len] = '\0';
  out->text_len = e->text_len < cap_bytes ? e->text_len : cap_bytes;
  for (size_t k = 0; k < out->text_len; k++)
    text[k] = r->bytes[(e->pos + e->name_len + k) % CHORUS_RECENT_BYTES];
  return 0;
}
