/*
 * chorus_udp: POSIX UDP sockets, IPv4 and IPv6, through getaddrinfo.
 *
 * Addresses are written HOST:PORT or [IPV6]:PORT. An empty host (":9000")
 * means the IPv4 wildcard 0.0.0.0 when listening; "[::]:9000" is the IPv6
 * wildcard and also accepts IPv4 peers (dual stack, IPV6_V6ONLY off where
 * the system allows). Sockets are non-blocking: the network loop waits in
 * poll(), and a full socket buffer drops the datagram (the core retransmits)
 * instead of stalling the loop.
 *
 * Functions return a chorus_udp_status; on an error they write a complete,
 * human-readable sentence into err[0..err_bytes) (always NUL-terminated when
 * err_bytes > 0; err may be NULL when err_bytes is 0).
 */
#ifndef CHORUS_PLATFORM_UDP_H
#define CHORUS_PLATFORM_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CHORUS_UDP_HOST_BYTES_MAX 255  /* host part of HOST:PORT, no NUL */
#define CHORUS_UDP_TEXT_BYTES 80       /* enough for "[v6%scope]:65535" + NUL */
#define CHORUS_UDP_SOCKBUF_BYTES_DEFAULT (1024 * 1024) /* SO_RCVBUF/SO_SNDBUF */
#define CHORUS_UDP_BATCH_MAX 64 /* datagrams per batch call */
#define CHORUS_UDP_GSO_SEGMENTS_MAX 16 /* datagrams per segmented send */
#define CHORUS_UDP_GSO_BYTES_MAX 65507 /* bytes per segmented send: the
                                          kernel's limit for one UDP payload
                                          over IPv4 (64 KiB less headers) */
#define CHORUS_UDP_GRO_BYTES 65536 /* a receive buffer that holds any
                                      coalesced one whole */

enum chorus_udp_status {
  CHORUS_UDP_WOULD_BLOCK = 1, /* nothing to receive / socket buffer full */
  CHORUS_UDP_OK = 0,
  CHORUS_UDP_ERR_SYNTAX = -1, /* not HOST:PORT or [V6]:PORT, bad port */
  CHORUS_UDP_ERR_HOST = -2,   /* host does not resolve (in this family) */
  CHORUS_UDP_ERR_SYS = -3,    /* a system call failed; errno kept */
};

/* A resolved socket address (value type, copy freely). */
typedef struct chorus_udp_addr {
  struct sockaddr_storage ss;
  socklen_t len;
} chorus_udp_addr;

/*
 * chorus_udp_resolve parses `text` (HOST:PORT or [V6]:PORT, port 1..65535
 * in decimal) and resolves it. `family` is AF_UNSPEC (take the first result)
 * or the family of the socket the address will be used with; for AF_INET6 an
 * IPv4-only host is returned as an IPv4-mapped IPv6 address. `passive` is 1
 * for an address to bind (empty host allowed), 0 for a destination.
 * Returns CHORUS_UDP_OK and fills *out, or CHORUS_UDP_ERR_SYNTAX,
 * CHORUS_UDP_ERR_HOST (with err set).
 */
int chorus_udp_resolve(const char *text, int family, int passive,
                       chorus_udp_addr *out, char *err, size_t err_bytes);

/*
 * chorus_udp_open creates a non-blocking, close-on-exec UDP socket bound to
 * `local`, asking for socket buffers of `sockbuf_bytes` each (best effort;
 * 0 keeps the system default). Stores the descriptor (owned by the caller,
 * release with chorus_udp_close) in *fd_out. Returns CHORUS_UDP_OK or
 * CHORUS_UDP_ERR_SYS ("cannot bind 127.0.0.1:9000: Address already in use").
 */
int chorus_udp_open(const chorus_udp_addr *local, size_t sockbuf_bytes,
                    int *fd_out, char *err, size_t err_bytes);

/* chorus_udp_close closes fd (negative fd is ignored). */
void chorus_udp_close(int fd);

/*
 * chorus_udp_local stores the address `fd` is bound to (useful after binding
 * port 0). Returns CHORUS_UDP_OK or CHORUS_UDP_ERR_SYS.
 */
int chorus_udp_local(int fd, chorus_udp_addr *out);

/*
 * chorus_udp_send sends data[0..len_bytes) to `to` as one datagram.
 * Returns CHORUS_UDP_OK, CHORUS_UDP_WOULD_BLOCK (socket buffer full, datagram
 * not sent) or CHORUS_UDP_ERR_SYS (errno set; e.g. no route).
 */
int chorus_udp_send(int fd, const chorus_udp_addr *to, const uint8_t *data,
                    size_t len_bytes);

/*
 * chorus_udp_recv receives one datagram into buf[0..cap_bytes) and stores its
 * length in *len_bytes (a datagram longer than cap_bytes is cut to cap_bytes;
 * give cap_bytes above the largest valid datagram so the core sees and counts
 * oversized ones). `from` may be NULL. Returns CHORUS_UDP_OK,
 * CHORUS_UDP_WOULD_BLOCK (nothing pending) or CHORUS_UDP_ERR_SYS.
 */
