#include "clock.h"

#include <time.h>

uint64_t chorus_clock_now_us(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint32_t chorus_clock_boot_epoch(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 1;
  long long since = (long long)ts.tv_sec - CHORUS_CLOCK_EPOCH_ORIGIN_S;
  if (since < 0) return 1;
  unsigned long long ds = (unsigned long long)since * 10u +
                          (unsigned long long)(ts.tv_nsec / 100000000L);
  if (ds == 0) return 1;
  if (ds > UINT32_MAX) return UINT32_MAX;
  return (uint32_t)ds;
}
