/*
 * core/buf.h - a growable byte buffer, used by the encoders.
 */
#ifndef FANGS_CORE_BUF_H
#define FANGS_CORE_BUF_H

#include <stddef.h>

typedef struct fangs_buf {
	char *data;
	size_t len;
	size_t cap;
	int oom; /* sticky: once set, further appends are no-ops */
} fangs_buf;

#define FANGS_BUF_INIT {NULL, 0, 0, 0}

int fangs_buf_reserve(fangs_buf *b, size_t extra);
void fangs_buf_put(fangs_buf *b, const void *data, size_t len);
void fangs_buf_puts(fangs_buf *b, const char *s);
void fangs_buf_putc(fangs_buf *b, char c);
void fangs_buf_printf(fangs_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
/* JSON string literal with quotes and escapes (invalid UTF-8 bytes become U+FFFD). */
void fangs_buf_json_str(fangs_buf *b, const char *s);
void fangs_buf_json_strn(fangs_buf *b, const char *s, size_t n);
void fangs_buf_i64(fangs_buf *b, long long v);
void fangs_buf_u64(fangs_buf *b, unsigned long long v);
/* Returns the NUL-terminated data and gives up ownership (NULL on OOM). */
char *fangs_buf_steal(fangs_buf *b, size_t *len);
void fangs_buf_free(fangs_buf *b);
void fangs_buf_reset(fangs_buf *b);

#endif
