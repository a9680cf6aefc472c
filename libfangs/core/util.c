/*
 * core/util.c - strings, arrays, time, randomness, files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/internal.h"

char *fangs__strdup(const char *s)
{
	char *d;
	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		fangs__error_oom();
	return d;
}

char *fangs__strndup(const char *s, size_t n)
{
	char *d;
	if (!s)
		return NULL;
	d = strndup(s, n);
	if (!d)
		fangs__error_oom();
	return d;
}

char *fangs__asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fangs__error_oom();
		return NULL;
	}
	return s;
}

int fangs__strcasecmp_eq(const char *a, const char *b)
{
	return a && b && strcasecmp(a, b) == 0;
}

bool fangs__str_has_prefix(const char *s, const char *prefix)
{
	return s && prefix && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool fangs__str_has_suffix(const char *s, const char *suffix)
{
	size_t ls, lx;
	if (!s || !suffix)
		return false;
	ls = strlen(s);
	lx = strlen(suffix);
	return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

int fangs__grow(void **items, size_t *capacity, size_t count, size_t elem_size)
{
	size_t ncap;
	void *n;
	if (count < *capacity)
		return 0;
	ncap = *capacity ? *capacity * 2 : 16;
	if (ncap > SIZE_MAX / elem_size)
		return fangs__error_oom();
	n = realloc(*items, ncap * elem_size);
	if (!n)
		return fangs__error_oom();
	memset((char *)n + *capacity * elem_size, 0, (ncap - *capacity) * elem_size);
	*items = n;
	*capacity = ncap;
	return 0;
}

int64_t fangs__now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t fangs__monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int fangs__random(void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fangs__error_errno(FANGS_EIO, "getrandom");
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

uint64_t fangs__hash64(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = 1469598103934665603ULL ^ seed;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	/* final avalanche (murmur3 fmix64) so low bits are usable as a bucket index */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

int fangs__read_file(const char *path, char **out, size_t *out_len)
{
	int fd;
	char *data = NULL;
	size_t len = 0, cap = 0;

	if (strcmp(path, "-") == 0)
		fd = dup(STDIN_FILENO);
	else
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fangs_error_set(errno == ENOENT ? FANGS_ENOTFOUND : FANGS_EIO, "%s: %s", path, strerror(errno));
	for (;;) {
		ssize_t n;
		if (cap - len < 65536) {
			size_t ncap = cap ? cap * 2 : 65536 + 1;
			char *nd = realloc(data, ncap);
			if (!nd) {
				free(data);
				close(fd);
				return fangs__error_oom();
			}
			data = nd;
			cap = ncap;
		}
		n = read(fd, data + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(data);
			close(fd);
			return fangs_error_set(FANGS_EIO, "%s: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	data[len] = '\0';
	*out = data;
	if (out_len)
		*out_len = len;
	return 0;
}
