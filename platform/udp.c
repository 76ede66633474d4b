/* recvmmsg and sendmmsg are GNU extensions on Linux (glibc and musl
 * declare them with _GNU_SOURCE). Elsewhere the POSIX loops below serve. */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1
#endif

#include "udp.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#if defined(__linux__)
#include <netinet/udp.h> /* UDP_SEGMENT, UDP_GRO where the headers know them */
#endif

#define UDP_PORT_TEXT_BYTES 6 /* "65535" + NUL */

static void udp_errf(char *err, size_t err_bytes, const char *what,
                     const char *text, const char *why) {
  if (err == NULL || err_bytes == 0) return;
  snprintf(err, err_bytes, "%s '%s': %s", what, text, why);
}

/* Port: 1..5 decimal digits, value 1..65535. */
static int udp_port_ok(const char *p) {
  size_t n = strlen(p);
  if (n == 0 || n > 5) return 0;
  unsigned long v = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return 0;
    v = v * 10 + (unsigned long)(p[i] - '0');
  }
  return v >= 1 && v <= 65535;
}

/* Copy text[0..n) into dst (cap includes the NUL); 0 if it does not fit. */
static int udp_copy(char *dst, size_t cap, const char *text, size_t n) {
  if (n >= cap) return 0;
  memcpy(dst, text, n);
  dst[n] = '\0';
  return 1;
}

/* Split "HOST:PORT" / "[V6]:PORT" into host and port; reason in *why. */
static int udp_split(const char *text, char host[CHORUS_UDP_HOST_BYTES_MAX + 1],
                     char port[UDP_PORT_TEXT_BYTES], const char **why) {
  const char *colon;
  if (text[0] == '[') {
    const char *close = strchr(text, ']');
    if (close == NULL) { *why = "missing ']' after the IPv6 address"; return 0; }
    if (close[1] != ':') { *why = "expected ':PORT' after ']'"; return 0; }
    if (close == text + 1) { *why = "empty IPv6 address"; return 0; }
    if (!udp_copy(host, CHORUS_UDP_HOST_BYTES_MAX + 1, text + 1,
                  (size_t)(close - text - 1))) {
      *why = "host name too long"; return 0;
    }
    colon = close + 1;
  } else {
    colon = strrchr(text, ':');
    if (colon == NULL) { *why = "expected HOST:PORT"; return 0; }
    if (memchr(text, ':', (size_t)(colon - text)) != NULL) {
      *why = "write IPv6 addresses in brackets, [ADDR]:PORT"; return 0;
    }
    if (!udp_copy(host, CHORUS_UDP_HOST_BYTES_MAX + 1, text,
                  (size_t)(colon - text))) {
      *why = "host name too long"; return 0;
    }
  }
  if (!udp_copy(port, UDP_PORT_TEXT_BYTES, colon + 1, strlen(colon + 1)) ||
      !udp_port_ok(port)) {
    *why = "port must be a number from 1 to 65535"; return 0;
  }
  return 1;
}

/* Rewrite an IPv4 address as ::ffff:a.b.c.d so an AF_INET6 socket can use it. */
static void udp_map_v4(chorus_udp_addr *a) {
  struct sockaddr_in v4;
  struct sockaddr_in6 v6;
  memcpy(&v4, &a->ss, sizeof v4);
  memset(&v6, 0, sizeof v6);
  v6.sin6_family = AF_INET6;
  v6.sin6_port = v4.sin_port;
  v6.sin6_addr.s6_addr[10] = 0xff;
  v6.sin6_addr.s6_addr[11] = 0xff;
  memcpy(&v6.sin6_addr.s6_addr[12], &v4.sin_addr, 4);
  memset(&a->ss, 0, sizeof a->ss);
  memcpy(&a->ss, &v6, sizeof v6);
  a->len = (socklen_t)sizeof v6;
}

