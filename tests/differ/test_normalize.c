/*
 * tests/differ/test_normalize.c - every normalization rule, on paths that
 * npm 9, 10 and 11 installs really touch.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

typedef struct norm_case {
	const char *in;
	const char *version;
	const char *want;
} norm_case;

static void check_cases(const norm_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *got = t_norm(c[i].in, c[i].version);
		ck_assert_msg(strcmp(got, c[i].want) == 0, "normalize('%s', version %s) = '%s', want '%s'", c[i].in,
			      c[i].version ? c[i].version : "none", got, c[i].want);
	}
}

#define CHECK(cases) check_cases(cases, sizeof(cases) / sizeof(cases[0]))

START_TEST(proc_pids)
{
	static const norm_case cases[] = {
		{"/proc/31337/status", NULL, "/proc/<pid>/status"},
		{"/proc/self/maps", NULL, "/proc/<pid>/maps"},
		{"/proc/self", NULL, "/proc/<pid>"},
		{"/proc/thread-self/attr/current", NULL, "/proc/<pid>/attr/current"},
		{"/proc/4242/task/4250/stat", NULL, "/proc/<pid>/task/<tid>/stat"},
		{"/proc/self/fd/17", NULL, "/proc/<pid>/fd/<fd>"},
		{"/proc/1/fdinfo/3", NULL, "/proc/<pid>/fdinfo/<fd>"},
		{"/dev/fd/5", NULL, "/dev/fd/<fd>"},
		/* not pids: left alone */
		{"/proc/cpuinfo", NULL, "/proc/cpuinfo"},
		{"/proc/sys/kernel/random/boot_id", NULL, "/proc/sys/kernel/random/boot_id"},
		{"/proc/sys/vm/overcommit_memory", NULL, "/proc/sys/vm/overcommit_memory"},
		{"/srv/proc/12/x", NULL, "/srv/proc/12/x"},
	};
	CHECK(cases);
}
END_TEST

START_TEST(tmp_names)
{
	static const norm_case cases[] = {
		/* npm 6 */
		{"/tmp/npm-1234-abcdef/package.json", NULL, "/tmp/<tmp>/package.json"},
		{"/tmp/npm-88-1f2e3d4c/node_modules/x", NULL, "/tmp/<tmp>/node_modules/x"},
		/* the tmp package (used by many install scripts) */
		{"/tmp/tmp-12345abc", NULL, "/tmp/<tmp>"},
		{"/tmp/tmp-4242-Q0VlZ0xyz12a/out.bin", NULL, "/tmp/<tmp>/out.bin"},
		/* fs.mkdtemp / mkdtemp(3) XXXXXX suffixes */
		{"/tmp/node-gyp-tmp-AbC123/node-v20.11.1/include/node/node.h", NULL,
		 "/tmp/<tmp>/node-v20.11.1/include/node/node.h"},
		{"/tmp/prebuild-dl-x9Kq2P/binding.node", NULL, "/tmp/<tmp>/binding.node"},
		{"/tmp/myapp-AbCdEf", NULL, "/tmp/<tmp>"},
		{"/tmp/banner-1.1.0-14-kimbiz/stamp", NULL, "/tmp/<tmp>/stamp"}, /* mkdtemp, all lower case */
		{"/tmp/build_qwerty", NULL, "/tmp/<tmp>"},
		{"/tmp/foo-Zq81xa.json", NULL, "/tmp/<tmp>"},
		/* mktemp(1), gcc, python tempfile */
		{"/tmp/tmp.Xk3vQ9ZpLm", NULL, "/tmp/<tmp>"},
		{"/tmp/ccA1b2C3.s", NULL, "/tmp/<tmp>"},
		{"/tmp/ccq9XyZ0.o", NULL, "/tmp/<tmp>"},
		{"/tmp/tmpk3j_9x2q", NULL, "/tmp/<tmp>"},
		/* yarn v1 */
		{"/tmp/yarn--1714558953123-0.8391238123/node", NULL, "/tmp/<tmp>/node"},
		{"/var/tmp/foo-Ab12Cd/x", NULL, "/var/tmp/<tmp>/x"},
		{"/dev/shm/sem.Q1w2E3r4", NULL, "/dev/shm/<tmp>"},
		/* stable or meaningful names stay */
		{"/tmp/payload.sh", NULL, "/tmp/payload.sh"},
		{"/tmp/v8-compile-cache-0", NULL, "/tmp/v8-compile-cache-0"},
		{"/tmp/node-compile-cache", NULL, "/tmp/node-compile-cache"},
		{"/tmp/.X11-unix", NULL, "/tmp/.X11-unix"},
		{"/tmp/archive.tar.gz", NULL, "/tmp/archive.tar.gz"},
	};
	CHECK(cases);
}
END_TEST

