/* Offline message store: FIFO per recipient, idempotent stores, ack,
 * account removal, limits, and a snapshot codec that round-trips and
 * refuses damage. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mailbox.h"

static void test_store_fetch_ack(void) {
  chorus_mailbox *mb;
  chorus_mailbox_msg m;
  CHECK_EQ(chorus_mailbox_new(4, 2, &mb), 0);
  CHECK_EQ(chorus_mailbox_store(mb, "bob", "ann", 1, 1, (const uint8_t *)"a1", 2), 0);
  CHECK_EQ(chorus_mailbox_store(mb, "bob", "cat", 5, 9, (const uint8_t *)"c9", 2), 0);
  CHECK_EQ(chorus_mailbox_store(mb, "bob", "ann", 1, 2, (const uint8_t *)"a2", 2), 0);
  /* retransmissions, and anything not above the mark, store nothing */
  CHECK_EQ(chorus_mailbox_store(mb, "bob", "ann", 1, 2, (const uint8_t *)"a2", 2), 1);
  CHECK_EQ(chorus_mailbox_store(mb, "bob", "ann", 1, 1, (const uint8_t *)"a1", 2), 1);
  CHECK_EQ(chorus_mailbox_store(mb, "bob", "ann", 0, 7, (const uint8_t *)"old", 3), 1);
  CHECK_EQ(chorus_mailbox_waiting(mb, "bob"), 3);
  CHECK_EQ(chorus_mailbox_get(mb, "bob", 0, &m), 0);
  CHECK(m.seq == 1 && strcmp(m.from, "ann") == 0 && memcmp(m.text, "a1", 2) == 0);
  CHECK_EQ(chorus_mailbox_get(mb, "bob", 2, &m), 0);
  CHECK(m.seq == 3 && m.msg_id == 2);
  CHECK_EQ(chorus_mailbox_get(mb, "bob", 3, &m), CHORUS_ERR_EMPTY);
  /* a new pair needs a mark: both marks are taken */
  CHECK_EQ(chorus_mailbox_check(mb, "bob", "dan", 1, 1), CHORUS_ERR_QUEUE_FULL);
  CHECK_EQ(chorus_mailbox_ack(mb, "bob", 2), 2);
  CHECK_EQ(chorus_mailbox_waiting(mb, "bob"), 1);
  /* after the ack, a late retransmission is still a duplicate */
  CHECK_EQ(chorus_mailbox_store(mb, "bob", "ann", 1, 1, (const uint8_t *)"a1", 2), 1);
  CHECK_EQ(chorus_mailbox_store(mb, "bob", "ann", 2, 1, (const uint8_t *)"b1", 2), 0);
  CHECK_EQ(chorus_mailbox_store(mb, "bob", "ann", 2, 2, (const uint8_t *)"b2", 2), 0);
  CHECK_EQ(chorus_mailbox_store(mb, "bob", "ann", 2, 3, (const uint8_t *)"b3", 2), 0);
  CHECK_EQ(chorus_mailbox_store(mb, "bob", "ann", 2, 4, (const uint8_t *)"b4", 2),
           CHORUS_ERR_QUEUE_FULL); /* 4 messages held */
  chorus_mailbox_drop_user(mb, "ann"); /* ann's marks go, her messages stay */
  CHECK_EQ(chorus_mailbox_waiting(mb, "bob"), 4);
  CHECK_EQ(chorus_mailbox_check(mb, "bob", "dan", 1, 1), CHORUS_ERR_QUEUE_FULL);
  CHECK_EQ(chorus_mailbox_ack(mb, "bob", 3), 1);
  CHECK_EQ(chorus_mailbox_check(mb, "bob", "dan", 1, 1), 0); /* a mark is free */
  chorus_mailbox_drop_user(mb, "bob");
  CHECK_EQ(chorus_mailbox_waiting(mb, "bob"), 0);
  CHECK_EQ(chorus_mailbox_store(mb, "bob", "ann", 1, 1, NULL, 1001), CHORUS_ERR_INVAL);
  chorus_mailbox_free(mb);
  CHECK_EQ(chorus_mailbox_new(0, 1, &mb), CHORUS_ERR_CONFIG);
}

static void test_codec(void) {
  chorus_mailbox *mb, *back;
  CHECK_EQ(chorus_mailbox_new(8, 8, &mb), 0);
  CHECK_EQ(chorus_mailbox_new(8, 8, &back), 0);
  chorus_mailbox_store(mb, "zed", "ann", 1, 1, (const uint8_t *)"x", 1);
  chorus_mailbox_store(mb, "bob", "ann", 1, 1, (const uint8_t *)"yy", 2);
  chorus_mailbox_store(mb, "bob", "cat", 3, 4, (const uint8_t *)"", 0);
  chorus_mailbox_ack(mb, "zed", 1);
  size_t cap = chorus_mailbox_bytes_max(mb), used = 0;
  uint8_t *a = malloc(cap), *b = malloc(cap);
  int n = chorus_mailbox_encode(mb, a, cap);
  CHECK_EQ(n, (int)chorus_mailbox_bytes(mb));
  CHECK_EQ(chorus_mailbox_decode(back, a, (size_t)n, &used), 0);
  CHECK_EQ(used, (size_t)n);
  CHECK_EQ(chorus_mailbox_encode(back, b, cap), n);
  CHECK(memcmp(a, b, (size_t)n) == 0);
  /* the marks survive: zed's acked message stays a duplicate */
  CHECK_EQ(chorus_mailbox_check(back, "zed", "ann", 1, 1), 1);
  /* the next sequence number continues */
  CHECK_EQ(chorus_mailbox_store(back, "bob", "cat", 3, 5, (const uint8_t *)"z", 1), 0);
  chorus_mailbox_msg m;
  CHECK_EQ(chorus_mailbox_get(back, "bob", 2, &m), 0);
  CHECK_EQ(m.seq, 4);
  for (int k = 0; k < n; k++) /* every truncation is refused */
    CHECK(chorus_mailbox_decode(back, a, (size_t)k, &used) != 0);
  a[8 + 3] = 9; /* more messages than this mailbox holds */
  CHECK_EQ(chorus_mailbox_decode(back, a, (size_t)n, &used), CHORUS_ERR_CONFIG);
  CHECK_EQ(chorus_mailbox_waiting(back, "bob"), 0);
  free(a);
  free(b);
  chorus_mailbox_free(mb);
  chorus_mailbox_free(back);
}

int main(void) {
  RUN(test_store_fetch_ack);
  RUN(test_codec);
  return CHECK_SUMMARY();
}
