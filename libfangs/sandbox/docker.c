/*
 * sandbox/docker.c - the Docker Engine API backend: one container per run,
 * spoken to over the daemon's unix socket with libcurl (no docker CLI).
 *
 * The container's cgroup parent is the run's cgroup fangs/<run_id>; with
 * the cgroupfs driver runc creates the container's cgroups below it in
 * every hierarchy, the v2 one included, before the command runs. Its pid 1
 * is a shell that runs the install with the output in a file of the run
 * directory, records the exit status there, and stays while the install
 * left processes behind, as the ns backend's init does.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/internal.h"
#include "core/fsutil.h"
#include "sandbox/internal.h"

#define API "http://localhost/v1.41"
#define CTL_INSIDE "/run/ctl"
#define IMPORT_LIMITS_INSIDE "/run/fangs-import-limits"
/* where the sensor looks for node by default (its TLS uprobe) */
#define HOST_NODE "/usr/bin/node"

typedef struct docker_backend {
	fangs_sandbox_backend base;
	char *socket;
	char *image_id;
} docker_backend;

typedef struct docker_run {
	docker_backend *d;
	char id[80];   /* container id */
	char *ctl_dir; /* host side of CTL_INSIDE */
	int out_fd;
	int exited;
	int status;
	int64_t next_inspect_ns;
	int64_t created_s; /* for the daemon's event log */
	fangs_sandbox_output_fn output;
	void *output_user;
} docker_run;

static size_t collect(char *data, size_t size, size_t n, void *user)
{
	fangs_buf_put(user, data, size * n);
	return size * n;
}

/* One API call; *http gets the status, resp the raw body. */
static int call_raw(docker_backend *d, const char *method, const char *path, json_object *body, long *http,
		    fangs_buf *resp)
{
	struct curl_slist *hdr = NULL;
	char url[2048];
	CURL *c;
	CURLcode cc;
	int rc = 0;

	*http = 0;
	if (!(c = curl_easy_init()))
		return fangs__error_oom();
	snprintf(url, sizeof(url), API "%s", path);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, d->socket);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (body) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS,
				 json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	}
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK)
		rc = fangs_error_set(FANGS_EUNSUPPORTED, "docker daemon at %s: %s", d->socket, curl_easy_strerror(cc));
	else
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	if (rc == 0 && resp->oom)
		rc = fangs__error_oom();
	if (rc == 0)
		fangs_buf_putc(resp, '\0');
	return rc;
}

/* One API call; *out (may be NULL) gets the parsed body. */
static int call(docker_backend *d, const char *method, const char *path, json_object *body, long *http,
		json_object **out)
{
	fangs_buf resp = FANGS_BUF_INIT;
	json_object *obj = NULL;
	int rc;

	if (out)
		*out = NULL;
	if ((rc = call_raw(d, method, path, body, http, &resp)) < 0) {
		fangs_buf_free(&resp);
		return rc;
	}
	if (resp.len > 1)
		obj = json_tokener_parse(resp.data);
	fangs_buf_free(&resp);
	if (*http >= 400) {
		json_object *msg = NULL;
		json_object_object_get_ex(obj, "message", &msg);
		rc = fangs_error_set(*http == 404 ? FANGS_ENOTFOUND : FANGS_ESANDBOX, "docker %s %s: HTTP %ld: %s",
				     method, path, *http, msg ? json_object_get_string(msg) : "");
		json_object_put(obj);
	} else if (out) {
		*out = obj;
	} else {
		json_object_put(obj);
	}
	return rc;
}

