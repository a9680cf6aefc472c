/*
 * tests/sensor/actor.c - performs one observable behaviour per command, so
 * the sensor tests know exactly what the kernel must have seen.
 *
 *   actor open|openat2|open-legacy|creat|write-open PATH
 *   actor open-unpaged PATH            openat of a path string on a page not yet
 *                                      mapped in (a fresh file mapping)
 *   actor exec PATH ARGS...            execve
 *   actor execveat PATH ARGS...        execveat(AT_FDCWD, PATH, ...)
 *   actor connect4|connect6|connect4m PORT   TCP to 127.0.0.1 / ::1 / ::ffff:127.0.0.1
 *   actor connect-unix PATH            AF_UNIX stream connect ("@name": abstract)
 *   actor dns-sendto ADDR NAME         UDP query to ADDR:53 with sendto(addr)
 *   actor dns-connect ADDR NAME        connect() then send() with no address
 *   actor dns-tcp ADDR NAME            TCP query to ADDR:53 with its length prefix
 *   actor dns-sendmsg ADDR NAME        sendmsg() with msg_name set
 *   actor dns6-connect ADDR6 NAME      IPv6: connect() then send() with no address
 *   actor dns-sendmmsg ADDR NAME       connect(), then A and AAAA in one sendmmsg()
 *   actor tls PORT SNI                 TCP to 127.0.0.1:PORT, writes a ClientHello
 *   actor uring-open PATH              io_uring IORING_OP_OPENAT
 *   actor uring-connect PORT           io_uring IORING_OP_CONNECT to 127.0.0.1
 *   actor udp-any ADDR PORT NAME       connect() UDP to ADDR:PORT, DNS query with send()
 *   actor dns-iov ADDR PORT NAME       sendmsg() of a DNS query split over 3 iovecs
 *   actor dns-mmsg-late ADDR NAME      sendmmsg() of 6 messages, the query the 5th
 *   actor dns-tcp-split PORT NAME      TCP to 127.0.0.1:PORT, the length prefix and the
 *                                      query in two writes
 *   actor tls-split PORT SNI           TCP to 127.0.0.1:PORT, a ClientHello in 3 writes
 *   actor tls-decoy PORT SNI           a 5-byte TLS header announcing 64 KiB, then a ClientHello
 *   actor fastopen ADDR PORT SNI       sendto(MSG_FASTOPEN) of a ClientHello, no connect()
 *   actor uring-sendmsg ADDR NAME      io_uring SENDMSG of a DNS query to ADDR:53
 *   actor uring-sendto ADDR NAME       io_uring SEND with a destination (addr2) of a DNS query
 *   actor uring-send PORT SNI          io_uring SEND of a ClientHello on a TCP socket
 *   actor uring-write PORT SNI         io_uring WRITE of a ClientHello on a TCP socket
 *   actor ptrace                       PTRACE_ATTACH to a child of its own, then detach
 *   actor mount DIR                    mount(none, DIR, "fangs-nofs"), umount2(DIR),
 *                                      fsopen("fangs-nofs"): all refused, all attempts
 *   actor unshare                      unshare(CLONE_NEWUTS), setns() to its own uts ns,
 *                                      clone(CLONE_NEWIPC) of a child that exits
 *   actor kill PID SIG                 kill(PID, SIG); and SIGTERM to a child of its own
 *   actor kernel-load                  init_module, finit_module, bpf(PROG_LOAD) with
 *                                      arguments the kernel refuses; perf_event_open of
 *                                      a software counter of itself
 *   actor flood-same PATH N            opens PATH N times
 *   actor flood-distinct DIR N         opens N different missing paths under DIR
 *   actor chain PKG VER SCRIPT PATH    3 processes with npm_* variables; the
 *                                      last one has an empty environment and opens PATH
 *   actor open-dirfd DIR NAME          openat(open(DIR, O_PATH), NAME)
 *   actor open-chdir DIR PATH          chdir(DIR), then openat(AT_FDCWD, PATH)
 *   actor script DIR PKG SCRIPT CLAIM PATH
 *                                      plays npm: in DIR, with npm's variables for
 *                                      PKG's SCRIPT, starts a script process, whose
 *                                      child says npm_package_name=CLAIM ("-": as
 *                                      inherited, "": removed) and opens PATH
 *
 * Exits 0 when the behaviour was carried out (a refused connection counts:
 * the attempt is what is observed), non-zero otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

static int die(const char *what)
{
	fprintf(stderr, "actor: %s: %s\n", what, strerror(errno));
	return 1;
}

static int done_fd(int fd)
{
	if (fd >= 0)
		close(fd);
	return 0;
}

/* ---- DNS ------------------------------------------------------------------ */

