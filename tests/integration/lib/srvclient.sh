# Sourced by the server tests: builds the small test client.
# srvclient_build OUT: compile tests/integration/srvclient.c into OUT with
# the project's warning flags ($CC, default cc). Returns non-zero on failure.
srvclient_build() {
  _sc_flags="-O2 -g -std=c11 -Wall -Wextra -Wpedantic -Werror -D_POSIX_C_SOURCE=200809L -Icore -Iplatform"
  # shellcheck disable=SC2086
  ${CC:-cc} $_sc_flags -o "$1" tests/integration/srvclient.c platform/udp.c platform/clock.c \
    platform/server_loop.c platform/store.c platform/fio.c core/client.c core/srvwire.c \
    core/server.c core/crypto.c core/prng.c core/wire.c core/err.c -lpthread
}
