/*
 * proxy/tls.c - the server name of a TLS ClientHello, read on its way
 * through a CONNECT tunnel.
 */
#include <string.h>

#include "proxy/internal.h"

static unsigned be16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

int fangs__tls_sni(const unsigned char *d, size_t len, char *out, size_t cap)
{
	size_t rec, hs_len, p, end, ext_end;
	out[0] = '\0';
	if (len < 1)
		return -1;
	if (d[0] != 0x16) /* not a handshake record: not TLS */
		return 0;
	if (len < 5)
		return -1;
	if (d[1] != 3)
		return 0;
	rec = be16(d + 3);
	if (len < 5 + rec)
		return rec > 16384 + 2048 ? 0 : -1;
	d += 5;
	/* handshake header: type 1 = ClientHello, 24-bit length; the hello
	 * is read from the first record only (it fits in one in practice) */
	if (rec < 4 || d[0] != 1)
		return 0;
	hs_len = (size_t)d[1] << 16 | (size_t)d[2] << 8 | d[3];
	end = 4 + hs_len < rec ? 4 + hs_len : rec;
	p = 4 + 2 + 32; /* version, random */
	if (p + 1 > end)
		return 0;
	p += 1 + d[p]; /* session id */
	if (p + 2 > end)
		return 0;
	p += 2 + be16(d + p); /* cipher suites */
	if (p + 1 > end)
		return 0;
	p += 1 + d[p]; /* compression methods */
	if (p + 2 > end)
		return 0;
	ext_end = p + 2 + be16(d + p);
	if (ext_end > end)
		ext_end = end;
	p += 2;
	while (p + 4 <= ext_end) {
		unsigned type = be16(d + p), elen = be16(d + p + 2);
		size_t e = p + 4;
		if (e + elen > ext_end)
			return 0;
		if (type == 0 && elen >= 2) { /* server_name */
			size_t list_end = e + 2 + be16(d + e), q = e + 2;
			if (list_end > e + elen)
				list_end = e + elen;
			while (q + 3 <= list_end) {
				unsigned nlen = be16(d + q + 1);
				if (q + 3 + nlen > list_end)
					return 0;
				if (d[q] == 0) { /* host_name */
					if (nlen == 0 || nlen >= cap)
						return 0;
					for (unsigned i = 0; i < nlen; i++) {
						unsigned char c = d[q + 3 + i];
						if (c <= 0x20 || c >= 0x7f)
							return 0;
					}
					memcpy(out, d + q + 3, nlen);
					out[nlen] = '\0';
					return 1;
				}
				q += 3 + nlen;
			}
			return 0;
		}
		p = e + elen;
	}
	return 0;
}