static size_t dns_query(uint8_t *buf, const char *name, uint16_t qtype)
{
	size_t pos = 12;
	const char *p = name;
	memset(buf, 0, 12);
	buf[0] = 0x12, buf[1] = 0x34; /* id */
	buf[2] = 0x01;                /* RD */
	buf[5] = 1;                   /* QDCOUNT */
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		buf[pos++] = (uint8_t)l;
		memcpy(buf + pos, p, l);
		pos += l;
		p += l + (dot ? 1 : 0);
	}
	buf[pos++] = 0;
	buf[pos++] = (uint8_t)(qtype >> 8);
	buf[pos++] = (uint8_t)qtype;
	buf[pos++] = 0;
	buf[pos++] = 1; /* IN */
	return pos;
}

static int dns6(const char *addr, const char *name)
{
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(53)};
	uint8_t q[512];
	size_t n = dns_query(q, name, 28);
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);

	if (fd < 0 || inet_pton(AF_INET6, addr, &sin6.sin6_addr) != 1)
		return die("socket");
	if (connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)) < 0)
		return die("connect");
	if (send(fd, q, n, 0) < 0)
		return die("send");
	return done_fd(fd);
}

static int dns(const char *mode, const char *addr, const char *name)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(53)};
	uint8_t q[512];
	size_t n;
	int fd;

	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		return die("address");
	if (strcmp(mode, "dns-tcp") == 0) {
		uint8_t msg[514];
		n = dns_query(msg + 2, name, 28);
		msg[0] = (uint8_t)(n >> 8);
		msg[1] = (uint8_t)n;
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			return die("tcp connect");
		if (write(fd, msg, n + 2) < 0)
			return die("write");
		return done_fd(fd);
	}
	n = dns_query(q, name, 1);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return die("socket");
	if (strcmp(mode, "dns-sendmsg") == 0) {
		struct iovec iov = {q, n};
		struct msghdr mh = {.msg_name = &sin, .msg_namelen = sizeof(sin), .msg_iov = &iov, .msg_iovlen = 1};
		if (sendmsg(fd, &mh, 0) < 0)
			return die("sendmsg");
	} else if (strcmp(mode, "dns-sendmmsg") == 0) {
		/* what glibc's resolver does: both questions in one call */
		uint8_t q6[512];
		struct iovec iov[2] = {{q, n}, {q6, dns_query(q6, name, 28)}};
		struct mmsghdr mm[2];
		memset(mm, 0, sizeof(mm));
		mm[0].msg_hdr.msg_iov = &iov[0];
		mm[0].msg_hdr.msg_iovlen = 1;
		mm[1].msg_hdr.msg_iov = &iov[1];
		mm[1].msg_hdr.msg_iovlen = 1;
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			return die("connect");
		if (sendmmsg(fd, mm, 2, 0) != 2)
			return die("sendmmsg");
	} else if (strcmp(mode, "dns-sendto") == 0) {
		if (sendto(fd, q, n, 0, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			return die("sendto");
	} else {
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			return die("connect");
		if (sendto(fd, q, n, 0, NULL, 0) < 0)
			return die("send");
	}
	return done_fd(fd);
}

/* ---- TLS ------------------------------------------------------------------ */

static size_t client_hello(uint8_t *b, const char *sni)
{
	size_t sl = strlen(sni), pos = 0, hs_len_at, ext_len_at;
	static const uint8_t suites[] = {0x13, 0x01, 0x13, 0x02, 0xc0, 0x2f};

	b[pos++] = 0x16, b[pos++] = 3, b[pos++] = 1; /* record: handshake, TLS 1.0 */
	pos += 2;                                    /* record length */
	b[pos++] = 1;                                /* ClientHello */
	hs_len_at = pos;
	pos += 3;
	b[pos++] = 3, b[pos++] = 3;           /* client_version TLS 1.2 */
	memset(b + pos, 0x5a, 32), pos += 32; /* random */
	b[pos++] = 0;                         /* session id */
	b[pos++] = 0, b[pos++] = sizeof(suites);
	memcpy(b + pos, suites, sizeof(suites)), pos += sizeof(suites);
	b[pos++] = 1, b[pos++] = 0; /* compression: null */
	ext_len_at = pos;
	pos += 2;
	/* a harmless extension first: supported_groups */
	b[pos++] = 0x00, b[pos++] = 0x0a, b[pos++] = 0, b[pos++] = 4, b[pos++] = 0, b[pos++] = 2, b[pos++] = 0,
	b[pos++] = 0x1d;
	/* server_name */
	b[pos++] = 0, b[pos++] = 0;
	b[pos++] = (uint8_t)((sl + 5) >> 8), b[pos++] = (uint8_t)(sl + 5);
	b[pos++] = (uint8_t)((sl + 3) >> 8), b[pos++] = (uint8_t)(sl + 3);
	b[pos++] = 0;
	b[pos++] = (uint8_t)(sl >> 8), b[pos++] = (uint8_t)sl;
	memcpy(b + pos, sni, sl), pos += sl;
	b[ext_len_at] = (uint8_t)((pos - ext_len_at - 2) >> 8);
	b[ext_len_at + 1] = (uint8_t)(pos - ext_len_at - 2);
	b[hs_len_at] = 0;
	b[hs_len_at + 1] = (uint8_t)((pos - hs_len_at - 3) >> 8);
	b[hs_len_at + 2] = (uint8_t)(pos - hs_len_at - 3);
	b[3] = (uint8_t)((pos - 5) >> 8);
	b[4] = (uint8_t)(pos - 5);
	return pos;
}

static int tls(int port, const char *sni)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	uint8_t hello[600];
	size_t n = client_hello(hello, sni);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return die("connect");
	if (write(fd, hello, n) != (ssize_t)n)
		return die("write");
	return done_fd(fd);
}

