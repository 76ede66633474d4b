#include "err.h"

const char *chorus_strerror(int code) {
  switch (code) {
#define CHORUS_ERR_TEXT(name, value, text) \
  case value:                              \
    return text;
    CHORUS_ERRORS(CHORUS_ERR_TEXT)
#undef CHORUS_ERR_TEXT
  default:
    return "unknown error";
  }
}

const char *chorus_errname(int code) {
  switch (code) {
#define CHORUS_ERR_NAME(name, value, text) \
  case value:                              \
    return #name;
    CHORUS_ERRORS(CHORUS_ERR_NAME)
#undef CHORUS_ERR_NAME
  default:
    return "CHORUS_ERR_UNKNOWN";
  }
}
