/*
 * core/buf.c - growable byte buffer with JSON string escaping.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/internal.h"

int fangs_buf_reserve(fangs_buf *b, size_t extra)
{
	size_t need, ncap;
	char *n;
	if (b->oom)
		return FANGS_ENOMEM;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	n = realloc(b->data, ncap);
	if (!n) {
		b->oom = 1;
		return fangs__error_oom();
	}
	b->data = n;
	b->cap = ncap;
	return 0;
}

/* The encoders append a few bytes at a time: skip the call when there is room. */
static inline int room(fangs_buf *b, size_t extra)
{
	return (!b->oom && b->len + extra < b->cap) ? 0 : fangs_buf_reserve(b, extra);
}

void fangs_buf_put(fangs_buf *b, const void *data, size_t len)
{
	if (room(b, len))
		return;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void fangs_buf_puts(fangs_buf *b, const char *s)
{
	fangs_buf_put(b, s, strlen(s));
}

void fangs_buf_putc(fangs_buf *b, char c)
{
	if (room(b, 1))
		return;
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void fangs_buf_printf(fangs_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (fangs_buf_reserve(b, 64))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		if (fangs_buf_reserve(b, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* Decimal digits without snprintf, which dominated event encoding. */
static void put_decimal(fangs_buf *b, unsigned long long v, int negative)
{
	char tmp[24];
	char *p = tmp + sizeof(tmp);
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (negative)
		*--p = '-';
	fangs_buf_put(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void fangs_buf_i64(fangs_buf *b, long long v)
{
	put_decimal(b, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v, v < 0);
}

void fangs_buf_u64(fangs_buf *b, unsigned long long v)
{
	put_decimal(b, v, 0);
}

/* Length of a valid UTF-8 sequence at p (at most n bytes), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	uint32_t cp;
	return fangs__utf8_seq(p, n, &cp);
}

void fangs_buf_json_strn(fangs_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	if (room(b, n + 2))
		return;
	fangs_buf_putc(b, '"');
	while (i < n) {
		size_t run = i;
		/* copy plain runs in one go */
		while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
			run++;
		if (run > i) {
			fangs_buf_put(b, p + i, run - i);
			i = run;
			continue;
		}
		unsigned char c = p[i];
		if (c >= 0x80) {
			size_t l = utf8_len(p + i, n - i);
			if (l == 0) {
				fangs_buf_puts(b, "\\ufffd");
				i++;
			} else {
				fangs_buf_put(b, p + i, l);
				i += l;
			}
			continue;
		}
		switch (c) {
		case '"':
			fangs_buf_puts(b, "\\\"");
			break;
		case '\\':
			fangs_buf_puts(b, "\\\\");
			break;
		case '\n':
			fangs_buf_puts(b, "\\n");
			break;
		case '\r':
			fangs_buf_puts(b, "\\r");
			break;
		case '\t':
			fangs_buf_puts(b, "\\t");
			break;
		case '\b':
			fangs_buf_puts(b, "\\b");
			break;
		case '\f':
			fangs_buf_puts(b, "\\f");
			break;
		default: {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			fangs_buf_put(b, e, 6);
		}
		}
		i++;
	}
	fangs_buf_putc(b, '"');
}

void fangs_buf_json_str(fangs_buf *b, const char *s)
{
	if (!s) {
		fangs_buf_puts(b, "null");
		return;
	}
	fangs_buf_json_strn(b, s, strlen(s));
}

char *fangs_buf_steal(fangs_buf *b, size_t *len)
{
	char *d;
	if (b->oom) {
		fangs_buf_free(b);
		return NULL;
	}
	if (!b->data && fangs_buf_reserve(b, 0))
		return NULL;
	d = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}

void fangs_buf_free(fangs_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}

void fangs_buf_reset(fangs_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}