/* ---- connect -------------------------------------------------------------- */

static int tcp_connect(const char *mode, int port)
{
	int fd;
	if (strcmp(mode, "connect4") == 0) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return die("socket");
		connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	} else {
		struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
		inet_pton(AF_INET6, strcmp(mode, "connect6") == 0 ? "::1" : "::ffff:127.0.0.1", &sin6.sin6_addr);
		fd = socket(AF_INET6, SOCK_STREAM, 0);
		if (fd < 0)
			return die("socket");
		connect(fd, (struct sockaddr *)&sin6, sizeof(sin6));
	}
	return done_fd(fd);
}

/* ---- io_uring through raw system calls ------------------------------------- */

static int uring_one(struct io_uring_sqe *tmpl)
{
	struct io_uring_params p;
	unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	void *sq, *cq;
	int fd, res;

	memset(&p, 0, sizeof(p));
	fd = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (fd < 0)
		return die("io_uring_setup");
	sq = mmap(NULL, p.sq_off.array + p.sq_entries * sizeof(unsigned), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		  IORING_OFF_SQ_RING);
	cq = mmap(NULL, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe), PROT_READ | PROT_WRITE, MAP_SHARED,
		  fd, IORING_OFF_CQ_RING);
	sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		return die("mmap");
	sq_tail = (unsigned *)((char *)sq + p.sq_off.tail);
	sq_mask = (unsigned *)((char *)sq + p.sq_off.ring_mask);
	sq_array = (unsigned *)((char *)sq + p.sq_off.array);
	cq_head = (unsigned *)((char *)cq + p.cq_off.head);
	cq_tail = (unsigned *)((char *)cq + p.cq_off.tail);
	cqes = (struct io_uring_cqe *)((char *)cq + p.cq_off.cqes);

	sqes[0] = *tmpl;
	sq_array[*sq_tail & *sq_mask] = 0;
	__atomic_store_n(sq_tail, *sq_tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return die("io_uring_enter");
	if (__atomic_load_n(cq_tail, __ATOMIC_ACQUIRE) == *cq_head)
		return die("no completion");
	res = cqes[*cq_head & (p.cq_entries - 1)].res;
	if (res >= 0 && tmpl->opcode == IORING_OP_OPENAT)
		close(res);
	close(fd);
	return 0;
}