START_TEST(npm_cache)
{
	static const norm_case cases[] = {
		/* npm 9, 10, 11 (cacache index-v5 / content-v2) */
		{"/root/.npm/_cacache/content-v2/sha512/0e/3c/"
		 "5a8f3a5b9b7a26c4d7a0d4e5f3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7"
		 "d6"
		 "c5b4a39281706f5e4d3c2b1a0",
		 NULL, "~/.npm/_cacache/content-v2/sha512/<hash>"},
		{"/root/.npm/_cacache/content-v2/sha1/ab/cd/0123456789abcdef0123456789abcdef0123", NULL,
		 "~/.npm/_cacache/content-v2/sha1/<hash>"},
		{"/root/.npm/_cacache/index-v5/b1/3c/9e0a8f3f4c55b6c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4",
		 NULL, "~/.npm/_cacache/index-v5/<hash>"},
		{"/home/node/.npm/_cacache/tmp/a1b2c3d4", NULL, "~/.npm/_cacache/tmp/<tmp>"},
		{"/home/node/.npm/_cacache/tmp/git-cloneXyZ123/package.json", NULL,
		 "~/.npm/_cacache/tmp/<tmp>/package.json"},
		/* a cache given with --cache anywhere */
		{"/work/cache/_cacache/index-v5/00/ff/11aa22bb", NULL, "/work/cache/_cacache/index-v5/<hash>"},
		/* npx */
		{"/root/.npm/_npx/1a2b3c4d5e6f7a8b/node_modules/.bin/create-app", NULL,
		 "~/.npm/_npx/<hex>/node_modules/.bin/create-app"},
	};
	CHECK(cases);
}
END_TEST

START_TEST(npm_logs)
{
	static const norm_case cases[] = {
		/* npm 7 to 11 */
		{"/root/.npm/_logs/2024-05-01T10_22_33_123Z-debug-0.log", NULL, "~/.npm/_logs/<npm-log>"},
		{"/home/runner/.npm/_logs/2025-01-15T08_03_12_345Z-debug-0.log", NULL, "~/.npm/_logs/<npm-log>"},
		/* npm 6 */
		{"/root/.npm/_logs/2019-03-07T09_10_11_456Z-debug.log", NULL, "~/.npm/_logs/<npm-log>"},
		/* npm 8+ eresolve report: a fixed name */
		{"/root/.npm/_logs/eresolve-report.txt", NULL, "~/.npm/_logs/eresolve-report.txt"},
	};
	CHECK(cases);
}
END_TEST