static json_object *str_array(const char *const *v)
{
	json_object *a = json_object_new_array();
	for (; v && *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

static void add_ulimit(json_object *a, const char *name, int64_t v)
{
	json_object *u = json_object_new_object();
	json_object_object_add(u, "Name", json_object_new_string(name));
	json_object_object_add(u, "Soft", json_object_new_int64(v));
	json_object_object_add(u, "Hard", json_object_new_int64(v));
	json_object_array_add(a, u);
}

static void add_bind(json_object *a, const char *host, const char *inside, const char *mode)
{
	char *b = fangs__asprintf("%s:%s:%s", host, inside, mode);
	if (b)
		json_object_array_add(a, json_object_new_string(b));
	free(b);
}

/* A word the shell reads back as it is: '...' with each ' as '\''. */
static void sh_quote(fangs_buf *b, const char *s)
{
	fangs_buf_putc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			fangs_buf_puts(b, "'\\''");
		else
			fangs_buf_putc(b, *s);
	}
	fangs_buf_putc(b, '\'');
}

/* The import step's watchdog, in bash (in the image; dash cannot put a job
 * in its own process group without a terminal): the step runs as a job of
 * its own, a `sleep` beside it is the time limit, and whichever ends first
 * decides; the loser's whole process group is killed, and reaped (pid 1
 * lingers while any process is left). The limit comes in
 * the environment, so that the command line is the same on every run. */
static const char import_watchdog[] =
	"lim=$FANGS_IMPORT_LIMIT_MS; unset FANGS_IMPORT_LIMIT_MS; set -m; "
	"\"$@\" < /dev/null 2>&1 & p=$!; "
	"sleep $((lim / 1000)).$((lim % 1000 / 100))$((lim % 100 / 10))$((lim % 10)) & w=$!; "
	"wait -n -p done $p $w; r=$?; "
	"if [ \"$done\" = \"$p\" ]; then kill -9 -$w; wait $w; "
	"if [ $r -gt 128 ]; then echo \"[fangs] import: killed by signal $((r - 128))\"; "
	"else echo \"[fangs] import: exited with status $r\"; fi; "
	"else kill -9 -$p; wait $p; echo \"[fangs] import: killed at its time limit ($lim ms)\"; fi";

/* The run's deadline (hundredths of a second of /proc/uptime, the boot
 * clock) and the step's own limit (ms), for pid 1 to read: in a file bound
 * read-only, so that pid 1's command line, which the sensor sees, is the
 * same on every run, and so that the package cannot change them. */
static int write_import_limits(const fangs_sandbox_job *j, const char *dir)
{
	struct timespec boot;
	char line[64];
	int64_t deadline_cs;
	clock_gettime(CLOCK_BOOTTIME, &boot);
	deadline_cs = ((int64_t)boot.tv_sec * 1000000000LL + boot.tv_nsec +
		       (j->start_ns + j->opts->duration_ms * 1000000LL - fangs__monotonic_ns())) /
		      10000000LL;
	snprintf(line, sizeof(line), "%lld %lld\n", (long long)deadline_cs, (long long)j->import_timeout_ms);
	return fangs__write_at(dir, "import-limits", line, 0644);
}

/*
 * pid 1's import step (job version 2), after a successful install, with the
 * same lines in the output as the ns backend's init writes. The limit is what
 * is left of the run's duration (read without running anything) less a
 * second, at most the step's own.
 */
static char *import_shell(const fangs_sandbox_job *j)
{
	fangs_buf b = FANGS_BUF_INIT;

	fangs_buf_puts(&b, "if [ $s = 0 ]; then { read d lim < " IMPORT_LIMITS_INSIDE "; read up _ < /proc/uptime; "
			   "left=$(( (d - ${up%.*}${up#*.}) * 10 - 1000 )); [ $left -lt $lim ] && lim=$left; "
			   "if [ $lim -le 0 ]; then echo; echo '[fangs] import: not run: no time left in the run'; "
			   "else echo; echo \"[fangs] import: started (time limit $lim ms)\"; "
			   "FANGS_IMPORT_LIMIT_MS=$lim bash -c ");
	sh_quote(&b, import_watchdog);
	fangs_buf_puts(&b, " bash");
	for (const char *const *a = j->import_argv; *a; a++) {
		fangs_buf_putc(&b, ' ');
		sh_quote(&b, *a);
	}
	fangs_buf_puts(&b, " 2> /dev/null; fi; } >> " CTL_INSIDE "/output; fi; ");
	return fangs_buf_steal(&b, NULL);
}

static json_object *create_body(docker_backend *d, const fangs_sandbox_job *j, const char *ctl_dir)
{
	const fangs_sandbox_limits *l = &j->opts->limits;
	json_object *body = json_object_new_object(), *hc = json_object_new_object();
	json_object *cmd = json_object_new_array(), *binds = json_object_new_array();
	json_object *ul = json_object_new_array(), *tmpfs = json_object_new_object(),
		    *labels = json_object_new_object();
	char tmp[128], parent[128], node[4096];
	const int has_import = j->version >= 2 && j->import_argv && j->import_argv[0];
	char *import = has_import ? import_shell(j) : NULL;
	char *script;

	/* pid 1: the install, its import step, then linger while they left
	 * processes behind */
	script = fangs__asprintf("\"$@\" > " CTL_INSIDE "/output 2>&1 < /dev/null; s=$?; echo $s > " CTL_INSIDE
				 "/status; %swhile :; do set -- /proc/[0-9]*; [ $# -le 1 ] && exit 0; "
				 "sleep 0.1; done",
				 import ? import : "");
	free(import);
	json_object_array_add(cmd, json_object_new_string("/bin/sh"));
	json_object_array_add(cmd, json_object_new_string("-c"));
	json_object_array_add(cmd, json_object_new_string(script ? script : "exit 127"));
	free(script);
	json_object_array_add(cmd, json_object_new_string("sh"));
	for (const char *const *a = j->argv; *a; a++)
		json_object_array_add(cmd, json_object_new_string(*a));

	json_object_object_add(body, "Image", json_object_new_string(d->image_id));
	json_object_object_add(body, "Cmd", cmd);
	json_object_object_add(body, "Env", str_array(j->envp));
	json_object_object_add(body, "WorkingDir", json_object_new_string(j->project_inside));
	json_object_object_add(body, "User", json_object_new_string("0:0"));
	json_object_object_add(
		body, "Hostname",
		json_object_new_string(j->version >= 2 && j->hostname ? j->hostname : j->opts->hostname));
	json_object_object_add(labels, "fangs.run_id", json_object_new_string(j->run_id));
	json_object_object_add(labels, "fangs.work_root", json_object_new_string(j->opts->work_root));
	json_object_object_add(body, "Labels", labels);

	add_bind(binds, j->home_dir, j->home_inside, "rw");
	add_bind(binds, ctl_dir, CTL_INSIDE, "rw");
	if (has_import) {
		char *limits = fangs__asprintf("%s/import-limits", j->work_dir);
		if (limits)
			add_bind(binds, limits, IMPORT_LIMITS_INSIDE, "ro");
		free(limits);
	}
	if (j->cache_dir)
		add_bind(binds, j->cache_dir, j->cache_inside, "ro");
	add_bind(binds, j->resolv_conf, "/etc/resolv.conf", "ro");
	add_bind(binds, j->hosts, "/etc/hosts", "ro");
	/* The sensor's TLS uprobes sit on the host's node binary, that is on its
	 * inode: the image's copy of node would open TLS unseen. The image is
	 * built from this very node, so the container runs the host's file. */
	if (realpath(HOST_NODE, node))
		add_bind(binds, node, node, "ro");
	json_object_object_add(hc, "Binds", binds);
	json_object_object_add(hc, "CapDrop", str_array((const char *const[]){"ALL", NULL}));
	json_object_object_add(hc, "SecurityOpt", str_array((const char *const[]){"no-new-privileges:true", NULL}));
	json_object_object_add(hc, "PidsLimit", json_object_new_int64(l->pids));
	json_object_object_add(hc, "Memory", json_object_new_int64(l->memory_bytes));
	json_object_object_add(hc, "MemorySwap", json_object_new_int64(l->memory_bytes));
	json_object_object_add(hc, "NanoCpus", json_object_new_int64(l->cpu_millis * 1000000LL));
	add_ulimit(ul, "nofile", l->nofile);
	add_ulimit(ul, "nproc", l->nproc);
	add_ulimit(ul, "fsize", l->fsize_bytes);
	add_ulimit(ul, "core", 0);
	json_object_object_add(hc, "Ulimits", ul);
	snprintf(tmp, sizeof(tmp), "rw,noexec,nosuid,nodev,size=%lld", (long long)l->tmp_bytes);
	json_object_object_add(tmpfs, "/tmp", json_object_new_string(tmp));
	json_object_object_add(hc, "Tmpfs", tmpfs);
	json_object_object_add(hc, "ReadonlyRootfs", json_object_new_boolean(1));
	json_object_object_add(
		hc, "NetworkMode",
		json_object_new_string(j->opts->network == FANGS_SANDBOX_NET_BRIDGE ? "bridge" : "none"));
	snprintf(parent, sizeof(parent), "/fangs/%s", j->run_id);
	json_object_object_add(hc, "CgroupParent", json_object_new_string(parent));
	/* the package sees "/" as its cgroup, not the run's name */
	json_object_object_add(hc, "CgroupnsMode", json_object_new_string("private"));
	json_object_object_add(body, "HostConfig", hc);
	return body;
}

static int inspect(docker_backend *d, const char *id, int *running, int *exit_code, int *pid)
{
	char path[256];
	json_object *o = NULL, *state, *v;
	long http = 0;
	int rc;
	snprintf(path, sizeof(path), "/containers/%s/json", id);
	if ((rc = call(d, "GET", path, NULL, &http, &o)) < 0)
		return rc;
	if (!json_object_object_get_ex(o, "State", &state)) {
		json_object_put(o);
		return fangs_error_set(FANGS_EPARSE, "docker inspect %s: no State", id);
	}
	*running = json_object_object_get_ex(state, "Running", &v) && json_object_get_boolean(v);
	*exit_code = json_object_object_get_ex(state, "ExitCode", &v) ? json_object_get_int(v) : -1;
	*pid = json_object_object_get_ex(state, "Pid", &v) ? json_object_get_int(v) : 0;
	json_object_put(o);
	return 0;
}

/* The container must sit below the run's v2 cgroup, or the sensor misses it. */
static int check_cgroup(const fangs_sandbox_job *j, int pid)
{
	char path[64], want[128], line[512];
	FILE *f;
	int ok = 0, v2_seen = 0, gone;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	snprintf(want, sizeof(want), "0::/fangs/%s/", j->run_id);
	if (!(f = fopen(path, "re")))
		return 0; /* already gone: a very short install */
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) == 0)
			v2_seen = 1;
		if (strncmp(line, want, strlen(want)) == 0)
			ok = 1;
	}
	/* reaped between the open and the read: the read fails (ESRCH) and
	 * there is nothing to judge, as with a failed open */
	gone = ferror(f) || !v2_seen;
	fclose(f);
	if (!ok && !gone)
		return fangs_error_set(FANGS_EUNSUPPORTED,
				       "the container of run %s is not below cgroup v2 fangs/%s: this docker "
				       "cannot be scoped by the sensor (use the cgroupfs driver)",
				       j->run_id, j->run_id);
	return 0;
}

