#include "trace.h"

#include <stdarg.h>

void chorus_trace_init(chorus_trace *t, FILE *out) {
  t->hash = CHORUS_TRACE_FNV_OFFSET;
  t->lines = 0;
  t->overlong = 0;
  t->write_failed = 0;
  t->out = out;
}

uint64_t chorus_trace_fnv1a(uint64_t h, const void *data, size_t len_bytes) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len_bytes; i++) {
    h ^= p[i];
    h *= CHORUS_TRACE_FNV_PRIME;
  }
  return h;
}

/*
 * The trace is the simulator's hottest path, and vsnprintf sets up a stream
 * per call; this formatter knows only the conversions the simulator uses
 * (%s %d %u %zu %llu %x %08x %%) and writes straight into the line. An
 * unknown conversion marks the line as bad (counted like an overlong one).
 */
typedef struct line_buf {
  char *p;
  size_t len, cap;
  int bad;
} line_buf;

static void put_char(line_buf *b, char c) {
  if (b->len < b->cap) b->p[b->len++] = c;
  else b->bad = 1;
}

static void put_str(line_buf *b, const char *s) {
  while (*s) put_char(b, *s++);
}

static void put_u64(line_buf *b, unsigned long long v, unsigned base, int width) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  while (width-- > n) put_char(b, '0');
  while (n) put_char(b, digits[--n]);
}

static void put_i64(line_buf *b, long long v) {
  if (v < 0) {
    put_char(b, '-');
    put_u64(b, 0ull - (unsigned long long)v, 10, 0);
  } else {
    put_u64(b, (unsigned long long)v, 10, 0);
  }
}

/* Formats one conversion starting after '%'; returns the rest of fmt. */
static const char *put_conv(line_buf *b, const char *f, va_list *ap) {
  int width = 0;
  if (*f == '0')
    while (*f >= '0' && *f <= '9') width = width * 10 + (*f++ - '0');
  if (f[0] == 'z' && f[1] == 'u') {
    put_u64(b, va_arg(*ap, size_t), 10, 0);
    return f + 2;
  }
  if (f[0] == 'l' && f[1] == 'l' && f[2] == 'u') {
    put_u64(b, va_arg(*ap, unsigned long long), 10, 0);
    return f + 3;
  }
  switch (*f) {
  case 's': put_str(b, va_arg(*ap, const char *)); break;
  case 'd': put_i64(b, va_arg(*ap, int)); break;
  case 'u': put_u64(b, va_arg(*ap, unsigned), 10, width); break;
  case 'x': put_u64(b, va_arg(*ap, unsigned), 16, width); break;
  case '%': put_char(b, '%'); break;
  default: b->bad = 1; return *f ? f + 1 : f;
  }
  return f + 1;
}

static void format(line_buf *b, const char *fmt, va_list *ap) {
  while (*fmt) {
    if (*fmt != '%') put_char(b, *fmt++);
    else fmt = put_conv(b, fmt + 1, ap);
  }
}

void chorus_trace_line(chorus_trace *t, uint64_t at_us, const char *fmt, ...) {
  char line[CHORUS_TRACE_LINE_BYTES];
  /* cap leaves room for the newline: a cut line still ends with one. */
  line_buf b = {line, 0, sizeof line - 1, 0};
  put_u64(&b, at_us, 10, 0);
  put_char(&b, ' ');
  va_list ap;
  va_start(ap, fmt);
  format(&b, fmt, &ap);
  va_end(ap);
  if (b.bad) t->overlong++;
  line[b.len++] = '\n';
  t->hash = chorus_trace_fnv1a(t->hash, line, b.len);
  t->lines++;
  if (t->out && fwrite(line, 1, b.len, t->out) != b.len) t->write_failed = 1;
}
