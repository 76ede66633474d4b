#include "json.h"

#include <string.h>

void chorus_json_str(FILE *out, const uint8_t *s, size_t len_bytes) {
  putc('"', out);
  for (size_t i = 0; i < len_bytes; i++) {
    uint8_t c = s[i];
    if (c == '"' || c == '\\') {
      putc('\\', out);
      putc(c, out);
    } else if (c < 0x20 || c == 0x7f) {
      fprintf(out, "\\u%04x", (unsigned)c);
    } else {
      putc(c, out);
    }
  }
  putc('"', out);
}

void chorus_json_cstr(FILE *out, const char *s) {
  chorus_json_str(out, (const uint8_t *)s, strlen(s));
}
