/*
 * garbage: send one live chorus peer a fixed suite of malformed and replayed
 * datagrams, built by hand from the wire format in docs/PROTOCOL.md (not with
 * core/wire.c, so the encoder here is an independent reading of the spec).
 *
 *   garbage HOST PORT VICTIM VICTIM_EPOCH MEMBER MEMBER_EPOCH [SEED]
 *
 * HOST is a numeric IPv4 or IPv6 address. VICTIM is the peer listening on
 * HOST:PORT and VICTIM_EPOCH its epoch; MEMBER is another member of its group
 * and MEMBER_EPOCH that member's current epoch, which the victim must already
 * have heard (the test waits for a delivered message first). MEMBER must have
 * sent the victim at least 3 frames, so wire sequence numbers 0..2 of that
 * link are already delivered and a replay of them is a duplicate.
 *
 * For each reject reason the victim counts in /stats, prints
 *   expect COUNTER N     (the counter must grow by exactly N)
 *   atleast COUNTER N    (a per-link counter that must grow by at least N)
 * then `sent N` (datagrams sent). Exit 0, or 2 on bad usage, 1 on a socket
 * error. Datagrams are paced (1 ms apart) only so that the victim's socket
 * buffer never overflows and the exact counts hold; nothing waits on time
 * for correctness.
 *
 * Nothing here can be delivered as a message: every DATA frame that passes
 * the datagram checks carries a sequence number the victim has already
 * delivered, or one far beyond its receive window.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DGRAM_MAX 9000 /* largest datagram this sender builds */
#define WIRE_MAX 1200  /* the protocol's datagram limit */
#define HDR 16

enum reason {
  R_TRUNCATED,
  R_BAD_MAGIC,
  R_BAD_VERSION,
  R_BAD_FRAME,
  R_TOO_BIG,
  R_UNKNOWN_SENDER,
  R_STALE_EPOCH,
  R_WRONG_DEST,
  R_DUP_FRAMES,    /* per link, at least */
  R_OUT_OF_WINDOW, /* per link, at least */
  R_COUNT
};

static const char *const reason_name[R_COUNT] = {
    "rx_truncated",      "rx_bad_magic",   "rx_bad_version", "rx_bad_frame",
    "rx_too_big",        "rx_unknown_sender", "rx_stale_epoch", "rx_wrong_dest",
    "dup_frames",        "out_of_window",
};

typedef struct sender {
  int fd;
  struct sockaddr_storage to;
  socklen_t to_len;
  unsigned long count[R_COUNT];
  unsigned long sent;
  uint64_t rng;
} sender;

static uint64_t rnd(sender *s) { /* xorshift64* */
  s->rng ^= s->rng >> 12;
  s->rng ^= s->rng << 25;
  s->rng ^= s->rng >> 27;
  return s->rng * 2685821657736338717ull;
}

static uint32_t fnv1a32(const char *name) {
  uint32_t h = 2166136261u;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
    h ^= *p;
    h *= 16777619u;
  }
  return h;
}

static void put32(uint8_t *b, uint32_t v) {
  b[0] = (uint8_t)(v >> 24);
  b[1] = (uint8_t)(v >> 16);
  b[2] = (uint8_t)(v >> 8);
  b[3] = (uint8_t)v;
}

static void put16(uint8_t *b, uint16_t v) {
  b[0] = (uint8_t)(v >> 8);
  b[1] = (uint8_t)v;
}

/* A version-1 header; returns its length (16). */
static size_t header(uint8_t *b, uint32_t src_id, uint32_t src_epoch, uint32_t dst_epoch) {
  b[0] = 'C';
  b[1] = 'H';
  b[2] = 1;
  b[3] = 0;
  put32(b + 4, src_id);
  put32(b + 8, src_epoch);
  put32(b + 12, dst_epoch);
  return HDR;
}

/* A one-fragment private DATA frame at wire sequence `seq`; returns its length. */
static size_t data_frame(uint8_t *b, uint32_t seq, uint32_t msg_id, const char *text) {
  size_t n = strlen(text);
  b[0] = 0x01;
  put32(b + 1, seq);
  b[5] = 1;    /* kind: private */
  b[6] = 0;    /* order: fifo */
  b[7] = 0x03; /* first and last fragment */
  put32(b + 8, msg_id);
  put32(b + 12, (uint32_t)n);
  put16(b + 16, (uint16_t)n);
  memcpy(b + 18, text, n);
  return 18 + n;
}

static void pace(void) {
  struct timespec ts = {0, 1000000L};
  nanosleep(&ts, NULL);
}