/* Pick the first result usable with `family`; 1 if found. */
static int udp_pick(const struct addrinfo *res, int family, chorus_udp_addr *out) {
  const struct addrinfo *v4 = NULL;
  for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof out->ss) continue;
    if (family == AF_UNSPEC || ai->ai_family == family) {
      memset(out, 0, sizeof *out);
      memcpy(&out->ss, ai->ai_addr, ai->ai_addrlen);
      out->len = ai->ai_addrlen;
      return 1;
    }
    if (ai->ai_family == AF_INET && v4 == NULL) v4 = ai;
  }
  if (family != AF_INET6 || v4 == NULL) return 0;
  memset(out, 0, sizeof *out);
  memcpy(&out->ss, v4->ai_addr, v4->ai_addrlen);
  out->len = v4->ai_addrlen;
  udp_map_v4(out);
  return 1;
}

int chorus_udp_resolve(const char *text, int family, int passive,
                       chorus_udp_addr *out, char *err, size_t err_bytes) {
  char host[CHORUS_UDP_HOST_BYTES_MAX + 1], port[UDP_PORT_TEXT_BYTES];
  const char *why = NULL;
  if (text == NULL || out == NULL) return CHORUS_UDP_ERR_SYNTAX;
  if (!udp_split(text, host, port, &why)) {
    udp_errf(err, err_bytes, "bad address", text, why);
    return CHORUS_UDP_ERR_SYNTAX;
  }
  if (host[0] == '\0' && !passive) {
    udp_errf(err, err_bytes, "bad address", text, "missing host");
    return CHORUS_UDP_ERR_SYNTAX;
  }
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = (family == AF_INET) ? AF_INET : AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_protocol = IPPROTO_UDP;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  /* An empty listen host is the IPv4 wildcard; [::] asks for dual stack. */
  const char *node = host[0] ? host : "0.0.0.0";
  int rc = getaddrinfo(node, port, &hints, &res);
  if (rc != 0) {
    udp_errf(err, err_bytes, "cannot resolve", text, gai_strerror(rc));
    return CHORUS_UDP_ERR_HOST;
  }
  int found = udp_pick(res, family, out);
  freeaddrinfo(res);
  if (!found) {
    udp_errf(err, err_bytes, "cannot use", text,
             "no address in the listening socket's family");
    return CHORUS_UDP_ERR_HOST;
  }
  return CHORUS_UDP_OK;
}