int chorus_udp_recv(int fd, uint8_t *buf, size_t cap_bytes, size_t *len_bytes,
                    chorus_udp_addr *from);

/* One datagram of a batch (value type); received, possibly several. */
typedef struct chorus_udp_msg {
  chorus_udp_addr addr; /* send: the destination; recv: not filled */
  uint8_t *data;        /* send: the bytes; recv: a buffer of cap_bytes */
  size_t len_bytes;     /* send: bytes at data; recv: bytes received */
  size_t seg_bytes;     /* recv: 0 for one datagram, else the kernel
                           coalesced datagrams of this size (the last may be
                           shorter): see chorus_udp_msg_part; send: unused */
} chorus_udp_msg;

/*
 * chorus_udp_gro_enable asks the kernel (Linux UDP_GRO) to hand datagrams
 * of one sender that arrive together as one coalesced buffer (a segmented
 * send over loopback arrives so whole), saving a traversal of the stack
 * per datagram. Only for a socket whose every reader splits with
 * chorus_udp_msg_part and receives into CHORUS_UDP_GRO_BYTES buffers.
 * Returns 1 if enabled, 0 if the system has no such option.
 */
int chorus_udp_gro_enable(int fd);

/* chorus_udp_msg_parts: how many datagrams a received m holds (>= 1). */
size_t chorus_udp_msg_parts(const chorus_udp_msg *m);

/* chorus_udp_msg_part: datagram i (< chorus_udp_msg_parts(m)) of a
 * received m, its length in *len_bytes; points into m->data. */
const uint8_t *chorus_udp_msg_part(const chorus_udp_msg *m, size_t i, size_t *len_bytes);

/*
 * chorus_udp_recv_batch receives up to `count` (a larger count is cut to
 * CHORUS_UDP_BATCH_MAX) pending datagrams, msgs[i] into msgs[i].data[0..cap_bytes) (a longer
 * datagram is cut to cap_bytes: give at least one byte more than the
 * largest valid datagram so an oversized one stays recognisable), storing
 * how many in *got. On a socket with chorus_udp_gro_enable a slot may hold
 * several datagrams (seg_bytes > 0): give cap_bytes CHORUS_UDP_GRO_BYTES
 * so none is cut. One system call where the system has recvmmsg (Linux),
 * else a recvfrom loop. Returns CHORUS_UDP_OK (*got >= 1),
 * CHORUS_UDP_WOULD_BLOCK (*got == 0, nothing pending) or CHORUS_UDP_ERR_SYS
 * (*got == 0, errno set).
 */
int chorus_udp_recv_batch(int fd, chorus_udp_msg *msgs, size_t count, size_t cap_bytes,
                          size_t *got);

/*
 * chorus_udp_send_batch sends msgs[0..count) in order (a larger count is
 * cut to CHORUS_UDP_BATCH_MAX), each as one datagram to its addr, with sendmmsg
 * where available (Linux), else a sendto loop. Stops at the first datagram
 * the system refuses; *sent says how many went before it. Returns
 * CHORUS_UDP_OK (all sent), CHORUS_UDP_WOULD_BLOCK (msgs[*sent] met a full
 * socket buffer) or CHORUS_UDP_ERR_SYS (msgs[*sent] failed, errno set). The
 * caller decides what becomes of msgs[*sent] and the rest.
 */
int chorus_udp_send_batch(int fd, const chorus_udp_msg *msgs, size_t count, size_t *sent);

/*
 * chorus_udp_send_batch_gso is chorus_udp_send_batch with UDP segmentation
 * offload (Linux UDP_SEGMENT) while *gso is 1: it first reorders msgs so
 * each destination's datagrams are adjacent (destinations by first
 * appearance, each one's datagrams in their order), then a run of up to
 * CHORUS_UDP_GSO_SEGMENTS_MAX datagrams (CHORUS_UDP_GSO_BYTES_MAX bytes)
 * to one destination, all of one length but the last, which may be
 * shorter, goes as one send the kernel cuts into those datagrams. *sent
 * counts a prefix of the reordered msgs; results as chorus_udp_send_batch.
 * When the kernel refuses segmentation (EINVAL, EIO, ENOPROTOOPT,
 * EOPNOTSUPP: no checksum offload, a path MTU below a datagram...) or the
 * system has none, *gso becomes 0 and the datagrams go one by one, in
 * msgs' order (unchanged when *gso was 0 already).
 */
int chorus_udp_send_batch_gso(int fd, chorus_udp_msg *msgs, size_t count, int *gso,
                              size_t *sent);

/* chorus_udp_gso_available: 1 if this build can segment sends (Linux
 * headers with UDP_SEGMENT), the starting value of a *gso flag. */
int chorus_udp_gso_available(void);

/*
 * chorus_udp_format writes `a` as numeric text ("127.0.0.1:9000",
 * "[::1]:9000") into buf[0..bytes); CHORUS_UDP_TEXT_BYTES always suffices.
 */
void chorus_udp_format(const chorus_udp_addr *a, char *buf, size_t bytes);

#endif