static int uring(const char *mode, const char *arg)
{
	struct io_uring_sqe sqe;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int sfd = -1, rc;

	memset(&sqe, 0, sizeof(sqe));
	if (strcmp(mode, "uring-open") == 0) {
		sqe.opcode = IORING_OP_OPENAT;
		sqe.fd = AT_FDCWD;
		sqe.addr = (uint64_t)(uintptr_t)arg;
		sqe.open_flags = O_RDONLY;
	} else {
		sin.sin_port = htons((uint16_t)atoi(arg));
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sfd = socket(AF_INET, SOCK_STREAM, 0);
		if (sfd < 0)
			return die("socket");
		sqe.opcode = IORING_OP_CONNECT;
		sqe.fd = sfd;
		sqe.addr = (uint64_t)(uintptr_t)&sin;
		sqe.off = sizeof(sin);
	}
	rc = uring_one(&sqe);
	if (sfd >= 0)
		close(sfd);
	return rc;
}

/* ---- more send paths, privileged operations, floods ------------------------ */

static int udp_to(const char *addr, int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		return -1;
	connect(fd, (struct sockaddr *)&sin, sizeof(sin)); /* unroutable: the attempt is enough */
	return fd;
}

static int tcp_local(int port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return -1;
	return fd;
}

/* Submits one sqe (uring_one() closes what an open returned). */
static int uring_sqe(uint8_t op, int fd, const void *addr, uint32_t len)
{
	struct io_uring_sqe sqe;
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = op;
	sqe.fd = fd;
	sqe.addr = (uint64_t)(uintptr_t)addr;
	sqe.len = len;
	return uring_one(&sqe);
}