static void remove_container(docker_backend *d, const char *id)
{
	char path[256];
	long http = 0;
	snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", id);
	if (call(d, "DELETE", path, NULL, &http, NULL) < 0 && http != 404)
		fangs_warn("%s", fangs_error_last());
}

/* The container may replace its files with links or FIFOs: open only
 * regular files, never block. */
static int open_ctl(const docker_run *r, const char *name)
{
	char path[4096];
	struct stat st;
	int fd;
	snprintf(path, sizeof(path), "%s/%s", r->ctl_dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		return -1;
	}
	return fd;
}

static void drain(docker_run *r)
{
	char buf[16384];
	ssize_t n;
	if (r->out_fd < 0 && (r->out_fd = open_ctl(r, "output")) < 0)
		return;
	while ((n = read(r->out_fd, buf, sizeof(buf))) > 0)
		if (r->output)
			r->output(buf, (size_t)n, r->output_user);
}

static void run_free(docker_run *r)
{
	if (r->id[0])
		remove_container(r->d, r->id);
	drain(r);
	if (r->out_fd >= 0)
		close(r->out_fd);
	free(r->ctl_dir);
	free(r);
}

static int docker_start(fangs_sandbox_backend *b, const fangs_sandbox_job *j, void **handle)
{
	docker_backend *d = (docker_backend *)b;
	json_object *body, *resp = NULL, *idv;
	char path[256];
	docker_run *r;
	long http = 0;
	int rc, running, code, pid;

	*handle = NULL;
	/* the container runs its command as soon as it is made: no moment to
	 * put a socket in its namespace first */
	if (j->opts->network == FANGS_SANDBOX_NET_PROXY)
		return fangs_error_set(FANGS_EUNSUPPORTED, "network proxy works with the ns sandbox only");
	if (!(r = calloc(1, sizeof(*r))))
		return fangs__error_oom();
	r->d = d;
	r->out_fd = -1;
	r->output = j->output;
	r->output_user = j->output_user;
	if (!(r->ctl_dir = fangs__asprintf("%s/ctl", j->work_dir))) {
		free(r);
		return FANGS_ENOMEM;
	}
	if (mkdir(r->ctl_dir, 0755) < 0) {
		rc = fangs__error_errno(FANGS_ESANDBOX, r->ctl_dir);
		goto fail;
	}
	r->created_s = fangs__now_ns() / 1000000000LL - 1;
	if (j->version >= 2 && j->import_argv && j->import_argv[0] && (rc = write_import_limits(j, j->work_dir)) < 0)
		goto fail;
	body = create_body(d, j, r->ctl_dir);
	snprintf(path, sizeof(path), "/containers/create?name=fangs-%s", j->run_id);
	rc = call(d, "POST", path, body, &http, &resp);
	json_object_put(body);
	if (rc < 0)
		goto fail;
	if (!json_object_object_get_ex(resp, "Id", &idv)) {
		json_object_put(resp);
		rc = fangs_error_set(FANGS_EPARSE, "docker create: no container id");
		goto fail;
	}
	snprintf(r->id, sizeof(r->id), "%s", json_object_get_string(idv));
	json_object_put(resp);
	snprintf(path, sizeof(path), "/containers/%s/start", r->id);
	if ((rc = call(d, "POST", path, NULL, &http, NULL)) < 0)
		goto fail;
	if ((rc = inspect(d, r->id, &running, &code, &pid)) < 0)
		goto fail;
	if (running && pid > 0 && (rc = check_cgroup(j, pid)) < 0)
		goto fail;
	*handle = r;
	return 0;
fail: {
	fangs_error_state keep;
	fangs_error_state_capture(&keep, rc);
	run_free(r);
	return fangs_error_state_restore(&keep);
}
}

