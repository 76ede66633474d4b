/*
 * bench_report: the benchmark's one table, printed and written as
 * docs/BENCHMARKS.md (with the machine it ran on) and as an SVG bar chart
 * of every rate beside its raw baseline.
 *
 * Rows live in a fixed array of BENCH_ROWS_MAX; adding one more is a
 * programming error and exits.
 */
#ifndef CHORUS_BENCH_REPORT_H
#define CHORUS_BENCH_REPORT_H

#include <stddef.h>

#define BENCH_ROWS_MAX 40
#define BENCH_TEXT_BYTES 96

/* One figure. Negative numbers mean "not measured" and print as "-". */
typedef struct bench_row {
  char name[BENCH_TEXT_BYTES];
  double value;
  const char *unit;      /* "msg/s", "deliveries/s", "KiB", "bytes", ... */
  double p50_us, p99_us; /* latency quantiles */
  double ratio;          /* value (or p50 for latency rows) over its baseline */
  char baseline[BENCH_TEXT_BYTES]; /* what ratio compares with, "" if none */
  char measured[BENCH_TEXT_BYTES]; /* e.g. "179998/180000 delivered" */
  int raw;               /* 1: a raw UDP baseline row */
  int chart;             /* 1: drawn in the SVG (a rate) */
} bench_row;

/* The machine and the conditions of the run. */
typedef struct bench_machine {
  char cpu[BENCH_TEXT_BYTES];
  long cores;
  char kernel[BENCH_TEXT_BYTES];
  char compiler[BENCH_TEXT_BYTES];
  char date[BENCH_TEXT_BYTES];
  char load[BENCH_TEXT_BYTES]; /* load average before the run */
} bench_machine;

typedef struct bench_report {
  bench_row rows[BENCH_ROWS_MAX];
  size_t count;
  bench_machine machine;
  double seconds; /* wall time of the whole run */
  int rounds;     /* each phase ran this often; the best run is shown */
} bench_report;

/* bench_machine_read describes this machine (fields it cannot learn say
 * "unknown"). */
void bench_machine_read(bench_machine *m);

/* bench_report_add appends a row with every figure unmeasured and returns
 * it for the caller to fill. */
bench_row *bench_report_add(bench_report *r, const char *name, const char *unit);

/* bench_report_print writes the table to stdout. */
void bench_report_print(const bench_report *r);

/* bench_report_markdown / bench_report_svg write the files; 0 or -1 (with
 * a message on stderr). */
int bench_report_markdown(const bench_report *r, const char *path);
int bench_report_svg(const bench_report *r, const char *path);

#endif