START_TEST(hex_components)
{
	static const norm_case cases[] = {
		{"/sys/fs/cgroup/unified/fangs/3f2a9b1c7d4e/cgroup.procs", NULL,
		 "/sys/fs/cgroup/unified/fangs/<hex>/cgroup.procs"},
		{"/run/fangs/6f1c2b9e-8d7a-4c3b-9e2f-1a2b3c4d5e6f/state", NULL, "/run/fangs/<hex>/state"},
		{"/work/node_modules/.cache/babel-loader/0a9b8c7d6e5f4a3b.json", NULL,
		 "/work/node_modules/.cache/babel-loader/<hex>.json"},
		{"/work/dist/main.3fa9c0d1.js", NULL, "/work/dist/main.<hex>.js"},
		/* words made of hex letters, short runs and ids with other letters stay */
		{"/work/node_modules/deadbeef/index.js", NULL, "/work/node_modules/deadbeef/index.js"},
		{"/work/node_modules/base64-js/index.js", NULL, "/work/node_modules/base64-js/index.js"},
		{"/root/.ssh/id_ed25519", NULL, "~/.ssh/id_ed25519"},
		{"/usr/lib/x86_64-linux-gnu/libc.so.6", NULL, "/usr/lib/x86_64-linux-gnu/libc.so.6"},
	};
	CHECK(cases);
}
END_TEST

/* esbuild's [name]-[hash]: eight characters of base32 (A-Z, 2-7). */
START_TEST(bundler_chunks)
{
	static const norm_case cases[] = {
		{"/root/app/node_modules/x/dist/chunk-3UKL5HUI.js", NULL, "~/app/node_modules/x/dist/chunk-<hash>.js"},
		{"/root/app/node_modules/x/dist/chunk-Q7ZV2MNA.mjs.map", NULL,
		 "~/app/node_modules/x/dist/chunk-<hash>.mjs.map"},
		/* one hash in five has no digit */
		{"/w/node_modules/x/dist/chunk-KMNPQRST.js", NULL, "/w/node_modules/x/dist/chunk-<hash>.js"},
		{"/w/dist/worker-WXYZ2345", NULL, "/w/dist/worker-<hash>"},
		/* all hex digits stay <hex> */
		{"/w/dist/chunk-ABCD2345.js", NULL, "/w/dist/chunk-<hex>.js"},
		/* not a bundler's hash: other lengths, lower case, digits outside
		 * base32, no '-' before it, a word that goes on */
		{"/w/dist/chunk-3UKL5HU.js", NULL, "/w/dist/chunk-3UKL5HU.js"},
		{"/w/dist/chunk-3UKL5HUIX.js", NULL, "/w/dist/chunk-3UKL5HUIX.js"},
		{"/w/dist/chunk-3ukl5hui.js", NULL, "/w/dist/chunk-3ukl5hui.js"},
		{"/w/dist/chunk-3UKL8HUI.js", NULL, "/w/dist/chunk-3UKL8HUI.js"},
		{"/w/dist/3UKL5HUI.js", NULL, "/w/dist/3UKL5HUI.js"},
		{"/w/dist/chunk_3UKL5HUI.js", NULL, "/w/dist/chunk_3UKL5HUI.js"},
		{"/w/README-LICENSES-x.md", NULL, "/w/README-LICENSES-x.md"},
		{"/w/docs/api-REFERENCE-v2.md", NULL, "/w/docs/api-REFERENCE-v2.md"},
		{"/w/docs/CHANGELOG.md", NULL, "/w/docs/CHANGELOG.md"},
	};
	CHECK(cases);
}
END_TEST

START_TEST(timestamps_and_dates)
{
	static const norm_case cases[] = {
		{"/work/build/out-1714558953123.json", NULL, "/work/build/out-<ts>.json"},
		{"/work/build/1714558953", NULL, "/work/build/<ts>"},
		{"/work/logs/2024-05-01T10-22-33_123Z.txt", NULL, "/work/logs/<date>.txt"},
		{"/work/logs/2024-05-01T10:22:33.123Z.txt", NULL, "/work/logs/<date>.txt"},
		{"/work/reports/report-2024-05-01.json", NULL, "/work/reports/report-<date>.json"},
		{"/work/reports/20240501T102233Z.tar", NULL, "/work/reports/<date>.tar"},
		{"/work/reports/backup-20240501.tar", NULL, "/work/reports/backup-<date>.tar"},
		/* a pid-sized number or a plain year stays */
		{"/work/build/1234567/x", NULL, "/work/build/1234567/x"},
		{"/work/2024/summary", NULL, "/work/2024/summary"},
	};
	CHECK(cases);
}
END_TEST