/* Send one datagram and record the counter it must raise at the victim. */
static int send_one(sender *s, const uint8_t *b, size_t len, enum reason why) {
  if (sendto(s->fd, b, len, 0, (const struct sockaddr *)&s->to, s->to_len) != (ssize_t)len) {
    perror("garbage: sendto");
    return -1;
  }
  s->count[why]++;
  s->sent++;
  pace();
  return 0;
}

static int parse_u32(const char *t, uint32_t *out) {
  char *end = NULL;
  if (t[0] < '0' || t[0] > '9') return 0;
  unsigned long long v = strtoull(t, &end, 10);
  if (*end != '\0' || v == 0 || v > 0xffffffffull) return 0;
  *out = (uint32_t)v;
  return 1;
}

static int resolve(sender *s, const char *host, const char *port) {
  char *end = NULL;
  unsigned long p = strtoul(port, &end, 10);
  if (*end != '\0' || p == 0 || p > 65535) return 0;
  memset(&s->to, 0, sizeof s->to);
  struct sockaddr_in *v4 = (struct sockaddr_in *)&s->to;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&s->to;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)p);
    s->to_len = sizeof *v4;
    return 1;
  }
  if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)p);
    s->to_len = sizeof *v6;
    return 1;
  }
  return 0;
}

static int suite(sender *s, uint32_t victim_id, uint32_t victim_epoch, uint32_t member_id,
                 uint32_t member_epoch) {
  static uint8_t b[DGRAM_MAX];
  size_t n;
#define SEND(len, why) \
  do { if (send_one(s, b, (len), (why)) < 0) return -1; } while (0)

  /* Random bytes: lengths 2..1200, first byte anything but 'C'. */
  for (int i = 0; i < 20; i++) {
    n = 2 + (size_t)(rnd(s) % (WIRE_MAX - 1));
    for (size_t k = 0; k < n; k++) b[k] = (uint8_t)rnd(s);
    if (b[0] == 'C') b[0] = 'c';
    SEND(n, R_BAD_MAGIC);
  }
  /* Wrong magic on an otherwise valid HELLO from the member. */
  static const char *const magics[] = {"HC", "ch", "XX", "\0\0"};
  for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++) {
    n = header(b, member_id, member_epoch, victim_epoch);
    b[n++] = 0x03;
    b[0] = (uint8_t)magics[i][0];
    b[1] = (uint8_t)magics[i][1];
    SEND(n, R_BAD_MAGIC);
  }

  /* Truncated: empty, 1 byte, and every prefix length the header checks in
   * order (magic, version, full header). */
  static const size_t cuts[] = {0, 1, 2, 3, 4, 8, 12, 15};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    header(b, member_id, member_epoch, victim_epoch);
    SEND(cuts[i], R_TRUNCATED);
  }
  /* A valid header, then frames cut short: DATA, DATA whose fragment is
   * shorter than frag_len says, ACK, STATE, a failure-detector PROBE. */
  n = header(b, member_id, member_epoch, victim_epoch);
  n += data_frame(b + n, 0, 1, "cut");
  SEND(HDR + 7, R_TRUNCATED);
  SEND(n - 1, R_TRUNCATED);
  n = header(b, member_id, member_epoch, victim_epoch);
  b[n++] = 0x02;
  put32(b + n, 0);
  n += 4; /* no range count */
  SEND(n, R_TRUNCATED);
  n = header(b, member_id, member_epoch, victim_epoch);
  b[n++] = 0x04;
  put32(b + n, 1);
  n += 4;
  b[n++] = 2; /* two members announced, none present */
  SEND(n, R_TRUNCATED);
  n = header(b, member_id, member_epoch, victim_epoch);
  b[n++] = 0x05;
  put32(b + n, victim_id);
  n += 2; /* half the member id, no incarnation */
  SEND(n, R_TRUNCATED);

  /* Oversized: one past the limit, an Ethernet MTU, a jumbo frame. Each
   * begins with a valid header, so only the size is wrong. */
  static const size_t bigs[] = {WIRE_MAX + 1, 1500, 9000};
  for (size_t i = 0; i < sizeof bigs / sizeof bigs[0]; i++) {
    n = header(b, member_id, member_epoch, victim_epoch);
    memset(b + n, 0x03, bigs[i] - n); /* HELLO frames */
    SEND(bigs[i], R_TOO_BIG);
  }

  /* Wrong version: 0, 2 (a future chorus), 255; 2 also with a body. */
  static const uint8_t versions[] = {0, 2, 255};
  for (size_t i = 0; i < sizeof versions; i++) {
    n = header(b, member_id, member_epoch, victim_epoch);
    b[n++] = 0x03;
    b[2] = versions[i];
    SEND(n, R_BAD_VERSION);
  }
  n = header(b, member_id, member_epoch, victim_epoch);
  b[2] = 2;
  n += data_frame(b + n, 0, 1, "from the future");
  SEND(n, R_BAD_VERSION);

  /* Malformed but complete: reserved header flags set, epoch 0, an unknown
   * frame type, a DATA frame of unknown kind, and an ACK of frames the
   * victim never sent (cumulative point far ahead). */
  n = header(b, member_id, member_epoch, victim_epoch);
  b[3] = 0x80;
  b[n++] = 0x03;
  SEND(n, R_BAD_FRAME);
  n = header(b, member_id, 0, victim_epoch);
  b[n++] = 0x03;
  SEND(n, R_BAD_FRAME);
  n = header(b, member_id, member_epoch, victim_epoch);
  b[n++] = 0x7f;
  SEND(n, R_BAD_FRAME);
  n = header(b, member_id, member_epoch, victim_epoch);
  {
    size_t f = n;
    n += data_frame(b + n, 0, 1, "kind 9");
    b[f + 5] = 9;
  }
  SEND(n, R_BAD_FRAME);
  n = header(b, member_id, member_epoch, victim_epoch);
  b[n++] = 0x02;
  put32(b + n, 0x10000000u);
  n += 4;
  b[n++] = 0;
  SEND(n, R_BAD_FRAME);

  /* Unknown sender: a name not in the group, the victim's own id, id 0. */
  const uint32_t strangers[] = {fnv1a32("mallory"), victim_id, 0};
  for (size_t i = 0; i < sizeof strangers / sizeof strangers[0]; i++) {
    n = header(b, strangers[i], member_epoch, victim_epoch);
    b[n++] = 0x03;
    n += data_frame(b + n, 0, 1, "who am I");
    SEND(n, R_UNKNOWN_SENDER);
  }

  /* Stale epoch: HELLO and DATA from an older incarnation of the member. */
  n = header(b, member_id, member_epoch - 1, victim_epoch);
  b[n++] = 0x03;
  SEND(n, R_STALE_EPOCH);
  n = header(b, member_id, 1, 0);
  b[n++] = 0x03;
  SEND(n, R_STALE_EPOCH);
  n = header(b, member_id, member_epoch - 1, victim_epoch);
  n += data_frame(b + n, 0, 1, "stale");
  SEND(n, R_STALE_EPOCH);

  /* Wrong destination: DATA meant for another incarnation of the victim. */
  n = header(b, member_id, member_epoch, victim_epoch - 1);
  n += data_frame(b + n, 0, 1, "not for you");
  SEND(n, R_WRONG_DEST);
  n = header(b, member_id, member_epoch, victim_epoch + 1);
  n += data_frame(b + n, 0, 1, "not for you either");
  SEND(n, R_WRONG_DEST);

  /* Replays: DATA at sequence numbers the victim has delivered (twice each),
   * and one far beyond its receive window. All well formed. */
  for (int round = 0; round < 2; round++)
    for (uint32_t seq = 0; seq < 3; seq++) {
      n = header(b, member_id, member_epoch, victim_epoch);
      n += data_frame(b + n, seq, 1, "replayed");
      SEND(n, R_DUP_FRAMES);
    }
  n = header(b, member_id, member_epoch, victim_epoch);
  n += data_frame(b + n, 0x40000000u, 1, "far ahead");
  SEND(n, R_OUT_OF_WINDOW);
