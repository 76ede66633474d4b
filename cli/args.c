#include "args.h"

#include <errno.h>
#include <stdlib.h>

int chorus_args_uint(const char *s, unsigned long long lo, unsigned long long hi,
                     unsigned long long *out) {
  if (s[0] < '0' || s[0] > '9') return 0; /* strtoull would take "-1", " 1" */
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}