/* Best-effort socket options: failures only cost performance or dual stack. */
static void udp_tune(int fd, int family, size_t sockbuf_bytes) {
  if (sockbuf_bytes > 0 && sockbuf_bytes <= (size_t)0x7fffffff) {
    int sz = (int)sockbuf_bytes;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  }
  if (family == AF_INET6) {
    int off = 0;
    (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  }
}

static int udp_nonblock_cloexec(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
  int fd_fl = fcntl(fd, F_GETFD);
  if (fd_fl < 0 || fcntl(fd, F_SETFD, fd_fl | FD_CLOEXEC) < 0) return -1;
  return 0;
}

int chorus_udp_open(const chorus_udp_addr *local, size_t sockbuf_bytes,
                    int *fd_out, char *err, size_t err_bytes) {
  char text[CHORUS_UDP_TEXT_BYTES];
  chorus_udp_format(local, text, sizeof text);
  int family = local->ss.ss_family;
  int fd = socket(family, SOCK_DGRAM, IPPROTO_UDP);
  if (fd < 0) {
    udp_errf(err, err_bytes, "cannot create a socket for", text, strerror(errno));
    return CHORUS_UDP_ERR_SYS;
  }
  udp_tune(fd, family, sockbuf_bytes);
  if (udp_nonblock_cloexec(fd) < 0 ||
      bind(fd, (const struct sockaddr *)&local->ss, local->len) < 0) {
    int e = errno;
    udp_errf(err, err_bytes, "cannot bind", text, strerror(e));
    close(fd);
    errno = e;
    return CHORUS_UDP_ERR_SYS;
  }
  *fd_out = fd;
  return CHORUS_UDP_OK;
}

void chorus_udp_close(int fd) {
  if (fd >= 0) close(fd);
}

int chorus_udp_local(int fd, chorus_udp_addr *out) {
  memset(out, 0, sizeof *out);
  out->len = (socklen_t)sizeof out->ss;
  if (getsockname(fd, (struct sockaddr *)&out->ss, &out->len) < 0)
    return CHORUS_UDP_ERR_SYS;
  return CHORUS_UDP_OK;
}

/* errno of a failed call as a status. */
static int udp_status_of_errno(void) {
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return CHORUS_UDP_WOULD_BLOCK;
  return CHORUS_UDP_ERR_SYS;
}

int chorus_udp_send(int fd, const chorus_udp_addr *to, const uint8_t *data,
                    size_t len_bytes) {
  for (;;) {
    ssize_t n = sendto(fd, data, len_bytes, 0,
                       (const struct sockaddr *)&to->ss, to->len);
    if (n >= 0) return CHORUS_UDP_OK;
    if (errno == EINTR) continue;
    return udp_status_of_errno();
  }
}

int chorus_udp_recv(int fd, uint8_t *buf, size_t cap_bytes, size_t *len_bytes,
                    chorus_udp_addr *from) {
  chorus_udp_addr scratch;
  chorus_udp_addr *a = from ? from : &scratch;
  for (;;) {
    a->len = (socklen_t)sizeof a->ss;
    ssize_t n = recvfrom(fd, buf, cap_bytes, 0, (struct sockaddr *)&a->ss, &a->len);
    if (n >= 0) {
      *len_bytes = (size_t)n;
      return CHORUS_UDP_OK;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return CHORUS_UDP_WOULD_BLOCK;
    return CHORUS_UDP_ERR_SYS;
  }
}

/* The configure-free check: _GNU_SOURCE took effect (glibc says so with
 * __USE_GNU; musl reads _GNU_SOURCE itself) and the headers know the
 * mmsg flag. A file that included the socket headers before defining
 * _GNU_SOURCE gets the POSIX loops. */
#if defined(__linux__) && defined(_GNU_SOURCE) && defined(MSG_WAITFORONE) && \
    (defined(__USE_GNU) || !defined(__GLIBC__))
#define UDP_HAVE_MMSG 1
#else
#define UDP_HAVE_MMSG 0
#endif

/* Segmentation offload needs sendmmsg's msghdr path and both options in
 * the headers (glibc 2.29+, musl 1.2+ with _GNU_SOURCE); else plain sends. */
#if UDP_HAVE_MMSG && defined(UDP_SEGMENT) && defined(UDP_GRO)
#define UDP_HAVE_GSO 1
#else
#define UDP_HAVE_GSO 0
#endif

int chorus_udp_gso_available(void) { return UDP_HAVE_GSO; }

size_t chorus_udp_msg_parts(const chorus_udp_msg *m) {
  if (m->seg_bytes == 0 || m->len_bytes <= m->seg_bytes) return 1;
  return (m->len_bytes + m->seg_bytes - 1) / m->seg_bytes;
}

const uint8_t *chorus_udp_msg_part(const chorus_udp_msg *m, size_t i, size_t *len_bytes) {
  if (chorus_udp_msg_parts(m) == 1) {
    *len_bytes = m->len_bytes;
    return m->data;
  }
  size_t off = i * m->seg_bytes, left = m->len_bytes - off;
  *len_bytes = left < m->seg_bytes ? left : m->seg_bytes;
  return m->data + off;
}

#if UDP_HAVE_GSO

/* Room for the one control message either way (a uint16_t UDP_SEGMENT
 * size out, an int UDP_GRO size in), aligned for cmsghdr (whose widest
 * field is a size_t or a socklen_t). */
typedef union udp_cmsg {
  size_t align;
  uint8_t bytes[CMSG_SPACE(sizeof(int))];
} udp_cmsg;

int chorus_udp_gro_enable(int fd) {
  int on = 1;
  return setsockopt(fd, IPPROTO_UDP, UDP_GRO, &on, sizeof on) == 0;
}

/* The segment size of a coalesced receive, 0 for a single datagram. */
static size_t udp_gro_size(struct msghdr *h, size_t len) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level != IPPROTO_UDP || c->cmsg_type != UDP_GRO) continue;
    int seg;
    memcpy(&seg, CMSG_DATA(c), sizeof seg);
    return seg > 0 && (size_t)seg < len ? (size_t)seg : 0;
  }
  return 0;
}

