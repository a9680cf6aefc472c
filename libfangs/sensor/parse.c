/*
 * sensor/parse.c - DNS question and TLS ClientHello SNI parsers.
 *
 * Inputs are untrusted bytes copied from a sandboxed process: every read is
 * bounds-checked and malformed input is rejected, never guessed at.
 */
#include <stdio.h>
#include <string.h>

#include "sensor/parse.h"

static unsigned rd16(const uint8_t *p)
{
	return ((unsigned)p[0] << 8) | p[1];
}

int fangs__dns_parse_query(const uint8_t *msg, size_t len, char *qname, size_t qname_len, uint16_t *qtype)
{
	size_t pos = 12, out = 0;

	if (!msg || len < 12 + 1 + 4 || !qname || qname_len < 2)
		return -1;
	if (msg[2] & 0x80) /* QR set: a response */
		return -1;
	if (rd16(msg + 4) == 0) /* QDCOUNT */
		return -1;
	for (;;) {
		unsigned l;
		if (pos >= len)
			return -1;
		l = msg[pos++];
		if (l == 0)
			break;
		if (l & 0xc0) /* compression has no place in a question we sent */
			return -1;
		if (pos + l > len)
			return -1;
		if (out) {
			if (out + 1 >= qname_len)
				return -1;
			qname[out++] = '.';
		}
		for (unsigned i = 0; i < l; i++) {
			uint8_t c = msg[pos + i];
			if (c > 0x20 && c < 0x7f && c != '.' && c != '\\') {
				if (out + 1 >= qname_len)
					return -1;
				qname[out++] = (char)c;
			} else {
				if (out + 4 >= qname_len)
					return -1;
				snprintf(qname + out, 5, "\\%03u", c);
				out += 4;
			}
		}
		pos += l;
		if (out > 253 * 4)
			return -1;
	}
	if (pos + 4 > len)
		return -1;
	qname[out] = '\0';
	if (out == 0) { /* the root */
		qname[0] = '.';
		qname[1] = '\0';
	}
	if (qtype)
		*qtype = (uint16_t)rd16(msg + pos);
	return 0;
}

int fangs__dns_parse_tcp(const uint8_t *buf, size_t len, char *qname, size_t qname_len, uint16_t *qtype)
{
	size_t n;

	if (!buf || len < 2)
		return -1;
	n = rd16(buf);
	if (n < 12 + 1 + 4)
		return -1;
	return fangs__dns_parse_query(buf + 2, n < len - 2 ? n : len - 2, qname, qname_len, qtype);
}

int fangs__tls_parse_sni(const uint8_t *rec, size_t len, char *sni, size_t sni_len)
{
	size_t pos, end, ext_end;

	if (!rec || !sni || sni_len == 0 || len < 5 + 4)
		return -1;
	if (rec[0] != 0x16 || rec[1] != 3 || rec[5] != 1)
		return -1;
	end = 5 + rd16(rec + 3);
	if (end > len)
		end = len; /* only a prefix was copied: parse what is there */
	pos = 5 + 4;       /* handshake type + 24-bit length */
	pos += 2 + 32;     /* client_version, random */
	if (pos + 1 > end)
		return -1;
	pos += 1 + rec[pos]; /* session_id */
	if (pos + 2 > end)
		return -1;
	pos += 2 + rd16(rec + pos); /* cipher_suites */
	if (pos + 1 > end)
		return -1;
	pos += 1 + rec[pos]; /* compression_methods */
	if (pos + 2 > end)
		return -1;
	ext_end = pos + 2 + rd16(rec + pos);
	pos += 2;
	if (ext_end < end)
		end = ext_end;
	while (pos + 4 <= end) {
		unsigned type = rd16(rec + pos), elen = rd16(rec + pos + 2);
		size_t p = pos + 4, list_end;
		pos += 4 + elen;
		if (type != 0)
			continue;
		if (p + 2 > end)
			return -1;
		list_end = p + 2 + rd16(rec + p);
		p += 2;
		if (list_end > end)
			list_end = end;
		while (p + 3 <= list_end) {
			unsigned ntype = rec[p], nlen = rd16(rec + p + 1);
			p += 3;
			if (p + nlen > list_end)
				return -1;
			if (ntype == 0) {
				if (nlen == 0 || nlen >= sni_len || memchr(rec + p, '\0', nlen))
					return -1;
				memcpy(sni, rec + p, nlen);
				sni[nlen] = '\0';
				return 0;
			}
			p += nlen;
		}
		return -1;
	}
	return -1;
}

int fangs__tls_find_sni(const uint8_t *buf, size_t len, char *sni, size_t sni_len)
{
	if (fangs__tls_parse_sni(buf, len, sni, sni_len) == 0)
		return 0;
	/* joined writes may begin with a decoy: the first ClientHello record
	 * further in whose name reads */
	for (size_t i = 1; buf && i + 9 <= len; i++)
		if (buf[i] == 0x16 && buf[i + 1] == 3 && buf[i + 5] == 1 &&
		    fangs__tls_parse_sni(buf + i, len - i, sni, sni_len) == 0)
			return 0;
	return -1;
}