static int wait_status(int code)
{
	/* a shell reports death by signal N as 128+N */
	if (code > 128 && code < 128 + 65)
		return code - 128;
	return (code & 0xff) << 8;
}

static int docker_poll(fangs_sandbox_backend *b, void *handle, int *ws)
{
	docker_run *r = handle;
	(void)b;
	drain(r);
	if (!r->exited) {
		char buf[32];
		int fd;
		ssize_t n;
		if ((fd = open_ctl(r, "status")) >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n > 0 && buf[n - 1] == '\n') {
				buf[n] = '\0';
				r->exited = 1;
				r->status = wait_status(atoi(buf));
			}
		}
	}
	if (!r->exited && fangs__monotonic_ns() >= r->next_inspect_ns) {
		int running, code, pid;
		/* the container died without a word from its shell: killed */
		r->next_inspect_ns = fangs__monotonic_ns() + 200000000LL;
		if (inspect(r->d, r->id, &running, &code, &pid) == 0 && !running) {
			r->exited = 1;
			r->status = code > 128 ? code - 128 : (code & 0xff) << 8;
		}
	}
	if (r->exited)
		*ws = r->status;
	return r->exited;
}

/* On cgroup v1 an OOM kill counts in the victim's own cgroup, the
 * container's, which goes away with it; the daemon's event log keeps it. */
