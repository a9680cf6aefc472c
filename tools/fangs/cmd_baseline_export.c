/*
 * tools/fangs/cmd_baseline_export.c - `fangs baseline export`: what a
 * package's installs legitimately contact, as an egress allowlist.
 */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "output.h"

/* One destination: a host name, or an address with its ports. */
typedef struct dest {
	char *key; /* the name, or the address as written in the fingerprint (v6 in brackets) */
	int is_addr;
	char kinds[32];  /* "dns,sni", "net" */
	unsigned actors; /* 1 << fangs_actor */
	char **ports;    /* "443/tcp" */
	size_t n_ports;
} dest;

typedef struct dest_list {
	dest *items;
	size_t count, cap;
	size_t skipped;  /* values that are no host name or address (kept out) */
	size_t loopback; /* connections to this machine (kept out: no egress) */
} dest_list;

static void oom(void)
{
	perror("fangs");
	exit(1);
}

static dest *dest_get(dest_list *l, const char *key, int is_addr)
{
	dest *d;
	for (size_t i = 0; i < l->count; i++)
		if (l->items[i].is_addr == is_addr && !strcmp(l->items[i].key, key))
			return &l->items[i];
	if (l->count == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		if (!(l->items = realloc(l->items, l->cap * sizeof(*l->items))))
			oom();
	}
	d = &l->items[l->count++];
	memset(d, 0, sizeof(*d));
	if (!(d->key = strdup(key)))
		oom();
	d->is_addr = is_addr;
	return d;
}

/* Keeps d->kinds in one order ("dns,sni,net"), whatever order the
 * fingerprints come in. */
static void add_kind(dest *d, const char *kind)
{
	static const char *const order[] = {"dns", "sni", "net"};
	unsigned had = 0;
	for (size_t i = 0; i < 3; i++)
		if (strstr(d->kinds, order[i]) || !strcmp(kind, order[i]))
			had |= 1u << i;
	d->kinds[0] = '\0';
	for (size_t i = 0; i < 3; i++)
		if (had & (1u << i))
			snprintf(d->kinds + strlen(d->kinds), sizeof(d->kinds) - strlen(d->kinds), "%s%s",
				 d->kinds[0] ? "," : "", order[i]);
}

/* A DNS name as a filter loads it: letters, digits, '-', '_' and dots. */
static int host_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > 253 || s[0] == '.' || s[0] == '-')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_' || *s == '.'))
			return 0;
	return 1;
}

/* "203.0.113.7:443/tcp", "[2001:db8::1]:53/udp" -> address, "443/tcp". */
static int split_net(const char *v, char *addr, size_t acap, char *port, size_t pcap)
{
	const char *colon;
	size_t al;
	if (v[0] == '[') {
		const char *end = strchr(v, ']');
		if (!end || end[1] != ':')
			return -1;
		colon = end + 1;
	} else if (!(colon = strrchr(v, ':'))) {
		return -1;
	}
	al = (size_t)(colon - v);
	if (!al || al >= acap || strlen(colon + 1) >= pcap)
		return -1;
	memcpy(addr, v, al);
	addr[al] = '\0';
	strcpy(port, colon + 1);
	for (const char *p = addr; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F') || *p == '.' ||
		      *p == ':' || *p == '[' || *p == ']'))
			return -1;
	for (const char *p = port; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || *p == '/'))
			return -1;
	return 0;
}

static int is_loopback(const char *addr)
{
	return !strncmp(addr, "127.", 4) || !strcmp(addr, "[::1]") || !strncmp(addr, "[::ffff:127.", 12);
}

