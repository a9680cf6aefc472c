/*
 * test_realism.c - what a package sees from inside the ns sandbox: a
 * developer's machine, a new one every run, with nothing of fangs in
 * sight; and a home that cannot fill the host's disk. Needs root.
 */
#include <check.h>
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fangs/fangs.h"
#include "probe.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

static char root[256];

static void setup(void)
{
	sb_tmpdir(root, sizeof(root), "realism");
}

static void teardown(void)
{
	sb_rm_rf(root);
}

static void base_opts(fangs_sandbox_options *o)
{
	static char work[300];
	fangs_sandbox_options init = FANGS_SANDBOX_OPTIONS_INIT;
	*o = init;
	snprintf(work, sizeof(work), "%s/fangs-work", root);
	o->work_root = work;
	o->duration_ms = 20000;
	o->grace_ms = 100;
}

/* What a stealer looks at first, printed from inside. */
static const char *const LOOK =
	"echo \"uid=$(id -u) user=$(id -un) home=$HOME\"; echo \"host=$(hostname)\"; "
	"echo \"cmdline=$(tr '\\0' ' ' < /proc/1/cmdline)\"; echo \"comm=$(cat /proc/1/comm)\"; "
	"echo \"uptime=$(cut -d. -f1 /proc/uptime)\"; "
	"echo \"env1=$(tr '\\0' ' ' < /proc/1/environ 2>/dev/null)\"; "
	"echo \"exe1=$(readlink /proc/1/exe 2>/dev/null)\"; "
	"echo \"owners=$(stat -c %U:%G /usr/bin/env /etc/passwd /etc/hostname / /home | tr '\\n' ' ')\"; "
	"echo '--- mountinfo'; cat /proc/self/mountinfo; echo '--- env'; env; echo '--- files'; "
	"cat ~/.npmrc ~/.aws/credentials ~/.git-credentials ~/.config/gh/hosts.yml ~/.docker/config.json "
	"~/app/.env ~/.ssh/id_ed25519 ~/.ssh/id_rsa ~/.gitconfig ~/.bash_history /etc/hostname; "
	"grep \"^$(id -un):\" /etc/passwd; "
	"echo '--- df'; df -k / | tail -1; echo '--- end'";

typedef struct seen {
	char *out;
	char host[80];
	char run_id[64];
	char work_dir[512];
	char values[16][200];
	size_t n_values;
	/* the docker config holds the Docker Hub token base64-encoded with the user name */
	char docker_auth[200];
} seen;

static char *section(const char *out, const char *name)
{
	char mark[64];
	const char *a, *b;
	snprintf(mark, sizeof(mark), "--- %s\n", name);
	a = strstr(out, mark);
	ck_assert_msg(a != NULL, "no %s in %s", name, out);
	a += strlen(mark);
	b = strstr(a, "\n--- ");
	return strndup(a, b ? (size_t)(b - a) : strlen(a));
}

static void look(const char *tag, seen *s)
{
	fangs_sandbox_options o;
	fangs_sandbox *sb = NULL;
	fangs_sandbox_run *run = NULL;
	fangs_sandbox_result r;
	fangs_sandbox_spec spec = FANGS_SANDBOX_SPEC_INIT;
	const char *argv[] = {"sh", "-c", LOOK, NULL};
	const fangs_decoy *d;
	size_t n;

	memset(s, 0, sizeof(*s));
	base_opts(&o);
	snprintf(s->run_id, sizeof(s->run_id), "fangs-%s-%d", tag, (int)getpid());
	spec.run_id = s->run_id;
	spec.argv = argv;
	ck_assert_msg(fangs_sandbox_new(&sb, &o) == 0, "%s", fangs_error_last());
	ck_assert_msg(fangs_sandbox_prepare(sb, &spec, &run) == 0, "%s", fangs_error_last());
	snprintf(s->work_dir, sizeof(s->work_dir), "%s", fangs_sandbox_work_dir(run));
	ck_assert_int_eq(fangs_sandbox_decoys(run, &d, &n), 0);
	ck_assert_uint_ge(n, 10);
	ck_assert_uint_le(n, 16);
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(d[i].place && d[i].place[0] == '~' && d[i].what && d[i].what[0], "decoy %zu", i);
		ck_assert_uint_ge(strlen(d[i].value), FANGS_DECOY_WINDOW);
		snprintf(s->values[i], sizeof(s->values[i]), "%s", d[i].value);
	}
	s->n_values = n;
	ck_assert_msg(fangs_sandbox_start(run) == 0, "%s", fangs_error_last());
	ck_assert_msg(fangs_sandbox_wait(run, &r) == 0, "%s", fangs_error_last());
	ck_assert_msg(r.exit_code == 0, "%s", r.output);
	s->out = strdup(r.output);
	fangs_sandbox_result_clear(&r);
	fangs_sandbox_run_free(run);
	fangs_sandbox_free(sb);
	const char *h = strstr(s->out, "host=");
	ck_assert_ptr_nonnull(h);
	sscanf(h + 5, "%79s", s->host);
}