static int64_t docker_oom_kills(fangs_sandbox_backend *b, void *handle)
{
	docker_run *r = handle;
	fangs_buf resp = FANGS_BUF_INIT;
	char path[1024], *filter, *esc;
	int64_t n = 0;
	long http = 0;
	CURL *c;

	(void)b;
	if (!(filter = fangs__asprintf("{\"container\":[\"%s\"],\"event\":[\"oom\"]}", r->id)))
		return 0;
	c = curl_easy_init();
	esc = c ? curl_easy_escape(c, filter, 0) : NULL;
	free(filter);
	if (c)
		curl_easy_cleanup(c);
	if (!esc)
		return 0;
	snprintf(path, sizeof(path), "/events?since=%lld&until=%lld&filters=%s", (long long)r->created_s,
		 (long long)(fangs__now_ns() / 1000000000LL + 1), esc);
	curl_free(esc);
	if (call_raw(r->d, "GET", path, NULL, &http, &resp) == 0 && http == 200)
		for (const char *p = resp.data; (p = strstr(p, "\"Action\":\"oom\"")); p++)
			n++;
	fangs_buf_free(&resp);
	return n;
}

static void docker_release(fangs_sandbox_backend *b, void *handle)
{
	(void)b;
	if (handle)
		run_free(handle);
}