#undef SEND
  return 0;
}

int main(int argc, char **argv) {
  sender s;
  memset(&s, 0, sizeof s);
  uint32_t victim_epoch = 0, member_epoch = 0, seed = 1;
  if (argc < 7 || argc > 8 || !resolve(&s, argv[1], argv[2]) ||
      !parse_u32(argv[4], &victim_epoch) || !parse_u32(argv[6], &member_epoch) ||
      member_epoch < 2 || (argc == 8 && !parse_u32(argv[7], &seed))) {
    fprintf(stderr,
            "usage: garbage HOST PORT VICTIM VICTIM_EPOCH MEMBER MEMBER_EPOCH [SEED]\n"
            "  HOST numeric IPv4/IPv6; epochs 1..2^32-1 (MEMBER_EPOCH >= 2); SEED >= 1\n");
    return 2;
  }
  s.rng = 0x9e3779b97f4a7c15ull ^ seed;
  s.fd = socket(s.to.ss_family, SOCK_DGRAM, 0);
  if (s.fd < 0) {
    perror("garbage: socket");
    return 1;
  }
  int rc = suite(&s, fnv1a32(argv[3]), victim_epoch, fnv1a32(argv[5]), member_epoch);
  close(s.fd);
  if (rc < 0) return 1;
  for (int r = 0; r < R_COUNT; r++)
    printf("%s %s %lu\n", r >= R_DUP_FRAMES ? "atleast" : "expect", reason_name[r], s.count[r]);
  printf("sent %lu\n", s.sent);
  return 0;
}
