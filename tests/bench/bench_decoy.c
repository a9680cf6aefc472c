/*
 * bench_decoy.c - what the decoy matcher costs: compiling a run's decoys,
 * and looking through DNS names (random ones, none of which holds a
 * decoy: the common case) and names that carry one, per name.
 * Prints figures; asserts nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fangs/fangs.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void rnd(char *out, size_t n, const char *alpha)
{
	size_t k = strlen(alpha);
	for (size_t i = 0; i < n; i++)
		out[i] = alpha[(size_t)rand() % k];
	out[n] = '\0';
}

int main(void)
{
	enum {
		DECOYS = 11,
		NAMES = 20000,
		ROUNDS = 200
	};
	static char values[DECOYS][80], names[NAMES][200];
	fangs_decoy d[DECOYS];
	fangs_decoy_matcher *m = NULL;
	fangs_decoy_hit hit;
	const char *b62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	double t0, t1;
	size_t found = 0;

	srand(1);
	for (int i = 0; i < DECOYS; i++) {
		rnd(values[i], i < 2 ? 64 : 40, b62);
		d[i].place = "~/.npmrc";
		d[i].what = "secret";
		d[i].value = values[i];
	}
	t0 = now_s();
	for (int r = 0; r < ROUNDS; r++) {
		fangs_decoy_matcher_free(m);
		m = NULL;
		if (fangs_decoy_matcher_new(&m, d, DECOYS))
			return 1;
	}
	t1 = now_s();
	printf("compile %d decoys: %.1f us\n", DECOYS, (t1 - t0) / ROUNDS * 1e6);

	for (int i = 0; i < NAMES; i++) {
		char a[64], b[64];
		rnd(a, 8 + (size_t)(rand() % 40), "abcdefghijklmnopqrstuvwxyz0123456789-");
		rnd(b, 4 + (size_t)(rand() % 12), "abcdefghijklmnopqrstuvwxyz");
		snprintf(names[i], sizeof(names[i]), "%s.%s.example.invalid", a, b);
	}
	t0 = now_s();
	for (int i = 0; i < NAMES; i++)
		found += (size_t)(fangs_decoy_find(m, names[i], strlen(names[i]), &hit) == 1);
	t1 = now_s();
	printf("random DNS names: %.2f us per name (%d names, %zu matched)\n", (t1 - t0) / NAMES * 1e6, NAMES, found);

	found = 0;
	for (int i = 0; i < NAMES; i++) {
		/* hex of a decoy in labels of 30 */
		char hex[100];
		for (int k = 0; k < 40; k++)
			sprintf(hex + 2 * k, "%02x", (unsigned char)values[2 + i % (DECOYS - 2)][k]);
		snprintf(names[i], sizeof(names[i]), "%.30s.%.30s.%s.x.invalid", hex, hex + 30, hex + 60);
	}
	t0 = now_s();
	for (int i = 0; i < NAMES; i++)
		found += (size_t)(fangs_decoy_find(m, names[i], strlen(names[i]), &hit) == 1);
	t1 = now_s();
	printf("names carrying a decoy (hex in labels): %.2f us per name (%zu of %d matched)\n",
	       (t1 - t0) / NAMES * 1e6, found, NAMES);
	fangs_decoy_matcher_free(m);
	return 0;
}