static int contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return 1;
	return 0;
}

START_TEST(test_looks_like_a_developer_machine)
{
	seen s[3];
	for (int i = 0; i < 3; i++)
		look(i == 0 ? "a" : i == 1 ? "b" : "c", &s[i]);

	for (int i = 0; i < 3; i++) {
		const char *out = s[i].out;
		char *mounts = section(out, "mountinfo"), *env = section(out, "env"), *files = section(out, "files");
		char want[128];
		/* a person with a home, not root */
		ck_assert_msg(strstr(out, "uid=1000 user="), "%s", out);
		ck_assert_msg(strstr(out, " home=/home/"), "%s", out);
		/* pid 1 is an init, not the scanner: no command line, environment or binary of ours */
		ck_assert_msg(strstr(out, "cmdline=/sbin/init \n") || strstr(out, "cmdline=/bin/bash \n"), "%s", out);
		ck_assert_msg(strstr(out, "comm=systemd\n") || strstr(out, "comm=init\n") || strstr(out, "comm=bash\n"),
			      "%s", out);
		ck_assert_msg(strstr(out, "env1=\n"), "pid 1's environment is readable: %s", out);
		ck_assert_msg(strstr(out, "exe1=\n"), "pid 1's binary is readable: %s", out);
		/* the system's files are root's, not nobody's */
		ck_assert_msg(strstr(out, "owners=root:root root:root root:root root:root root:root \n"), "%s", out);
		/* up for hours, not seconds */
		const char *up = strstr(out, "uptime=");
		ck_assert_ptr_nonnull(up);
		ck_assert_msg(atol(up + 7) > 3600, "uptime %ld s", atol(up + 7));
		/* nothing of ours in the mount table, the environment or the files */
		const char *parts[] = {mounts, env, files};
		for (size_t k = 0; k < 3; k++) {
			ck_assert_msg(!contains_ci(parts[k], "fangs"), "fangs shows: %s", parts[k]);
			ck_assert_msg(!strstr(parts[k], s[i].run_id), "the run id shows: %s", parts[k]);
			ck_assert_msg(!strstr(parts[k], root), "a host path shows: %s", parts[k]);
			ck_assert_msg(!contains_ci(parts[k], "sandbox"), "%s", parts[k]);
			ck_assert_msg(!contains_ci(parts[k], "fake"), "%s", parts[k]);
			ck_assert_msg(!contains_ci(parts[k], "example"), "%s", parts[k]);
			ck_assert_msg(!contains_ci(parts[k], "offline"), "%s", parts[k]);
			ck_assert_msg(!contains_ci(parts[k], "decoy"), "%s", parts[k]);
		}
		ck_assert_msg(!strstr(env, "npm_config_"), "npm's settings in the environment: %s", env);
		/* the host name is the machine's everywhere: hostname, /etc/hostname */
		snprintf(want, sizeof(want), "%s\n", s[i].host);
		ck_assert_msg(strstr(files, want), "/etc/hostname is not %s: %s", s[i].host, files);
		ck_assert_str_ne(s[i].host, "build");
		/* the user exists */
		ck_assert_msg(strstr(files, ":1000:1000:"), "%s", files);
		/* every decoy the scan will look for is in the files a stealer reads */
		for (size_t v = 0; v < s[i].n_values; v++) {
			if (strncmp(s[i].values[v], "dckr_pat_", 9) == 0)
				continue; /* base64-encoded in ~/.docker/config.json */
			ck_assert_msg(strstr(files, s[i].values[v]), "decoy %s is not in the files", s[i].values[v]);
		}
		ck_assert_msg(strstr(files, "_authToken=npm_") && strstr(files, "aws_access_key_id = AKIA") &&
				      strstr(files, "oauth_token: gho_") && strstr(files, "@github.com") &&
				      strstr(files, "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA"),
			      "%s", files);
		/* the root is a disk's size, not 1 MiB */
		char *df = section(out, "df");
		long long blocks = 0;
		sscanf(df, "%*s %lld", &blocks);
		ck_assert_msg(blocks > 100LL * 1024 * 1024, "/ is %lld KiB: %s", blocks, df);
		free(df);
		free(mounts);
		free(env);
		free(files);
	}
	/* a new machine every run */
	ck_assert_msg(strcmp(s[0].host, s[1].host) || strcmp(s[1].host, s[2].host), "one host name: %s", s[0].host);
	for (size_t v = 0; v < s[0].n_values; v++)
		for (size_t w = 0; w < s[1].n_values; w++)
			ck_assert_str_ne(s[0].values[v], s[1].values[w]);
	for (int i = 0; i < 3; i++)
		free(s[i].out);
}
END_TEST

