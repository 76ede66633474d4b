#include "bench_util.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int bench_open(chorus_udp_addr *bound) {
  chorus_udp_addr a;
  char err[256];
  int fd = -1;
  if (chorus_udp_resolve("127.0.0.1:1", AF_INET, 1, &a, err, sizeof err) != CHORUS_UDP_OK) {
    fprintf(stderr, "bench: %s\n", err);
    exit(1);
  }
  ((struct sockaddr_in *)&a.ss)->sin_port = 0; /* the kernel picks a free port */
  if (chorus_udp_open(&a, BENCH_SOCKBUF_BYTES, &fd, err, sizeof err) != CHORUS_UDP_OK) {
    fprintf(stderr, "bench: %s\n", err);
    exit(1);
  }
  chorus_udp_local(fd, bound);
  return fd;
}

static int bench_cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

bench_quant bench_quantiles(uint32_t *v, size_t n) {
  bench_quant q = {-1, -1};
  if (n == 0) return q;
  qsort(v, n, sizeof *v, bench_cmp_u32);
  q.p50_us = (double)v[(n - 1) * 50 / 100];
  q.p99_us = (double)v[(n - 1) * 99 / 100];
  return q;
}

/* "VmRSS:\t  1234 kB" -> 1234 when the line starts with key. */
static int bench_mem_line(const char *line, const char *key, uint64_t *out) {
  size_t k = strlen(key);
  if (strncmp(line, key, k) != 0) return 0;
  *out = strtoull(line + k, NULL, 10);
  return 1;
}

bench_mem bench_mem_read(void) {
  bench_mem m = {0, 0, 0};
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  if (f == NULL) return m; /* not Linux: the report says "n/a" */
  while (fgets(line, sizeof line, f) != NULL) {
    if (!bench_mem_line(line, "VmRSS:", &m.rss_kib) && !bench_mem_line(line, "VmHWM:", &m.hwm_kib))
      bench_mem_line(line, "RssAnon:", &m.anon_kib);
  }
  fclose(f);
  return m;
}

void bench_wait_fd(int fd, short events, int timeout_ms) {
  struct pollfd p = {fd, events, 0};
  (void)poll(&p, 1, timeout_ms);
}

int bench_write_all(int fd, const void *buf, size_t len_bytes) {
  const uint8_t *p = buf;
  while (len_bytes > 0) {
    ssize_t n = write(fd, p, len_bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len_bytes -= (size_t)n;
  }
  return 0;
}

int bench_read_all(int fd, void *buf, size_t len_bytes) {
  uint8_t *p = buf;
  while (len_bytes > 0) {
    ssize_t n = read(fd, p, len_bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len_bytes -= (size_t)n;
  }
  return 0;
}

size_t bench_stamp(char *text, size_t size_bytes, uint64_t now_us, uint32_t index) {
  int n = snprintf(text, BENCH_STAMP_BYTES_MAX, "%llu %lu ", (unsigned long long)now_us,
                   (unsigned long)index);
  size_t len = (size_t)n;
  if (size_bytes > len) {
    memset(text + len, 'x', size_bytes - len);
    len = size_bytes;
  }
  return len;
}

/* Decimal digits at t[*i..len) up to a space; -1 if none. */
static int bench_number(const uint8_t *t, size_t len, size_t *i, uint64_t *out) {
  uint64_t v = 0;
  size_t start = *i;
  while (*i < len && t[*i] >= '0' && t[*i] <= '9') v = v * 10 + (uint64_t)(t[(*i)++] - '0');
  if (*i == start || *i >= len || t[*i] != ' ') return -1;
  (*i)++;
  *out = v;
  return 0;
}

int bench_unstamp(const uint8_t *text, size_t len_bytes, uint64_t *sent_us, uint32_t *index) {
  size_t i = 0;
  uint64_t idx = 0;
  if (bench_number(text, len_bytes, &i, sent_us) < 0) return -1;
  if (bench_number(text, len_bytes, &i, &idx) < 0) return -1;
  *index = (uint32_t)idx;
  return 0;
}