START_TEST(own_version)
{
	static const norm_case cases[] = {
		{"/work/node_modules/foo-1.2.3/index.js", "1.2.3", "/work/node_modules/foo-<version>/index.js"},
		{"/root/.cache/foo/v1.2.3/binding.node", "1.2.3", "~/.cache/foo/v<version>/binding.node"},
		{"/tmp/foo-1.2.3.tgz", "1.2.3", "/tmp/foo-<version>.tgz"},
		{"/work/node_modules/foo/prebuilds/foo-v4.0.0-beta.2-linux-x64.tar.gz", "4.0.0-beta.2",
		 "/work/node_modules/foo/prebuilds/foo-v<version>-linux-x64.tar.gz"},
		/* other numbers that merely contain it stay */
		{"/work/x/11.2.3/y", "1.2.3", "/work/x/11.2.3/y"},
		{"/work/x/1.2.30/y", "1.2.3", "/work/x/1.2.30/y"},
		{"/work/x/1.2.3.4/y", "1.2.3", "/work/x/1.2.3.4/y"},
		{"/work/x/abc1.2.3/y", "1.2.3", "/work/x/abc1.2.3/y"},
		{"/work/x/1.2.3abc/y", "1.2.3", "/work/x/1.2.3abc/y"},
		{"/work/x/dev1.2.3/y", "1.2.3", "/work/x/dev1.2.3/y"},
		/* node's own version is not the package's */
		{"/root/.cache/node-gyp/20.11.1/include/node/v8.h", "1.2.3",
		 "~/.cache/node-gyp/20.11.1/include/node/v8.h"},
		/* no version known: nothing to collapse */
		{"/work/node_modules/foo-1.2.3/index.js", NULL, "/work/node_modules/foo-1.2.3/index.js"},
	};
	CHECK(cases);
}
END_TEST

START_TEST(node_modules_staging)
{
	static const norm_case cases[] = {
		/* npm 5/6 */
		{"/work/node_modules/.staging/lodash-a1b2c3d4/package.json", NULL,
		 "/work/node_modules/.staging/lodash-<stage>/package.json"},
		{"/work/node_modules/.staging/foo-abc123", NULL, "/work/node_modules/.staging/foo-<stage>"},
		{"/work/node_modules/.staging/@babel/core-9f8e7d6c/lib/index.js", NULL,
		 "/work/node_modules/.staging/@babel/core-<stage>/lib/index.js"},
		/* npm 7+ (arborist) rename targets */
		{"/work/node_modules/.lodash-AbCdEf12/package.json", NULL,
		 "/work/node_modules/.lodash-<stage>/package.json"},
		{"/work/node_modules/.foo-AbCdEf12", NULL, "/work/node_modules/.foo-<stage>"},
		{"/work/node_modules/@types/.node-Zx9Yw8Vu", NULL, "/work/node_modules/@types/.node-<stage>"},
		/* npm's own files there stay */
		{"/work/node_modules/.package-lock.json", NULL, "/work/node_modules/.package-lock.json"},
		{"/work/node_modules/.bin/tsc", NULL, "/work/node_modules/.bin/tsc"},
		{"/work/node_modules/.modules.yaml", NULL, "/work/node_modules/.modules.yaml"},
	};
	CHECK(cases);
}
END_TEST

START_TEST(atomic_writes)
{
	static const norm_case cases[] = {
		{"/work/node_modules/.package-lock.json.2736452363", NULL,
		 "/work/node_modules/.package-lock.json.<tmp>"},
		{"/work/package.json.98765", NULL, "/work/package.json.<tmp>"},
		{"/usr/lib/libfoo.so.1", NULL, "/usr/lib/libfoo.so.1"},
	};
	CHECK(cases);
}
END_TEST