/* The keys parse: ssh-keygen reads them when the host has it (it is not a
 * dependency of fangs; the layout is checked by hand below either way). */
START_TEST(test_ssh_keys_parse)
{
	seen s;
	look("k", &s);
	char *files = section(s.out, "files");
	for (const char *p = files; (p = strstr(p, "-----BEGIN OPENSSH PRIVATE KEY-----\n")); p++) {
		const char *body = p + 36, *end = strstr(body, "-----END");
		ck_assert_ptr_nonnull(end);
		/* lines of 70 base64 characters, then a shorter one */
		for (const char *l = body; l < end;) {
			const char *nl = strchr(l, '\n');
			ck_assert_msg(nl - l <= 70, "line of %d", (int)(nl - l));
			for (const char *c = l; c < nl; c++)
				ck_assert_msg(isalnum((unsigned char)*c) || *c == '+' || *c == '/' || *c == '=', "%c",
					      *c);
			l = nl + 1;
		}
	}
	free(files);
	free(s.out);
	if (access("/usr/bin/ssh-keygen", X_OK) == 0) {
		fangs_sandbox_options o;
		fangs_sandbox_result r;
		fangs_sandbox *sb = NULL;
		fangs_sandbox_run *run = NULL;
		fangs_sandbox_spec spec = FANGS_SANDBOX_SPEC_INIT;
		const char *argv[] = {"sh", "-c",
				      "ssh-keygen -y -f ~/.ssh/id_ed25519 && ssh-keygen -y -f ~/.ssh/id_rsa && "
				      "ssh-keygen -l -f ~/.ssh/id_rsa && ssh-keygen -l -f ~/.ssh/id_ed25519",
				      NULL};
		char id[64];
		base_opts(&o);
		snprintf(id, sizeof(id), "keys-%d", (int)getpid());
		spec.run_id = id;
		spec.argv = argv;
		ck_assert_int_eq(fangs_sandbox_new(&sb, &o), 0);
		ck_assert_int_eq(fangs_sandbox_prepare(sb, &spec, &run), 0);
		ck_assert_int_eq(fangs_sandbox_start(run), 0);
		ck_assert_int_eq(fangs_sandbox_wait(run, &r), 0);
		ck_assert_msg(r.exit_code == 0, "%s", r.output);
		ck_assert_msg(strstr(r.output, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5") &&
				      strstr(r.output, "ssh-rsa AAAAB3NzaC1yc2E") && strstr(r.output, "3072 SHA256:") &&
				      strstr(r.output, "256 SHA256:"),
			      "%s", r.output);
		fangs_sandbox_result_clear(&r);
		fangs_sandbox_run_free(run);
		fangs_sandbox_free(sb);
	}
}
END_TEST

/* HOME, /tmp and /var/tmp are bounded filesystems: a package that fills
 * them gets ENOSPC, and the host's disk sees none of it. */
START_TEST(test_disk_is_bounded)
{
	fangs_sandbox_options o;
	fangs_sandbox *sb = NULL;
	fangs_sandbox_run *run = NULL;
	fangs_sandbox_result r;
	fangs_sandbox_spec spec = FANGS_SANDBOX_SPEC_INIT;
	const char *argv[] = {"sh", "-c",
			      "head -c 67108864 /dev/zero > ~/app/fill; echo \"home=$?\"; "
			      "head -c 33554432 /dev/zero > /tmp/fill; echo \"tmp=$?\"; "
			      "head -c 33554432 /dev/zero > /var/tmp/fill; echo \"vartmp=$?\"; "
			      "head -c 33554432 /dev/zero > ~/.cache/fill; echo \"cache=$?\"; "
			      "df -k ~ | tail -1; sleep 1",
			      NULL};
	char id[64], path[1024];
	struct statfs fs;
	struct stat st;

	base_opts(&o);
	o.disk_bytes = 16 << 20;
	o.limits.tmp_bytes = 8 << 20;
	snprintf(id, sizeof(id), "disk-%d", (int)getpid());
	spec.run_id = id;
	spec.argv = argv;
	ck_assert_int_eq(fangs_sandbox_new(&sb, &o), 0);
	ck_assert_int_eq(fangs_sandbox_prepare(sb, &spec, &run), 0);
	/* HOME is a tmpfs of its own on the host, not a directory of the host's disk */
	snprintf(path, sizeof(path), "%s/home", fangs_sandbox_work_dir(run));
	ck_assert_int_eq(statfs(path, &fs), 0);
	ck_assert_uint_eq((unsigned long)fs.f_type, (unsigned long)TMPFS_MAGIC);
	ck_assert_uint_le((unsigned long long)fs.f_blocks * fs.f_bsize, 16ULL << 20);
	ck_assert_int_eq(fangs_sandbox_start(run), 0);
	ck_assert_int_eq(fangs_sandbox_wait(run, &r), 0);
	ck_assert_msg(strstr(r.output, "No space left on device"), "%s", r.output);
	ck_assert_msg(strstr(r.output, "home=1") && strstr(r.output, "tmp=1") && strstr(r.output, "vartmp=1") &&
			      strstr(r.output, "cache=1"),
		      "every write ends in ENOSPC: %s", r.output);
	/* what was written stays within the limit */
	snprintf(path, sizeof(path), "%s/fill", fangs_sandbox_project_dir(run));
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_lt(st.st_size, 16 << 20);
	fangs_sandbox_result_clear(&r);
	snprintf(path, sizeof(path), "%s", fangs_sandbox_work_dir(run));
	fangs_sandbox_run_free(run);
	/* and goes with the run: nothing mounted, nothing left */
	ck_assert_int_ne(access(path, F_OK), 0);
	FILE *m = fopen("/proc/self/mountinfo", "r");
	char line[4096];
	ck_assert_ptr_nonnull(m);
	while (fgets(line, sizeof(line), m))
		ck_assert_msg(!strstr(line, path), "still mounted: %s", line);
	fclose(m);
	fangs_sandbox_free(sb);
}
END_TEST

/* A scanner killed in the middle of a run leaves mounts behind; gc removes them. */
START_TEST(test_gc_unmounts_killed_runs)
{
	fangs_sandbox_options o;
	fangs_sandbox *sb = NULL;
	char id[64], path[1024], line[4096];
	int removed = 0, status;
	pid_t scanner;

	base_opts(&o);
	snprintf(id, sizeof(id), "gcm-%d", (int)getpid());
	scanner = fork();
	ck_assert_int_ge(scanner, 0);
	if (scanner == 0) {
		fangs_sandbox_run *run = NULL;
		fangs_sandbox_spec spec = FANGS_SANDBOX_SPEC_INIT;
		const char *argv[] = {"sleep", "60", NULL};
		spec.run_id = id;
		spec.argv = argv;
		if (fangs_sandbox_new(&sb, &o) < 0 || fangs_sandbox_prepare(sb, &spec, &run) < 0 ||
		    fangs_sandbox_start(run) < 0)
			_exit(1);
		kill(getpid(), SIGKILL);
		_exit(2);
	}
	ck_assert_int_eq(waitpid(scanner, &status, 0), scanner);
	ck_assert(WIFSIGNALED(status));
	snprintf(path, sizeof(path), "%s/%s/home", o.work_root, id);
	struct statfs fs;
	ck_assert_int_eq(statfs(path, &fs), 0);
	ck_assert_uint_eq((unsigned long)fs.f_type, (unsigned long)TMPFS_MAGIC);
	ck_assert_int_eq(fangs_sandbox_new(&sb, &o), 0);
	ck_assert_int_eq(fangs_sandbox_gc(sb, &removed), 0);
	ck_assert_int_ge(removed, 2);
	snprintf(path, sizeof(path), "%s/%s", o.work_root, id);
	ck_assert_int_ne(access(path, F_OK), 0);
	FILE *m = fopen("/proc/self/mountinfo", "r");
	ck_assert_ptr_nonnull(m);
	while (fgets(line, sizeof(line), m))
		ck_assert_msg(!strstr(line, path), "still mounted: %s", line);
	fclose(m);
	fangs_sandbox_free(sb);
}
END_TEST

Suite *realism_suite(void);
Suite *realism_suite(void)
{
	Suite *s = suite_create("realism");
	TCase *tc = tcase_create("ns");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_looks_like_a_developer_machine);
	tcase_add_test(tc, test_ssh_keys_parse);
	tcase_add_test(tc, test_disk_is_bounded);
	tcase_add_test(tc, test_gc_unmounts_killed_runs);
	suite_add_tcase(s, tc);
	return s;
}