#else

int chorus_udp_gro_enable(int fd) {
  (void)fd;
  return 0;
}

#endif

#if UDP_HAVE_MMSG

/* One header per message over msgs[i].data; len_bytes, or cap_bytes when
 * receiving. Addresses only for sending (recv leaves them unfilled). */
static void udp_mmsg_prepare(struct mmsghdr *hdr, struct iovec *iov, const chorus_udp_msg *msgs,
                             size_t count, size_t cap_bytes) {
  memset(hdr, 0, count * sizeof hdr[0]);
  for (size_t i = 0; i < count; i++) {
    iov[i].iov_base = msgs[i].data;
    iov[i].iov_len = cap_bytes ? cap_bytes : msgs[i].len_bytes;
    if (cap_bytes == 0) {
      hdr[i].msg_hdr.msg_name = (void *)&msgs[i].addr.ss;
      hdr[i].msg_hdr.msg_namelen = msgs[i].addr.len;
    }
    hdr[i].msg_hdr.msg_iov = &iov[i];
    hdr[i].msg_hdr.msg_iovlen = 1;
  }
}

int chorus_udp_recv_batch(int fd, chorus_udp_msg *msgs, size_t count, size_t cap_bytes,
                          size_t *got) {
  struct mmsghdr hdr[CHORUS_UDP_BATCH_MAX];
  struct iovec iov[CHORUS_UDP_BATCH_MAX];
  *got = 0;
  if (count > CHORUS_UDP_BATCH_MAX) count = CHORUS_UDP_BATCH_MAX;
  if (count == 0 || cap_bytes == 0) return CHORUS_UDP_WOULD_BLOCK;
  udp_mmsg_prepare(hdr, iov, msgs, count, cap_bytes);
#if UDP_HAVE_GSO
  udp_cmsg ctl[CHORUS_UDP_BATCH_MAX];
  for (size_t i = 0; i < count; i++) {
    hdr[i].msg_hdr.msg_control = ctl[i].bytes;
    hdr[i].msg_hdr.msg_controllen = sizeof ctl[i].bytes;
  }
#endif
  int n;
  do n = recvmmsg(fd, hdr, (unsigned)count, MSG_DONTWAIT, NULL);
  while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? CHORUS_UDP_WOULD_BLOCK
                                                            : CHORUS_UDP_ERR_SYS;
  for (int i = 0; i < n; i++) {
    msgs[i].len_bytes = hdr[i].msg_len < cap_bytes ? hdr[i].msg_len : cap_bytes;
#if UDP_HAVE_GSO
    msgs[i].seg_bytes = udp_gro_size(&hdr[i].msg_hdr, msgs[i].len_bytes);
#else
    msgs[i].seg_bytes = 0;
#endif
  }
  *got = (size_t)n;
  return n > 0 ? CHORUS_UDP_OK : CHORUS_UDP_WOULD_BLOCK;
}