static int more(const char *cmd, int argc, char **argv)
{
	uint8_t q[512], big[2048];
	size_t n;
	int fd, rc = 0;

	if (strcmp(cmd, "udp-any") == 0 && argc >= 5) {
		n = dns_query(q, argv[4], 1);
		if ((fd = udp_to(argv[2], atoi(argv[3]))) < 0)
			return die("udp");
		send(fd, q, n, 0);
		return done_fd(fd);
	}
	if (strcmp(cmd, "dns-iov") == 0 && argc >= 5) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
		struct iovec iov[3];
		struct msghdr mh = {.msg_name = &sin, .msg_namelen = sizeof(sin), .msg_iov = iov, .msg_iovlen = 3};
		n = dns_query(q, argv[4], 16);
		inet_pton(AF_INET, argv[2], &sin.sin_addr);
		iov[0] = (struct iovec){q, 12};
		iov[1] = (struct iovec){q + 12, 5};
		iov[2] = (struct iovec){q + 17, n - 17};
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return die("socket");
		sendmsg(fd, &mh, 0);
		return done_fd(fd);
	}
	if (strcmp(cmd, "dns-mmsg-late") == 0 && argc >= 4) {
		struct iovec iov[6];
		struct mmsghdr mm[6];
		static const char junk[] = "not dns at all, just noise";
		n = dns_query(q, argv[3], 1);
		memset(mm, 0, sizeof(mm));
		for (int i = 0; i < 6; i++) {
			iov[i] = i == 4 ? (struct iovec){q, n} : (struct iovec){(void *)junk, sizeof(junk)};
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		if ((fd = udp_to(argv[2], 53)) < 0)
			return die("udp");
		sendmmsg(fd, mm, 6, 0);
		return done_fd(fd);
	}
	if (strcmp(cmd, "dns-tcp-split") == 0 && argc >= 4) {
		n = dns_query(q, argv[3], 16);
		uint8_t prefix[2] = {(uint8_t)(n >> 8), (uint8_t)n};
		if ((fd = tcp_local(atoi(argv[2]))) < 0)
			return die("connect");
		if (write(fd, prefix, 2) != 2 || write(fd, q, n) != (ssize_t)n)
			return die("write");
		return done_fd(fd);
	}
	if (strcmp(cmd, "tls-split") == 0 && argc >= 4) {
		n = client_hello(big, argv[3]);
		if ((fd = tcp_local(atoi(argv[2]))) < 0)
			return die("connect");
		if (write(fd, big, 3) != 3 || write(fd, big + 3, 40) != 40 ||
		    write(fd, big + 43, n - 43) != (ssize_t)(n - 43))
			return die("write");
		return done_fd(fd);
	}
	if (strcmp(cmd, "tls-decoy") == 0 && argc >= 4) {
		static const uint8_t decoy[5] = {0x16, 3, 1, 0xff, 0xff}; /* announces a record that never comes */
		n = client_hello(big, argv[3]);
		if ((fd = tcp_local(atoi(argv[2]))) < 0)
			return die("connect");
		if (write(fd, decoy, sizeof(decoy)) != sizeof(decoy) || write(fd, big, n) != (ssize_t)n)
			return die("write");
		return done_fd(fd);
	}
	if (strcmp(cmd, "fastopen") == 0 && argc >= 5) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
		n = client_hello(big, argv[4]);
		inet_pton(AF_INET, argv[2], &sin.sin_addr);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return die("socket");
		sendto(fd, big, n, MSG_FASTOPEN, (struct sockaddr *)&sin, sizeof(sin));
		return done_fd(fd);
	}
	if (strcmp(cmd, "uring-sendmsg") == 0 && argc >= 4) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(53)};
		struct iovec iov;
		struct msghdr mh = {.msg_name = &sin, .msg_namelen = sizeof(sin), .msg_iov = &iov, .msg_iovlen = 1};
		n = dns_query(q, argv[3], 1);
		iov = (struct iovec){q, n};
		inet_pton(AF_INET, argv[2], &sin.sin_addr);
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return die("socket");
		rc = uring_sqe(IORING_OP_SENDMSG, fd, &mh, 1);
		close(fd);
		return rc;
	}
	if (strcmp(cmd, "uring-sendto") == 0 && argc >= 4) {
		/* IORING_OP_SEND with a destination (sqe->addr2): sendto's io_uring form */
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(53)};
		struct io_uring_sqe sqe;
		n = dns_query(q, argv[3], 1);
		inet_pton(AF_INET, argv[2], &sin.sin_addr);
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return die("socket");
		memset(&sqe, 0, sizeof(sqe));
		sqe.opcode = IORING_OP_SEND;
		sqe.fd = fd;
		sqe.addr = (uint64_t)(uintptr_t)q;
		sqe.len = (uint32_t)n;
		sqe.addr2 = (uint64_t)(uintptr_t)&sin;
		sqe.addr_len = sizeof(sin);
		rc = uring_one(&sqe);
		close(fd);
		return rc;
	}
	if ((strcmp(cmd, "uring-send") == 0 || strcmp(cmd, "uring-write") == 0) && argc >= 4) {
		n = client_hello(big, argv[3]);
		if ((fd = tcp_local(atoi(argv[2]))) < 0)
			return die("connect");
		rc = uring_sqe(strcmp(cmd, "uring-send") == 0 ? IORING_OP_SEND : IORING_OP_WRITE, fd, big, (uint32_t)n);
		close(fd);
		return rc;
	}
	if (strcmp(cmd, "ptrace") == 0) {
		pid_t child = fork();
		if (child < 0) /* never kill(-1, ...) */
			return die("fork");
		if (child == 0) {
			pause();
			_exit(0);
		}
		if (syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, child, NULL, NULL) == 0) {
			waitpid(child, NULL, __WALL);
			syscall(SYS_ptrace, 17 /* PTRACE_DETACH */, child, NULL, NULL);
		}
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		return 0;
	}
	if (strcmp(cmd, "mount") == 0) {
		syscall(SYS_mount, "none", argv[2], "fangs-nofs", 0UL, NULL);
		syscall(SYS_umount2, argv[2], 0);
		syscall(SYS_fsopen, "fangs-nofs", 0);
		return 0;
	}
	if (strcmp(cmd, "unshare") == 0) {
		int ns;
		if (syscall(SYS_unshare, 0x04000000 /* CLONE_NEWUTS */) < 0)
			return die("unshare");
		ns = open("/proc/self/ns/uts", O_RDONLY);
		if (ns >= 0)
			syscall(SYS_setns, ns, 0x04000000);
		{
			/* clone() with a namespace flag: a child in a new IPC namespace */
			long child = syscall(SYS_clone, 0x08000000L /* CLONE_NEWIPC */ | SIGCHLD, 0L, NULL, NULL, 0L);
			if (child == 0)
				_exit(0);
			if (child > 0)
				waitpid((pid_t)child, NULL, 0);
		}
		return done_fd(ns);
	}
	if (strcmp(cmd, "kill") == 0 && argc >= 4) {
		pid_t child = fork();
		if (child < 0) /* never kill(-1, ...) */
			return die("fork");
		if (child == 0) {
			pause();
			_exit(0);
		}
		kill(child, SIGTERM); /* its own tree: not reported */
		waitpid(child, NULL, 0);
		if (kill((pid_t)atoi(argv[2]), atoi(argv[3])) < 0)
			return die("kill");
		return 0;
	}
	if (strcmp(cmd, "kernel-load") == 0) {
		uint8_t attr[128];
		memset(attr, 0, sizeof(attr));
		syscall(SYS_init_module, NULL, 0UL, "");
		syscall(SYS_finit_module, -1, "", 0);
		syscall(SYS_bpf, 5 /* BPF_PROG_LOAD */, attr, sizeof(attr));
		{
			/* a software cpu-clock counter of itself */
			uint32_t pe[32];
			long pfd;
			memset(pe, 0, sizeof(pe));
			pe[0] = 1;          /* PERF_TYPE_SOFTWARE */
			pe[1] = sizeof(pe); /* size */
			pfd = syscall(SYS_perf_event_open, pe, 0, -1, -1, 0UL);
			if (pfd >= 0)
				close((int)pfd);
		}
		return 0;
	}
	if (strcmp(cmd, "flood-same") == 0 && argc >= 4) {
		for (long i = atol(argv[3]); i > 0; i--)
			done_fd(open(argv[2], O_RDONLY | O_CLOEXEC));
		return 0;
	}
	if (strcmp(cmd, "flood-distinct") == 0 && argc >= 4) {
		char path[4096];
		for (long i = atol(argv[3]); i > 0; i--) {
			snprintf(path, sizeof(path), "%s/missing-%ld", argv[2], i);
			done_fd(open(path, O_RDONLY | O_CLOEXEC));
		}
		return 0;
	}
	return 2;
}

