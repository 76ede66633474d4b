#include "disk.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

typedef struct disk_node {
  uint8_t *bytes;   /* bytes_max allocated at creation */
  size_t len;       /* bytes written */
  size_t synced;    /* bytes durable, <= len */
  size_t last_off;  /* start of the last write; the write ends at len */
} disk_node;

struct chorus_disk {
  chorus_disk_config cfg;
  chorus_disk_stats stats;
  disk_node node[CHORUS_DISK_NODES_MAX];
};

int chorus_disk_new(const chorus_disk_config *cfg, chorus_disk **out) {
  *out = NULL;
  if (cfg->nodes < 1 || cfg->nodes > CHORUS_DISK_NODES_MAX || cfg->bytes_max < 1 ||
      cfg->bytes_max > CHORUS_DISK_BYTES_MAX)
    return CHORUS_ERR_CONFIG;
  chorus_disk *d = calloc(1, sizeof *d);
  if (d == NULL) return CHORUS_ERR_NOMEM;
  d->cfg = *cfg;
  for (size_t i = 0; i < cfg->nodes; i++) {
    d->node[i].bytes = malloc(cfg->bytes_max);
    if (d->node[i].bytes == NULL) {
      chorus_disk_free(d);
      return CHORUS_ERR_NOMEM;
    }
  }
  *out = d;
  return CHORUS_OK;
}

void chorus_disk_free(chorus_disk *d) {
  if (d == NULL) return;
  for (size_t i = 0; i < d->cfg.nodes; i++) free(d->node[i].bytes);
  free(d);
}

static disk_node *node_of(chorus_disk *d, size_t node) {
  return node < d->cfg.nodes ? &d->node[node] : NULL;
}

int chorus_disk_write(chorus_disk *d, size_t node, const uint8_t *p, size_t n_bytes) {
  disk_node *nd = node_of(d, node);
  if (nd == NULL || (p == NULL && n_bytes > 0)) return CHORUS_ERR_INVAL;
  if (n_bytes > d->cfg.bytes_max - nd->len) return CHORUS_ERR_FULL;
  if (n_bytes == 0) return CHORUS_OK; /* nothing to tear: not "the last write" */
  memcpy(nd->bytes + nd->len, p, n_bytes);
  nd->last_off = nd->len;
  nd->len += n_bytes;
  d->stats.writes++;
  return CHORUS_OK;
}

void chorus_disk_sync(chorus_disk *d, size_t node) {
  disk_node *nd = node_of(d, node);
  if (nd == NULL) return;
  nd->synced = nd->len;
  d->stats.syncs++;
}

int chorus_disk_truncate(chorus_disk *d, size_t node, size_t len_bytes) {
  disk_node *nd = node_of(d, node);
  if (nd == NULL || len_bytes > nd->len) return CHORUS_ERR_INVAL;
  nd->len = nd->synced = nd->last_off = len_bytes;
  d->stats.truncations++;
  return CHORUS_OK;
}

/* Draws the fate of an unsynced tail and returns the cut: the length the
 * image keeps (for ZEROED, the length whose bytes stay real). */
static size_t draw_cut(const disk_node *nd, chorus_prng *prng, int *fate) {
  /* Every write since the last sync or truncation started at or after it. */
  assert(nd->last_off >= nd->synced);
  size_t from = nd->last_off;
  *fate = CHORUS_DISK_NONE + (int)chorus_prng_below(prng, 4);
  if (*fate == CHORUS_DISK_NONE) return nd->synced;
  if (*fate == CHORUS_DISK_ALL) return nd->len;
  return from + (size_t)chorus_prng_below(prng, nd->len - from);
}

int chorus_disk_crash(chorus_disk *d, size_t node, chorus_prng *prng,
                      chorus_disk_crash_info *info) {
  disk_node *nd = node_of(d, node);
  if (nd == NULL) return CHORUS_ERR_INVAL;
  int fate = CHORUS_DISK_CLEAN;
  size_t cut = nd->len, before = nd->len;
  if (nd->len > nd->synced) cut = draw_cut(nd, prng, &fate);
  assert(cut >= nd->synced && cut <= nd->len);
  if (fate == CHORUS_DISK_ZEROED) memset(nd->bytes + cut, 0, nd->len - cut);
  else nd->len = cut;
  nd->synced = nd->len;
  nd->last_off = nd->len;
  d->stats.crashes++;
  d->stats.fates[fate]++;
  if (info != NULL) {
    info->fate = fate;
    info->lost_bytes = before - cut;
    info->len_bytes = nd->len;
  }
  return CHORUS_OK;
}

const uint8_t *chorus_disk_image(const chorus_disk *d, size_t node, size_t *len_bytes) {
  *len_bytes = 0;
  if (node >= d->cfg.nodes) return NULL;
  *len_bytes = d->node[node].len;
  return d->node[node].bytes;
}

size_t chorus_disk_synced(const chorus_disk *d, size_t node) {
  return node < d->cfg.nodes ? d->node[node].synced : 0;
}

void chorus_disk_get_stats(const chorus_disk *d, chorus_disk_stats *out) { *out = d->stats; }