int chorus_udp_send_batch(int fd, const chorus_udp_msg *msgs, size_t count, size_t *sent) {
  struct mmsghdr hdr[CHORUS_UDP_BATCH_MAX];
  struct iovec iov[CHORUS_UDP_BATCH_MAX];
  *sent = 0;
  if (count > CHORUS_UDP_BATCH_MAX) count = CHORUS_UDP_BATCH_MAX;
  udp_mmsg_prepare(hdr, iov, msgs, count, 0);
  /* sendmmsg stops at the first failure and reports the ones before it;
   * a call that sends nothing returns that failure's errno. */
  while (*sent < count) {
    int n = sendmmsg(fd, hdr + *sent, (unsigned)(count - *sent), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? udp_status_of_errno() : CHORUS_UDP_ERR_SYS;
    *sent += (size_t)n;
  }
  return CHORUS_UDP_OK;
}

#if UDP_HAVE_GSO

static int udp_addr_eq(const chorus_udp_addr *a, const chorus_udp_addr *b) {
  return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

/* Make each destination's datagrams adjacent, keeping their order. */
static void udp_group(chorus_udp_msg *msgs, size_t count) {
  chorus_udp_msg tmp[CHORUS_UDP_BATCH_MAX];
  uint8_t taken[CHORUS_UDP_BATCH_MAX] = {0};
  size_t k = 0;
  for (size_t i = 0; i < count; i++) {
    if (taken[i]) continue;
    for (size_t j = i; j < count; j++) {
      if (taken[j] || !udp_addr_eq(&msgs[j].addr, &msgs[i].addr)) continue;
      taken[j] = 1;
      tmp[k++] = msgs[j];
    }
  }
  memcpy(msgs, tmp, count * sizeof *msgs);
}

/* How many datagrams from msgs[0] can go as one segmented send. */
static size_t udp_run(const chorus_udp_msg *msgs, size_t count) {
  size_t seg = msgs[0].len_bytes, total = seg, n = 1;
  while (n < count && n < CHORUS_UDP_GSO_SEGMENTS_MAX && msgs[n - 1].len_bytes == seg &&
         msgs[n].len_bytes > 0 && msgs[n].len_bytes <= seg &&
         total + msgs[n].len_bytes <= CHORUS_UDP_GSO_BYTES_MAX &&
         udp_addr_eq(&msgs[n].addr, &msgs[0].addr)) {
    total += msgs[n].len_bytes;
    n++;
  }
  return n;
}

/* One header per run (run[h] datagrams, one iovec each; a UDP_SEGMENT
 * size when it holds more than one). Returns the number of headers. */
static size_t udp_gso_prepare(struct mmsghdr *hdr, struct iovec *iov, udp_cmsg *ctl,
                              size_t *run, chorus_udp_msg *msgs, size_t count) {
  size_t h = 0;
  for (size_t i = 0; i < count; i += run[h++]) {
    run[h] = udp_run(msgs + i, count - i);
    memset(&hdr[h], 0, sizeof hdr[h]);
    for (size_t k = 0; k < run[h]; k++) {
      iov[i + k].iov_base = msgs[i + k].data;
      iov[i + k].iov_len = msgs[i + k].len_bytes;
    }
    struct msghdr *m = &hdr[h].msg_hdr;
    m->msg_name = (void *)&msgs[i].addr.ss;
    m->msg_namelen = msgs[i].addr.len;
    m->msg_iov = &iov[i];
    m->msg_iovlen = run[h];
    if (run[h] == 1) continue;
    uint16_t seg = (uint16_t)msgs[i].len_bytes;
    memset(ctl[h].bytes, 0, sizeof ctl[h].bytes); /* the padding goes too */
    m->msg_control = ctl[h].bytes;
    m->msg_controllen = CMSG_SPACE(sizeof seg);
    struct cmsghdr *c = CMSG_FIRSTHDR(m);
    c->cmsg_level = IPPROTO_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof seg);
    memcpy(CMSG_DATA(c), &seg, sizeof seg);
  }
  return h;
}

/* The kernel cannot segment on this socket or path (not a full buffer). */
static int udp_gso_refused(int e) {
  return e == EINVAL || e == EIO || e == ENOPROTOOPT || e == EOPNOTSUPP;
}

int chorus_udp_send_batch_gso(int fd, chorus_udp_msg *msgs, size_t count, int *gso,
                              size_t *sent) {
  struct mmsghdr hdr[CHORUS_UDP_BATCH_MAX];
  struct iovec iov[CHORUS_UDP_BATCH_MAX];
  udp_cmsg ctl[CHORUS_UDP_BATCH_MAX];
  size_t run[CHORUS_UDP_BATCH_MAX];
  *sent = 0;
  if (!*gso) return chorus_udp_send_batch(fd, msgs, count, sent);
  if (count > CHORUS_UDP_BATCH_MAX) count = CHORUS_UDP_BATCH_MAX;
  udp_group(msgs, count);
  size_t headers = udp_gso_prepare(hdr, iov, ctl, run, msgs, count), h = 0;
  while (h < headers) {
    int n = sendmmsg(fd, hdr + h, (unsigned)(headers - h), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return CHORUS_UDP_ERR_SYS;
    if (n < 0 && run[h] > 1 && udp_gso_refused(errno)) {
      *gso = 0; /* for good: the rest goes plain */
      size_t more = 0;
      int rc = chorus_udp_send_batch(fd, msgs + *sent, count - *sent, &more);
      *sent += more;
      return rc;
    }
    if (n < 0) return udp_status_of_errno();
    for (int k = 0; k < n; k++) *sent += run[h++];
  }
  return CHORUS_UDP_OK;
}

#else

int chorus_udp_send_batch_gso(int fd, chorus_udp_msg *msgs, size_t count, int *gso,
                              size_t *sent) {
  *gso = 0;
  return chorus_udp_send_batch(fd, msgs, count, sent);
}

#endif

#else /* POSIX: one call per datagram */

int chorus_udp_recv_batch(int fd, chorus_udp_msg *msgs, size_t count, size_t cap_bytes,
                          size_t *got) {
  int rc = CHORUS_UDP_WOULD_BLOCK;
  *got = 0;
  if (count > CHORUS_UDP_BATCH_MAX) count = CHORUS_UDP_BATCH_MAX;
  while (*got < count) {
    rc = chorus_udp_recv(fd, msgs[*got].data, cap_bytes, &msgs[*got].len_bytes, NULL);
    if (rc != CHORUS_UDP_OK) break;
    msgs[*got].seg_bytes = 0;
    (*got)++;
  }
  if (*got > 0) return CHORUS_UDP_OK; /* a later error shows again next call */
  return rc;
}

int chorus_udp_send_batch(int fd, const chorus_udp_msg *msgs, size_t count, size_t *sent) {
  if (count > CHORUS_UDP_BATCH_MAX) count = CHORUS_UDP_BATCH_MAX;
  for (*sent = 0; *sent < count; (*sent)++) {
    const chorus_udp_msg *m = &msgs[*sent];
    int rc = chorus_udp_send(fd, &m->addr, m->data, m->len_bytes);
    if (rc != CHORUS_UDP_OK) return rc;
  }
  return CHORUS_UDP_OK;
}

int chorus_udp_send_batch_gso(int fd, chorus_udp_msg *msgs, size_t count, int *gso,
                              size_t *sent) {
  *gso = 0;
  return chorus_udp_send_batch(fd, msgs, count, sent);
}

#endif

void chorus_udp_format(const chorus_udp_addr *a, char *buf, size_t bytes) {
  /* 64 bytes hold any numeric IPv6 address with a scope; the text then
   * fits CHORUS_UDP_TEXT_BYTES, and is cut (still NUL-terminated) below. */
  char host[64], port[UDP_PORT_TEXT_BYTES], text[CHORUS_UDP_TEXT_BYTES];
  if (bytes == 0) return;
  int rc = getnameinfo((const struct sockaddr *)&a->ss, a->len, host, sizeof host, port,
                       sizeof port, NI_NUMERICHOST | NI_NUMERICSERV);
  if (rc != 0) snprintf(text, sizeof text, "(unprintable address)");
  else if (a->ss.ss_family == AF_INET6) snprintf(text, sizeof text, "[%s]:%s", host, port);
  else snprintf(text, sizeof text, "%s:%s", host, port);
  size_t n = strlen(text);
  if (n >= bytes) n = bytes - 1;
  memcpy(buf, text, n);
  buf[n] = '\0';
}