START_TEST(home_dirs)
{
	static const norm_case cases[] = {
		{"/root/.npmrc", NULL, "~/.npmrc"},
		{"/home/alice/.npmrc", NULL, "~/.npmrc"},
		{"/home/node/.config/gcloud/credentials.db", NULL, "~/.config/gcloud/credentials.db"},
		{"/root", NULL, "~"},
		{"/home/x", NULL, "~"},
		{"/home", NULL, "/home"},
		{"/rootfs/etc", NULL, "/rootfs/etc"},
		{"/srv/home/alice/.npmrc", NULL, "/srv/home/alice/.npmrc"},
	};
	CHECK(cases);
}
END_TEST

/* node-gyp's build directory, as argon2 0.31.1 and 0.31.2 wrote it: ar's
 * mkstemp file beside the archive, gyp's .deps mirror of absolute paths. */
START_TEST(gyp_build_artefacts)
{
	static const norm_case cases[] = {
		{"/home/samb/app/node_modules/argon2/build/Release/obj.target/stg7gI6Y", NULL,
		 "~/app/node_modules/argon2/build/Release/obj.target/st<tmp>"},
		{"/home/abecker/app/node_modules/argon2/build/Release/obj.target/stFmCheS", NULL,
		 "~/app/node_modules/argon2/build/Release/obj.target/st<tmp>"},
		{"/home/samb/app/node_modules/argon2/build/Release/.deps/home/samb/app/node_modules/argon2/lib/binding/"
		 "napi-v3/argon2.node.d",
		 NULL,
		 "~/app/node_modules/argon2/build/Release/.deps/~/app/node_modules/argon2/lib/binding/napi-v3/"
		 "argon2.node.d"},
		{"/home/abecker/app/node_modules/argon2/build/Release/.deps/home/abecker/app", NULL,
		 "~/app/node_modules/argon2/build/Release/.deps/~/app"},
		/* not below a build directory, or not eight characters: a name */
		{"/home/samb/app/node_modules/x/lib/stg7gI6Y", NULL, "~/app/node_modules/x/lib/stg7gI6Y"},
		{"/home/samb/app/node_modules/x/build/stdint.h", NULL, "~/app/node_modules/x/build/stdint.h"},
		{"/home/samb/app/node_modules/x/build/strings", NULL, "~/app/node_modules/x/build/strings"},
		/* a home elsewhere than in .deps is a directory's name */
		{"/srv/x/home/alice/y", NULL, "/srv/x/home/alice/y"},
		{"/home/samb/app/node_modules/x/.deps/home", NULL, "~/app/node_modules/x/.deps/home"},
	};
	CHECK(cases);
}
END_TEST

START_TEST(lexical_cleanup)
{
	static const norm_case cases[] = {
		{"/home/x/../../root/.ssh/id_rsa", NULL, "~/.ssh/id_rsa"},
		{"/tmp/./a//b/", NULL, "/tmp/a/b"},
		{"/../etc/passwd", NULL, "/etc/passwd"},
		{"../x/.npmrc", NULL, "../x/.npmrc"},
		{"package.json", NULL, "package.json"},
		{"/", NULL, "/"},
		{"", NULL, ""},
		{"///", NULL, "/"},
	};
	CHECK(cases);
}
END_TEST

/* Paths that differed between two `npm install` runs of the same local
 * tarball with npm 11.19 (strace -e openat), pairwise: each pair must
 * normalize to one value. */
