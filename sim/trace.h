/*
 * chorus_trace: the simulator's event trace. Each event is one text line
 * "<time_us> <what> ...\n". The trace hash is FNV-1a 64 over the bytes of
 * every line, in order: the text is plain ASCII, so the hash does not depend
 * on the host's byte order. Lines are written to a stream only if one is
 * given; hashing alone costs no I/O.
 */
#ifndef CHORUS_SIM_TRACE_H
#define CHORUS_SIM_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CHORUS_TRACE_LINE_BYTES 256 /* longest line, newline included */
#define CHORUS_TRACE_FNV_OFFSET 0xcbf29ce484222325ull
#define CHORUS_TRACE_FNV_PRIME 0x100000001b3ull

typedef struct chorus_trace {
  uint64_t hash;     /* FNV-1a 64 of every byte so far */
  uint64_t lines;    /* lines traced */
  uint64_t overlong; /* lines cut or malformed (a simulator bug if > 0) */
  int write_failed;  /* 1 once writing to `out` failed */
  FILE *out;         /* not owned; NULL: hash only */
} chorus_trace;

/* chorus_trace_init starts an empty trace written to `out` (may be NULL). */
void chorus_trace_init(chorus_trace *t, FILE *out);

/*
 * chorus_trace_line appends the line "<at_us> " + printf(fmt, ...) + "\n".
 * Only the conversions %s %d %u %zu %llu %x %0Nu %0Nx %% are supported
 * (a fast formatter of its own, same output as printf). A line longer than
 * CHORUS_TRACE_LINE_BYTES is cut, and a line with another conversion is
 * malformed: both are counted in t->overlong, which fails the run. A failed
 * write sets t->write_failed.
 */
void chorus_trace_line(chorus_trace *t, uint64_t at_us, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* chorus_trace_fnv1a continues FNV-1a 64 hash `h` over data[0..len_bytes). */
uint64_t chorus_trace_fnv1a(uint64_t h, const void *data, size_t len_bytes);

#endif