static int docker_gc(fangs_sandbox_backend *b, const char *run_id, int *removed)
{
	docker_backend *d = (docker_backend *)b;
	json_object *list = NULL;
	char path[512], *filter, *esc;
	long http = 0;
	CURL *c;
	int rc;

	if (!(filter = fangs__asprintf("{\"label\":[\"fangs.run_id=%s\"]}", run_id)))
		return FANGS_ENOMEM;
	c = curl_easy_init();
	esc = c ? curl_easy_escape(c, filter, 0) : NULL;
	free(filter);
	if (!esc) {
		if (c)
			curl_easy_cleanup(c);
		return fangs__error_oom();
	}
	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", esc);
	curl_free(esc);
	curl_easy_cleanup(c);
	if ((rc = call(d, "GET", path, NULL, &http, &list)) < 0)
		return rc;
	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		json_object *id;
		if (json_object_object_get_ex(json_object_array_get_idx(list, i), "Id", &id)) {
			fangs_info("removing leftover container %.12s of run %s", json_object_get_string(id), run_id);
			remove_container(d, json_object_get_string(id));
			(*removed)++;
		}
	}
	json_object_put(list);
	return 0;
}

static void docker_free(fangs_sandbox_backend *b)
{
	docker_backend *d = (docker_backend *)b;
	if (!d)
		return;
	free(d->socket);
	free(d->image_id);
	free(d);
}

static int check_daemon(docker_backend *d, const fangs_sandbox_options *o)
{
	json_object *info = NULL, *v;
	char path[512], *esc;
	long http = 0;
	int rc;
	CURL *c;

	if ((rc = call(d, "GET", "/info", NULL, &http, &info)) < 0)
		return rc;
	/* with the systemd driver the cgroup parent is a slice, not fangs/<run_id> */
	if (json_object_object_get_ex(info, "CgroupDriver", &v) && strcmp(json_object_get_string(v), "cgroupfs") != 0) {
		rc = fangs_error_set(FANGS_EUNSUPPORTED,
				     "docker uses the %s cgroup driver; the sandbox needs cgroupfs "
				     "(dockerd --exec-opt native.cgroupdriver=cgroupfs)",
				     json_object_get_string(v));
		json_object_put(info);
		return rc;
	}
	json_object_put(info);
	const char *image = o && o->image ? o->image : "fangs-sandbox:latest";
	c = curl_easy_init();
	esc = c ? curl_easy_escape(c, image, 0) : NULL;
	if (c)
		curl_easy_cleanup(c);
	if (!esc)
		return fangs__error_oom();
	snprintf(path, sizeof(path), "/images/%s/json", esc);
	curl_free(esc);
	if ((rc = call(d, "GET", path, NULL, &http, &info)) < 0) {
		if (rc == FANGS_ENOTFOUND)
			rc = fangs_error_set(FANGS_ENOTFOUND,
					     "docker image %s not found: build it with scripts/build-sandbox-image",
					     image);
		return rc;
	}
	if (json_object_object_get_ex(info, "Id", &v))
		d->image_id = fangs__strdup(json_object_get_string(v));
	json_object_put(info);
	if (!d->image_id)
		return fangs_error_set(FANGS_EPARSE, "docker image %s has no id", image);
	return 0;
}

int fangs_sandbox_backend_docker_new(fangs_sandbox_backend **out, const fangs_sandbox_options *opts)
{
	docker_backend *d;
	int rc;
	if (!out)
		return fangs_error_set(FANGS_EINVAL, "out is NULL");
	*out = NULL;
	if (!(d = calloc(1, sizeof(*d))))
		return fangs__error_oom();
	d->base.version = FANGS_SANDBOX_BACKEND_VERSION;
	d->base.name = "docker";
	d->base.free = docker_free;
	d->base.start = docker_start;
	d->base.poll = docker_poll;
	d->base.release = docker_release;
	d->base.gc = docker_gc;
	d->base.oom_kills = docker_oom_kills;
	d->base.runs_import = 1;
	/* runc sets the container up inside the run's cgroup (CgroupParent) */
	d->base.setup_in_cgroup = 1;
	d->base.host_root = 0; /* the image's file system */
	d->socket = fangs__strdup(opts && opts->docker_socket ? opts->docker_socket : "/var/run/docker.sock");
	if (!d->socket) {
		docker_free(&d->base);
		return FANGS_ENOMEM;
	}
	if (access(d->socket, F_OK) != 0) {
		rc = fangs_error_set(FANGS_EUNSUPPORTED, "no docker daemon socket at %s: %s", d->socket,
				     strerror(errno));
		docker_free(&d->base);
		return rc;
	}
	if ((rc = check_daemon(d, opts)) < 0) {
		docker_free(&d->base);
		return rc;
	}
	*out = &d->base;
	return 0;
}