START_TEST(npm11_install_noise)
{
	static const char *const pairs[][2] = {
		{"/root/.npm/_cacache/tmp/235257c4-1dc8-43d2-a6f2-99d6d3b8cfd3",
		 "/root/.npm/_cacache/tmp/16e6784d-21fe-4485-ba5e-4209a0258d1c"},
		{"/root/.npm/_cacache/tmp/eIrxAJ/install.js", "/root/.npm/_cacache/tmp/llt25l/install.js"},
		{"/root/.npm/_cacache/tmp/q60KI1/package.json", "/root/.npm/_cacache/tmp/q0WiuO/package.json"},
		{"/root/.npm/_logs/2026-11-23T16_09_25_714Z-debug-0.log",
		 "/root/.npm/_logs/2026-11-23T16_09_27_133Z-debug-0.log"},
		{"/tmp/demo-GE2MZY/out-1795450166569.txt", "/tmp/demo-0axqLI/out-1795450168114.txt"},
	};
	char first[4096];
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		snprintf(first, sizeof(first), "%s", t_norm(pairs[i][0], "1.2.3"));
		ck_assert_msg(strcmp(first, t_norm(pairs[i][1], "1.2.3")) == 0, "'%s' -> '%s' but '%s' -> '%s'",
			      pairs[i][0], first, pairs[i][1], t_norm(pairs[i][1], "1.2.3"));
	}
	ck_assert_str_eq(t_norm(pairs[1][0], "1.2.3"), "~/.npm/_cacache/tmp/<tmp>/install.js");
	ck_assert_str_eq(t_norm(pairs[4][0], "1.2.3"), "/tmp/<tmp>/out-<ts>.txt");
}
END_TEST

/* A baseline written by one release is compared with values of the next:
 * normalizing a normalized path must change nothing. */
START_TEST(idempotent)
{
	static const norm_case cases[] = {
		/* found by fuzz_normalize: a time stamp next to the version */
		{"/x/0000000000\0051.2.3\340/y", "\0051.2.3\340", NULL},
		{"/x/1.2.3.123456789", "1.2.3", NULL},
		/* found by fuzz_normalize: the version across the dot a rule keeps */
		{"/x/236\005n.10.1236778", "n.10.", NULL},
		{"/x/foo-1.2.3.1236778", "1.2.3", NULL},
		{"/x/\0051.2.\0051.2.-02", "\0051.2.", NULL},
		{"/x/1.2x1.2x", "1.2x", NULL},
		{"/x/20240501T102233Z1.0.0", "1.0.0", NULL},
		{"/x/1.0.0-beta12345678901", "1.0.0-beta", NULL},
		/* found by fuzz_normalize: a date whose seconds run into more digits */
		{"/x/2024-05-01T10_22_00000000000000000000000000033_123", NULL, NULL},
		{"/x/123456789.1.2.3", "1.2.3", NULL},
		{"/x/foo-1.0.0-20240501/y", "1.0.0-20240501", NULL},
		{"/work/node_modules/.staging/foo-1.2.3-abc123/x", "1.2.3", NULL},
		{"/tmp/2024-05-01abcdef12/3f2a9b1c-1.2.3", "1.2.3", NULL},
		{"/w/dist/chunk-3UKL5HUI-1.2.3.js", "1.2.3", NULL},
		{"/w/dist/x-ABCDEFGH.ABCDEFGH-ABCDEFGH", NULL, NULL},
		{"/home/u/app/build/Release/obj.target/stA1b2C3", NULL, NULL},
		{"/home/u/app/build/Release/.deps/home/u/app/x.d", NULL, NULL},
	};
	char once[8192];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *twice;
		snprintf(once, sizeof(once), "%s", t_norm(cases[i].in, cases[i].version));
		twice = t_norm(once, cases[i].version);
		ck_assert_msg(strcmp(once, twice) == 0, "'%s' -> '%s' -> '%s'", cases[i].in, once, twice);
	}
	/* a version made of noise is collapsed as that noise */
	ck_assert_str_eq(t_norm("/x/foo-1.0.0-20240501/y", "1.0.0-20240501"), "/x/foo-<version>/y");
}
END_TEST

