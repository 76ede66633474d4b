/*
 * chorus_clock: the two clocks the platform needs.
 *
 * The core never reads a clock; the driver passes chorus_clock_now_us() into
 * every core call. The wall clock is used only once per boot, to choose the
 * node's epoch (incarnation number).
 */
#ifndef CHORUS_PLATFORM_CLOCK_H
#define CHORUS_PLATFORM_CLOCK_H

#include <stdint.h>

/* 2024-01-01T00:00:00Z in seconds since the Unix epoch: origin of epochs. */
#define CHORUS_CLOCK_EPOCH_ORIGIN_S 1704067200LL

/*
 * chorus_clock_now_us returns CLOCK_MONOTONIC in microseconds (arbitrary
 * origin, never goes backwards). Returns 0 only if the clock is unavailable,
 * which POSIX.1-2008 systems with the Monotonic Clock option never do.
 */
uint64_t chorus_clock_now_us(void);

/*
 * chorus_clock_boot_epoch returns this boot's epoch: wall-clock deciseconds
 * since 2024-01-01T00:00:00Z, as a uint32 (good until August 2037). A node
 * restarted at least 0.1 s later therefore gets a larger epoch, without any
 * state on disk. Never returns 0 (a wall clock set before 2024 gives 1; one
 * past 2037 saturates at UINT32_MAX, so epochs stop growing: set the clock).
 */
uint32_t chorus_clock_boot_epoch(void);

#endif
