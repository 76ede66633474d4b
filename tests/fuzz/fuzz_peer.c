/*
 * libFuzzer target, stateful: a sequence of datagrams and timer ticks fed to
 * one peer's core. The input is split into records: 2 bytes of length, then
 * that many bytes of datagram (length 0 means a tick 10 ms later). The core
 * must never crash, leak or grow, and must keep its outputs well-formed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"

static uint8_t outbuf[CHORUS_MSG_BYTES_DEFAULT > 1200 ? CHORUS_MSG_BYTES_DEFAULT : 1200];

static void drain(chorus_peer *p, uint64_t now_us) {
  chorus_output o;
  for (int i = 0; i < 100000; i++) {
    if (chorus_peer_poll(p, now_us, &o, outbuf, sizeof outbuf) != 0) abort();
    if (o.kind == CHORUS_OUT_NONE) return;
    if (o.kind == CHORUS_OUT_DATAGRAM && (o.len > 1200 || o.len < 16)) abort();
  }
  abort(); /* the output queue must drain */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  chorus_peer_config cfg;
  chorus_peer_config_default(&cfg);
  cfg.self_name = "alice";
  cfg.member_names[0] = "alice";
  cfg.member_names[1] = "bob";
  cfg.member_names[2] = "carol";
  cfg.member_count = 3;
  cfg.epoch = 7;
  cfg.fd_mode = CHORUS_FD_MODE_FAST; /* cover the detector and view changes too */
  chorus_peer *p;
  if (chorus_peer_new(&cfg, &p) != 0) abort();
  uint64_t now = 1000;
  chorus_peer_broadcast(p, now, (const uint8_t *)"hello", 5, NULL);
  drain(p, now);
  size_t off = 0;
  while (off + 2 <= size) {
    size_t len = ((size_t)data[off] << 8) | data[off + 1];
    off += 2;
    if (len > size - off) len = size - off;
    now += 1000;
    if (len == 0) {
      now += 10000;
      chorus_peer_tick(p, now);
    } else {
      chorus_peer_recv(p, now, data + off, len);
    }
    drain(p, now);
    off += len;
  }
  chorus_peer_free(p);
  return 0;
}