START_TEST(bounded_output)
{
	char small[12];
	char *big = malloc(3 * PATH_MAX);
	char *out = malloc(4 * PATH_MAX);
	fangs_norm_ctx ctx = {"foo", "1.0.0"};
	int n;

	ck_assert_ptr_nonnull(big);
	ck_assert_ptr_nonnull(out);
	/* too small a buffer is an error, not an overflow */
	memset(small, 'Z', sizeof(small));
	n = fangs_normalize_path(&ctx, "/proc/1/task/2/status", small, sizeof(small));
	ck_assert_int_eq(n, FANGS_EINVAL);
	ck_assert_int_eq(small[sizeof(small) - 1], '\0');

	/* longer than any path the kernel accepts: cut and marked */
	for (size_t i = 0; i < 3 * PATH_MAX - 1; i++)
		big[i] = (i % 4 == 0) ? '/' : 'a';
	big[3 * PATH_MAX - 1] = '\0';
	n = fangs_normalize_path(&ctx, big, out, 4 * PATH_MAX);
	ck_assert_int_gt(n, 0);
	ck_assert_int_le(n, PATH_MAX + 8);
	ck_assert_str_eq(out + n - 6, "/<cut>");
	free(big);
	free(out);
}
END_TEST

START_TEST(addresses)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"::ffff:1.2.3.4", "1.2.3.4"},
		{"::FFFF:203.0.113.7", "203.0.113.7"},
		{"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
		{"2001:DB8::A", "2001:db8::a"},
		{"[::1]", "::1"},
		{"fe80::1%eth0", "fe80::1"},
		{"198.51.100.20", "198.51.100.20"},
	};
	char out[64];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = fangs_normalize_addr(cases[i].in, out, sizeof(out));
		ck_assert_msg(n >= 0, "%s: %s", cases[i].in, fangs_error_last());
		ck_assert_str_eq(out, cases[i].want);
	}
	ck_assert_int_eq(fangs_normalize_addr("registry.example", out, sizeof(out)), FANGS_EINVAL);
	ck_assert_int_eq(fangs_normalize_addr("1.2.3.4.5", out, sizeof(out)), FANGS_EINVAL);
	ck_assert_int_eq(fangs_normalize_addr("2001:db8::1", out, 4), FANGS_EINVAL);
}
END_TEST

START_TEST(hosts)
{
	char out[64];
	ck_assert_int_eq(fangs_normalize_host("Registry.Example.", out, sizeof(out)), 16);
	ck_assert_str_eq(out, "registry.example");
	ck_assert_int_ge(fangs_normalize_host("EXAMPLE.ORG", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "example.org");
	ck_assert_int_ge(fangs_normalize_host("cdn.example.org..", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "cdn.example.org");
	ck_assert_int_ge(fangs_normalize_host(".", out, sizeof(out)), 0);
	ck_assert_str_eq(out, ".");
	ck_assert_int_eq(fangs_normalize_host("a-rather-long-name.example", out, 8), FANGS_EINVAL);
}
END_TEST

TCase *tcase_normalize(void)
{
	TCase *tc = tcase_create("normalize");
	tcase_add_test(tc, proc_pids);
	tcase_add_test(tc, tmp_names);
	tcase_add_test(tc, npm_cache);
	tcase_add_test(tc, npm_logs);
	tcase_add_test(tc, hex_components);
	tcase_add_test(tc, bundler_chunks);
	tcase_add_test(tc, timestamps_and_dates);
	tcase_add_test(tc, own_version);
	tcase_add_test(tc, node_modules_staging);
	tcase_add_test(tc, atomic_writes);
	tcase_add_test(tc, home_dirs);
	tcase_add_test(tc, gyp_build_artefacts);
	tcase_add_test(tc, lexical_cleanup);
	tcase_add_test(tc, npm11_install_noise);
	tcase_add_test(tc, idempotent);
	tcase_add_test(tc, bounded_output);
	tcase_add_test(tc, addresses);
	tcase_add_test(tc, hosts);
	return tc;
}
