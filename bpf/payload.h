/*
 * bpf/payload.h - how the kernel side recognises what a send carries: a DNS
 * query (UDP, or TCP after its 2-byte length prefix) or a TLS ClientHello,
 * and whether the first writes of a TCP connection must be joined first.
 * Pure functions over bytes, compiled for BPF (bpf/sensor.bpf.c) and for
 * the host (tests/sensor/test_parse.c checks them).
 */
#ifndef FANGS_BPF_PAYLOAD_H
#define FANGS_BPF_PAYLOAD_H

#ifndef FS_INLINE
#define FS_INLINE static inline
#endif

/* A DNS query header and the first label of its question: QR 0, opcode
 * 0, one question, no answers nor authority, at most the EDNS record. */
FS_INLINE int fs_looks_dns(const __u8 *m, __u32 len)
{
	if (len < 17)
		return 0;
	if (m[2] & 0xf8)
		return 0;
	if (m[4] != 0 || m[5] != 1)
		return 0;
	if (m[6] | m[7] | m[8] | m[9])
		return 0;
	if (m[10] != 0 || m[11] > 1)
		return 0;
	return m[12] > 0 && m[12] < 64;
}

/* A TLS handshake record holding a ClientHello. */
FS_INLINE int fs_tls_hello(const __u8 *b, __u32 len)
{
	return len >= 6 && b[0] == 0x16 && b[1] == 3 && b[5] == 1;
}

/* The start of something that needs more writes to be read: the first
 * bytes of a TLS handshake record (short of the whole record), or a DNS
 * length prefix written alone. */
FS_INLINE int fs_partial_start(const __u8 *b, __u32 len)
{
	__u32 need;

	if (len == 2)
		return ((b[0] << 8) | b[1]) >= 17;
	if (len < 1 || len >= FS_PAYLOAD_LEN || b[0] != 0x16)
		return 0;
	if (len >= 2 && b[1] != 3)
		return 0;
	if (len >= 6 && b[5] != 1)
		return 0;
	if (len < 5)
		return 1;
	need = 5 + ((b[3] << 8) | b[4]);
	return len < need;
}

/* Joined writes hold the whole record (or all we keep of it). */
FS_INLINE int fs_complete(const __u8 *b, __u32 len)
{
	__u32 need;

	if (len >= FS_PAYLOAD_LEN)
		return 1;
	if (len < 6)
		return 0;
	if (b[0] == 0x16)
		need = 5 + ((b[3] << 8) | b[4]);
	else
		need = 2 + ((b[0] << 8) | b[1]);
	return len >= need;
}

/* What to hand to user space (enum fs_payload_kind), or 0. Port 53 is
 * DNS whatever it looks like (user space's parser decides); elsewhere the
 * bytes must look like it. */
FS_INLINE __u32 fs_classify(const __u8 *b, __u32 len, __u32 proto, __u16 port)
{
	__u32 plen;

	if (proto == FS_PROTO_UDP)
		return port == 53 || fs_looks_dns(b, len) ? FS_PL_DNS : 0;
	if (fs_tls_hello(b, len))
		return FS_PL_TLS;
	if (len < 2 + 17)
		return port == 53 ? FS_PL_DNS_TCP : 0;
	plen = (b[0] << 8) | b[1];
	if (port == 53 ||
	    ((plen == len - 2 || (len >= FS_PAYLOAD_LEN && plen > len - 2)) && fs_looks_dns(b + 2, len - 2)))
		return FS_PL_DNS_TCP;
	return 0;
}

#endif