static int collect(const fangs_fingerprint *fp, void *user)
{
	dest_list *l = user;
	dest *d;
	switch (fp->kind) {
	case FANGS_FP_DNS:
	case FANGS_FP_SNI:
		if (!host_ok(fp->value)) {
			l->skipped++;
			return 0;
		}
		d = dest_get(l, fp->value, 0);
		add_kind(d, fangs_fp_kind_name(fp->kind));
		d->actors |= 1u << fp->actor;
		return 0;
	case FANGS_FP_NET: {
		char addr[128], port[32];
		int seen = 0;
		if (!strncmp(fp->value, "unix:", 5))
			return 0; /* a socket on this machine */
		if (split_net(fp->value, addr, sizeof(addr), port, sizeof(port))) {
			l->skipped++;
			return 0;
		}
		if (is_loopback(addr)) {
			l->loopback++;
			return 0;
		}
		d = dest_get(l, addr, 1);
		add_kind(d, "net");
		d->actors |= 1u << fp->actor;
		for (size_t i = 0; i < d->n_ports; i++)
			seen |= !strcmp(d->ports[i], port);
		if (!seen) {
			if (!(d->ports = realloc(d->ports, (d->n_ports + 1) * sizeof(char *))) ||
			    !(d->ports[d->n_ports] = strdup(port)))
				oom();
			d->n_ports++;
		}
		return 0;
	}
	case FANGS_FP_FS_READ:
	case FANGS_FP_FS_WRITE:
	case FANGS_FP_EXEC:
	case FANGS_FP_SYSCALL:
		return 0;
	}
	return 0;
}

static int dest_cmp(const void *a, const void *b)
{
	const dest *x = a, *y = b;
	if (x->is_addr != y->is_addr)
		return x->is_addr - y->is_addr;
	return strcmp(x->key, y->key);
}

static json_object *actors_json(unsigned actors)
{
	json_object *a = json_object_new_array();
	for (int i = 0; i <= FANGS_ACTOR_MAX; i++)
		if (actors & (1u << i))
			json_object_array_add(a, json_object_new_string(fangs_actor_name((fangs_actor)i)));
	return a;
}

static void actors_text(unsigned actors, char *buf, size_t cap)
{
	buf[0] = '\0';
	for (int i = 0; i <= FANGS_ACTOR_MAX; i++)
		if (actors & (1u << i))
			snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", buf[0] ? "," : "",
				 fangs_actor_name((fangs_actor)i));
}

