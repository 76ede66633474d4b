#include "bench_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* Copy src into a BENCH_TEXT_BYTES field, cut if longer. */
static void rep_copy(char dst[BENCH_TEXT_BYTES], const char *src) {
  size_t n = strlen(src);
  if (n >= BENCH_TEXT_BYTES) n = BENCH_TEXT_BYTES - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* "model name\t: Foo CPU" -> "Foo CPU" (first such line of /proc/cpuinfo). */
static void rep_cpu(bench_machine *m) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[256];
  rep_copy(m->cpu, "unknown");
  if (f == NULL) return;
  while (fgets(line, sizeof line, f) != NULL) {
    char *colon = strchr(line, ':');
    if (colon == NULL || strncmp(line, "model name", 10) != 0) continue;
    colon += colon[1] == ' ' ? 2 : 1;
    colon[strcspn(colon, "\n")] = '\0';
    rep_copy(m->cpu, colon);
    break;
  }
  fclose(f);
}

static void rep_load(bench_machine *m) {
  FILE *f = fopen("/proc/loadavg", "r");
  char line[128];
  rep_copy(m->load, "unknown");
  if (f == NULL) return;
  if (fgets(line, sizeof line, f) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    rep_copy(m->load, line);
  }
  fclose(f);
}

void bench_machine_read(bench_machine *m) {
  struct utsname u;
  char kernel[3 * sizeof u.release + 3];
  time_t now = time(NULL);
  struct tm tm;
  memset(m, 0, sizeof *m);
  rep_cpu(m);
  rep_load(m);
  m->cores = -1;
#ifdef _SC_NPROCESSORS_ONLN
  m->cores = sysconf(_SC_NPROCESSORS_ONLN); /* not POSIX, but everywhere */
#endif
  if (uname(&u) == 0) {
    snprintf(kernel, sizeof kernel, "%.64s %.64s %.64s", u.sysname, u.release, u.machine);
    rep_copy(m->kernel, kernel);
  } else {
    rep_copy(m->kernel, "unknown");
  }
#if defined(__clang__)
  rep_copy(m->compiler, "clang " __clang_version__);
#elif defined(__GNUC__)
  rep_copy(m->compiler, "gcc " __VERSION__);
#elif defined(__VERSION__)
  rep_copy(m->compiler, __VERSION__);
#else
  rep_copy(m->compiler, "unknown");
#endif
  if (gmtime_r(&now, &tm) != NULL) strftime(m->date, sizeof m->date, "%Y-%m-%d %H:%M UTC", &tm);
  else rep_copy(m->date, "unknown");
}

bench_row *bench_report_add(bench_report *r, const char *name, const char *unit) {
  if (r->count == BENCH_ROWS_MAX) {
    fprintf(stderr, "bench: more than %d rows\n", BENCH_ROWS_MAX);
    exit(1);
  }
  bench_row *row = &r->rows[r->count++];
  memset(row, 0, sizeof *row);
  rep_copy(row->name, name);
  row->unit = unit;
  row->value = row->p50_us = row->p99_us = row->ratio = -1;
  return row;
}

/* A figure, or "-" when negative; big values without decimals. */
static void rep_num(char *buf, size_t bytes, double v) {
  if (v < 0) snprintf(buf, bytes, "-");
  else if (v >= 100 || v == (double)(long long)v) snprintf(buf, bytes, "%.0f", v);
  else snprintf(buf, bytes, "%.2f", v);
}

static void rep_ratio(char *buf, size_t bytes, double v) {
  if (v < 0) snprintf(buf, bytes, "-");
  else snprintf(buf, bytes, "%.3f", v);
}

typedef struct rep_cells {
  char value[32], p50[32], p99[32], ratio[32];
} rep_cells;

static rep_cells rep_format(const bench_row *row) {
  rep_cells c = {"", "", "", ""};
  rep_num(c.value, sizeof c.value, row->value);
  rep_num(c.p50, sizeof c.p50, row->p50_us);
  rep_num(c.p99, sizeof c.p99, row->p99_us);
  rep_ratio(c.ratio, sizeof c.ratio, row->ratio);
  return c;
}

void bench_report_print(const bench_report *r) {
  printf("%-46s %12s %-13s %8s %8s %7s  %s\n", "benchmark", "value", "unit", "p50_us", "p99_us",
         "ratio", "ratio against / measured");
  for (size_t i = 0; i < r->count; i++) {
    const bench_row *row = &r->rows[i];
    rep_cells c = rep_format(row);
    printf("%-46s %12s %-13s %8s %8s %7s  %s%s%s\n", row->name, c.value, row->unit, c.p50, c.p99,
           c.ratio, row->baseline, row->baseline[0] && row->measured[0] ? "; " : "",
           row->measured);
  }
  printf("\n%s, %ld cores, %s, load before: %s; %.0f s\n", r->machine.cpu, r->machine.cores,
         r->machine.kernel, r->machine.load, r->seconds);
}

static void rep_md_rows(const bench_report *r, FILE *f) {
  fprintf(f, "| benchmark | value | unit | p50 µs | p99 µs | ratio | against | measured |\n");
  fprintf(f, "|---|---:|---|---:|---:|---:|---|---|\n");
  for (size_t i = 0; i < r->count; i++) {
    const bench_row *row = &r->rows[i];
    rep_cells c = rep_format(row);
    fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", row->name, c.value, row->unit,
            c.p50, c.p99, c.ratio, row->baseline, row->measured);
  }
}