/* ---- process chain --------------------------------------------------------- */

static int spawn_wait(char *const argv[], char *const envp[])
{
	int status;
	pid_t pid = fork();
	if (pid < 0)
		return die("fork");
	if (pid == 0) {
		execve(argv[0], argv, envp);
		_exit(126);
	}
	if (waitpid(pid, &status, 0) < 0)
		return die("waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int chain(const char *self, int argc, char **argv)
{
	if (strcmp(argv[1], "chain") == 0) {
		char *args[] = {(char *)self, "chain2", argv[5], NULL};
		if (argc < 6)
			return 2;
		setenv("npm_package_name", argv[2], 1);
		setenv("npm_package_version", argv[3], 1);
		setenv("npm_lifecycle_event", argv[4], 1);
		setenv("npm_lifecycle_script", "node install.js", 1);
		return spawn_wait(args, environ);
	} else {
		char *args[] = {(char *)self, "open", argv[2], NULL};
		char *empty[] = {NULL};
		return spawn_wait(args, empty);
	}
}

/* actor script: the npm part, then the script, then its child */
static int script(const char *self, int argc, char **argv)
{
	if (strcmp(argv[1], "script") == 0) {
		char *args[] = {(char *)self, "script2", argv[5], argv[6], NULL};
		if (argc < 7)
			return 2;
		if (chdir(argv[2]) < 0)
			return die(argv[2]);
		setenv("npm_package_name", argv[3], 1);
		setenv("npm_package_version", "1.0.0", 1);
		setenv("npm_lifecycle_event", argv[4], 1);
		setenv("npm_lifecycle_script", "node install.js", 1);
		return spawn_wait(args, environ);
	} else {
		char *args[] = {(char *)self, "open", argv[3], NULL};
		if (strcmp(argv[2], "") == 0)
			unsetenv("npm_package_name");
		else if (strcmp(argv[2], "-") != 0)
			setenv("npm_package_name", argv[2], 1);
		return spawn_wait(args, environ);
	}
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	struct open_how how;
	char self[4096];
	ssize_t n;
	int fd;

	if (strcmp(cmd, "ptrace") == 0 || strcmp(cmd, "unshare") == 0 || strcmp(cmd, "kernel-load") == 0)
		return more(cmd, argc, argv);
	if (argc < 3) {
		fprintf(stderr, "usage: actor COMMAND ARGS...\n");
		return 2;
	}
	{
		int rc = more(cmd, argc, argv);
		if (rc != 2)
			return rc;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return die("/proc/self/exe");
	self[n] = '\0';

	if (strcmp(cmd, "open") == 0)
		return done_fd(openat(AT_FDCWD, argv[2], O_RDONLY | O_CLOEXEC));
	if (strcmp(cmd, "open-dirfd") == 0 && argc >= 4) {
		int dfd = open(argv[2], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return die(argv[2]);
		fd = openat(dfd, argv[3], O_RDONLY | O_CLOEXEC);
		close(dfd);
		return fd < 0 ? die(argv[3]) : done_fd(fd);
	}
	if (strcmp(cmd, "open-chdir") == 0 && argc >= 4) {
		if (chdir(argv[2]) < 0)
			return die(argv[2]);
		fd = openat(AT_FDCWD, argv[3], O_RDONLY | O_CLOEXEC);
		return fd < 0 ? die(argv[3]) : done_fd(fd);
	}
	if (strcmp(cmd, "script") == 0 || strcmp(cmd, "script2") == 0)
		return script(self, argc, argv);
	if (strcmp(cmd, "open-unpaged") == 0) {
		char tmpl[] = "/tmp/fangs-actor-XXXXXX";
		int tfd = mkstemp(tmpl);
		size_t len = strlen(argv[2]) + 1;
		char *map;
		if (tfd < 0 || write(tfd, argv[2], len) != (ssize_t)len)
			return die("temporary file");
		unlink(tmpl);
		/* not touched before the call: the kernel faults it in itself */
		map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, tfd, 0);
		if (map == MAP_FAILED)
			return die("mmap");
		fd = openat(AT_FDCWD, map, O_RDONLY | O_CLOEXEC);
		close(tfd);
		return done_fd(fd);
	}
	if (strcmp(cmd, "openat2") == 0) {
		memset(&how, 0, sizeof(how));
		how.flags = O_RDONLY | O_CLOEXEC;
		return done_fd((int)syscall(SYS_openat2, AT_FDCWD, argv[2], &how, sizeof(how)));
	}
	if (strcmp(cmd, "open-legacy") == 0)
		return done_fd((int)syscall(SYS_open, argv[2], O_RDONLY));
	if (strcmp(cmd, "creat") == 0)
		return done_fd((int)syscall(SYS_creat, argv[2], 0600));
	if (strcmp(cmd, "write-open") == 0) {
		fd = openat(AT_FDCWD, argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		return fd < 0 ? die(argv[2]) : done_fd(fd);
	}
	if (strcmp(cmd, "exec") == 0) {
		execv(argv[2], argv + 2);
		return die("execv");
	}
	if (strcmp(cmd, "execveat") == 0) {
		syscall(SYS_execveat, AT_FDCWD, argv[2], argv + 2, environ, 0);
		return die("execveat");
	}
	if (strcmp(cmd, "connect-unix") == 0) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		size_t len = strlen(argv[2]);
		if (len >= sizeof(sun.sun_path))
			return 2;
		memcpy(sun.sun_path, argv[2], len);
		if (argv[2][0] == '@')
			sun.sun_path[0] = '\0';
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0)
			return die("socket");
		connect(fd, (struct sockaddr *)&sun, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
		return done_fd(fd);
	}
	if (strncmp(cmd, "connect", 7) == 0)
		return tcp_connect(cmd, atoi(argv[2]));
	if (strcmp(cmd, "dns6-connect") == 0 && argc >= 4)
		return dns6(argv[2], argv[3]);
	if (strncmp(cmd, "dns-", 4) == 0 && argc >= 4)
		return dns(cmd, argv[2], argv[3]);
	if (strcmp(cmd, "tls") == 0 && argc >= 4)
		return tls(atoi(argv[2]), argv[3]);
	if (strncmp(cmd, "uring-", 6) == 0)
		return uring(cmd, argv[2]);
	if (strncmp(cmd, "chain", 5) == 0)
		return chain(self, argc, argv);
	fprintf(stderr, "actor: unknown command %s\n", cmd);
	return 2;
}