CLI_HANDLER(cmd_baseline_export)
{
	const char *package = a->pos[0], *format = cli_get(a, "format");
	fangs_run_filter f = FANGS_RUN_FILTER_INIT;
	fangs_run_list runs = {0};
	fangs_fpset *set = NULL;
	fangs_storage *st;
	dest_list l = {0};
	int rc, json = ctx->json || (format && !strcmp(format, "json"));

	/* the name goes into the allowlist's comments: npm's rules, nothing else */
	if (fangs_package_name_check(package, NULL))
		return cli_usage_error("baseline export: %s", fangs_error_last());
	if (!(st = cli_open_storage(ctx)))
		return CLI_EXIT_ERROR;
	if ((rc = fangs_fpset_new(&set)) || (rc = fangs_storage_baseline_get(st, package, set))) {
		fangs_fpset_free(set);
		fangs_storage_free(st);
		return cli_fail("baseline", rc);
	}
	if (!fangs_fpset_size(set)) {
		fangs_fpset_free(set);
		fangs_storage_free(st);
		print_error("%s has no baseline: scan it (fangs scan %s), or promote a run a person reviewed "
			    "(fangs pending --package %s)",
			    package, package, package);
		return CLI_EXIT_ERROR;
	}
	f.package = package;
	f.baseline_only = 1;
	if ((rc = fangs_storage_run_list(st, &f, &runs))) {
		fangs_fpset_free(set);
		fangs_storage_free(st);
		return cli_fail("baseline runs", rc);
	}
	fangs_fpset_foreach(set, collect, &l);
	if (l.count)
		qsort(l.items, l.count, sizeof(*l.items), dest_cmp);
	if (json) {
		json_object *o = json_object_new_object(), *hosts = json_object_new_array(),
			    *addrs = json_object_new_array(), *vers = json_object_new_array();
		json_object_object_add(o, "package", json_object_new_string(package));
		for (size_t i = 0; i < runs.count; i++)
			json_object_array_add(vers, json_str_or_null(runs.items[i].version));
		json_object_object_add(o, "baseline_versions", vers);
		json_object_object_add(o, "baseline_runs", json_object_new_int64((int64_t)runs.count));
		for (size_t i = 0; i < l.count; i++) {
			const dest *d = &l.items[i];
			json_object *e = json_object_new_object(), *kinds = json_object_new_array();
			char kb[32], *save = NULL;
			snprintf(kb, sizeof(kb), "%s", d->kinds);
			for (char *k = strtok_r(kb, ",", &save); k; k = strtok_r(NULL, ",", &save))
				json_object_array_add(kinds, json_object_new_string(k));
			if (d->is_addr) {
				json_object *ports = json_object_new_array();
				size_t al = strlen(d->key);
				/* the address itself, without v6 brackets */
				if (d->key[0] == '[' && al > 2)
					json_object_object_add(e, "address",
							       json_object_new_string_len(d->key + 1, (int)al - 2));
				else
					json_object_object_add(e, "address", json_object_new_string(d->key));
				for (size_t j = 0; j < d->n_ports; j++) {
					json_object *p = json_object_new_object();
					char *slash = strchr(d->ports[j], '/');
					json_object_object_add(p, "port", json_object_new_int(atoi(d->ports[j])));
					json_object_object_add(p, "proto",
							       json_object_new_string(slash ? slash + 1 : "ip"));
					json_object_array_add(ports, p);
				}
				json_object_object_add(e, "ports", ports);
			} else {
				json_object_object_add(e, "name", json_object_new_string(d->key));
			}
			json_object_object_add(e, "seen_as", kinds);
			json_object_object_add(e, "actors", actors_json(d->actors));
			json_object_array_add(d->is_addr ? addrs : hosts, e);
		}
		json_object_object_add(o, "hosts", hosts);
		json_object_object_add(o, "addresses", addrs);
		json_object_object_add(o, "skipped", json_object_new_int64((int64_t)l.skipped));
		json_object_object_add(o, "loopback_skipped", json_object_new_int64((int64_t)l.loopback));
		json_print(o);
	} else {
		/* the package name was checked by npm's rules: no newline can end the comment */
		printf("# fangs egress allowlist for %s: what its baseline installs contacted\n", tx(package));
		printf("# from %zu baseline run%s (", runs.count, runs.count == 1 ? "" : "s");
		for (size_t i = 0; i < runs.count && i < 8; i++)
			printf("%s%s", i ? ", " : "", txd(runs.items[i].version, "?"));
		printf("%s), fangs %s\n", runs.count > 8 ? ", ..." : "", fangs_version());
		printf("# one host name or address[:port] a line (IPv6 in brackets); lines starting with # are "
		       "comments\n");
		for (size_t i = 0; i < l.count; i++) {
			const dest *d = &l.items[i];
			char ab[64];
			actors_text(d->actors, ab, sizeof(ab));
			if (!d->is_addr) {
				printf("# %s: %s by %s\n%s\n", tx(package), d->kinds, ab, d->key);
				continue;
			}
			for (size_t j = 0; j < d->n_ports; j++) {
				char port[32];
				snprintf(port, sizeof(port), "%s", d->ports[j]);
				port[strcspn(port, "/")] = '\0';
				printf("# %s: %s %s by %s\n", tx(package), d->kinds, d->ports[j], ab);
				if (atoi(port) > 0)
					printf("%s:%s\n", d->key, port);
				else
					printf("%s\n", d->key);
			}
		}
		if (!l.count)
			printf("# %s contacted nothing: allow nothing\n", tx(package));
		if (l.loopback)
			printf("# left out: %zu connection%s to this machine (loopback)\n", l.loopback,
			       l.loopback == 1 ? "" : "s");
		if (l.skipped)
			printf("# left out: %zu value%s that are no host name or address\n", l.skipped,
			       l.skipped == 1 ? "" : "s");
	}
	for (size_t i = 0; i < l.count; i++) {
		free(l.items[i].key);
		for (size_t j = 0; j < l.items[i].n_ports; j++)
			free(l.items[i].ports[j]);
		free(l.items[i].ports);
	}
	free(l.items);
	fangs_run_list_free(&runs);
	fangs_fpset_free(set);
	fangs_storage_free(st);
	return CLI_EXIT_OK;
}