int bench_report_markdown(const bench_report *r, const char *path) {
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    perror(path);
    return -1;
  }
  const bench_machine *m = &r->machine;
  fprintf(f, "# Benchmarks\n\n"
             "Written by `make bench` (tests/bench/); do not edit by hand. Every figure comes\n"
             "from one run, chorus beside the raw UDP baseline measured in the same run.\n\n");
  fprintf(f, "- CPU: %s, %ld cores online\n- kernel: %s\n- compiler: %s\n- date: %s\n"
             "- load average before the run: %s\n- wall time of the run: %.0f s; every phase\n"
             "  ran %d times, raw and chorus interleaved, and the best run is shown\n\n",
          m->cpu, m->cores, m->kernel, m->compiler, m->date, m->load, r->seconds, r->rounds);
  rep_md_rows(r, f);
  fprintf(f, "\n"
    "How to read it:\n\n"
    "- Raw rows: plain `sendto`/`recvfrom`, one message per datagram, no reliability.\n"
    "  The mesh has 10 processes, each sending every message to the 9 others.\n"
    "- chorus rows: real peers (platform/loop.c) on loopback sockets; 10-peer rows run\n"
    "  one process per peer, every peer broadcasting at once. Deliveries per second are\n"
    "  summed over receivers, from the common start to the last delivery anywhere.\n"
    "- Latency runs from submission to delivery; pipelined and broadcast loads include\n"
    "  the time a message waits for window space. The ratio of a latency row is its\n"
    "  p50 over the baseline's p50; of a rate row, rate over the baseline's rate.\n"
    "- Memory: VmRSS / VmHWM of one peer process from /proc/self/status, the largest\n"
    "  of the 10; the baseline is a raw mesh node process. VmRSS counts the shared\n"
    "  C library's pages too; RssAnon is what the peer alone holds.\n"
    "- Header bytes: fixed per-message overhead from the wire format, and what the\n"
    "  10-peer run actually put on the wire per delivery (ACKs, stability reports,\n"
    "  ordering included), against the raw mesh's payload bytes per delivery.\n"
    "- Chart: bench.svg.\n");
  if (fclose(f) != 0) {
    perror(path);
    return -1;
  }
  return 0;
}

/* ---- SVG --------------------------------------------------------------- */

#define SVG_LABEL_W 360 /* left column: row names */
#define SVG_BAR_W 420   /* longest bar */
#define SVG_ROW_H 24
#define SVG_TOP 50

static double rep_chart_max(const bench_report *r, size_t *n) {
  double max = 0;
  *n = 0;
  for (size_t i = 0; i < r->count; i++) {
    if (!r->rows[i].chart || r->rows[i].value <= 0) continue;
    (*n)++;
    if (r->rows[i].value > max) max = r->rows[i].value;
  }
  return max;
}

/* Names are ours and plain ASCII; only these characters need escaping. */
static void rep_xml(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '&') fputs("&amp;", f);
    else if (*s == '<') fputs("&lt;", f);
    else if (*s == '>') fputs("&gt;", f);
    else fputc(*s, f);
  }
}

static void rep_svg_bar(FILE *f, const bench_row *row, double max, int y) {
  double w = row->value / max * SVG_BAR_W;
  char v[32], ratio[32];
  rep_num(v, sizeof v, row->value);
  rep_ratio(ratio, sizeof ratio, row->ratio);
  fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", SVG_LABEL_W - 8, y + 15);
  rep_xml(f, row->name);
  fprintf(f, "</text>\n<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n",
          SVG_LABEL_W, y + 3, w, SVG_ROW_H - 6, row->raw ? "#9a9a9a" : "#2f6db5");
  fprintf(f, "<text x=\"%.1f\" y=\"%d\">%s %s", SVG_LABEL_W + w + 6, y + 15, v, row->unit);
  if (!row->raw && row->ratio >= 0) fprintf(f, " (x%s of raw)", ratio);
  fprintf(f, "</text>\n");
}

int bench_report_svg(const bench_report *r, const char *path) {
  size_t n;
  double max = rep_chart_max(r, &n);
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    perror(path);
    return -1;
  }
  int width = SVG_LABEL_W + SVG_BAR_W + 260, height = SVG_TOP + (int)n * SVG_ROW_H + 30;
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
             "font-family=\"sans-serif\" font-size=\"12\">\n", width, height);
  fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
             "<text x=\"10\" y=\"22\" font-size=\"15\">chorus on loopback beside raw UDP "
             "(grey: raw baseline, blue: chorus)</text>\n<text x=\"10\" y=\"40\">");
  rep_xml(f, r->machine.cpu);
  fprintf(f, ", %ld cores, %s</text>\n", r->machine.cores, r->machine.date);
  int y = SVG_TOP;
  for (size_t i = 0; i < r->count && max > 0; i++) {
    if (!r->rows[i].chart || r->rows[i].value <= 0) continue;
    rep_svg_bar(f, &r->rows[i], max, y);
    y += SVG_ROW_H;
  }
  fprintf(f, "</svg>\n");
  if (fclose(f) != 0) {
    perror(path);
    return -1;
  }
  return 0;
}
