/* chorus_json: the little JSON writing the CLI needs (one object per line). */
#ifndef CHORUS_CLI_JSON_H
#define CHORUS_CLI_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * chorus_json_str writes s[0..len_bytes) to `out` as a quoted JSON string.
 * The text must already be valid UTF-8 (it is passed through unchanged);
 * '"' and '\\' are escaped, and every control character (below 0x20, and
 * 0x7f) is written as \u00XX so one event is always one line.
 */
void chorus_json_str(FILE *out, const uint8_t *s, size_t len_bytes);

/* chorus_json_cstr: chorus_json_str for a NUL-terminated string. */
void chorus_json_cstr(FILE *out, const char *s);

#endif
