/*
 * tests/storage/backend_postgres.c - PostgreSQL databases for the contract
 * suite: one database per test, on the server FANGS_TEST_POSTGRES_DSN names
 * or else on a private server started here (initdb in a temporary
 * directory, trust authentication, listening on a free loopback port) and
 * stopped at the end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends.h"

static char admin_dsn[1024];
static char server_dir[256]; /* empty when the server is not ours */
static char bin_dir[256];

typedef struct pg_ctx {
	char db[64];
	char dsn[1200];
} pg_ctx;

/* Runs a server program, as the postgres user when we are root (initdb
 * and postgres refuse root). Output goes to server_dir/setup.log. */
static int run(char *const argv[])
{
	pid_t pid = fork();
	int status;
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char log[300];
		int fd;
		snprintf(log, sizeof(log), "%s/setup.log", server_dir);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (geteuid() == 0) {
			struct passwd *pw = getpwnam("postgres");
			if (!pw || setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid))
				_exit(126);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int find_bin_dir(void)
{
	glob_t g;
	const char *env = getenv("FANGS_TEST_PG_BINDIR");
	if (env && *env) {
		snprintf(bin_dir, sizeof(bin_dir), "%s", env);
		return 0;
	}
	/* newest installed version last in glob order: take it */
	if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0 || g.gl_pathc == 0)
		return -1;
	snprintf(bin_dir, sizeof(bin_dir), "%s", g.gl_pathv[g.gl_pathc - 1]);
	*strrchr(bin_dir, '/') = '\0';
	globfree(&g);
	return 0;
}

static int free_port(void)
{
	struct sockaddr_in a = {0};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void pg_teardown_all(void)
{
	char data[300];
	if (!server_dir[0])
		return;
	snprintf(data, sizeof(data), "%s/data", server_dir);
	{
		char ctl[300];
		snprintf(ctl, sizeof(ctl), "%s/pg_ctl", bin_dir);
		char *argv[] = {ctl, "-D", data, "-m", "immediate", "-w", "stop", NULL};
		if (run(argv) != 0)
			fprintf(stderr, "postgres test server: stop failed (see %s/setup.log)\n", server_dir);
	}
	nftw(server_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	server_dir[0] = '\0';
}

static int pg_setup_all(void)
{
	const char *env = getenv("FANGS_TEST_POSTGRES_DSN");
	char data[300], initdb[300], ctl[300], opts[512], log[300];
	int port;

	if (env && *env) {
		snprintf(admin_dsn, sizeof(admin_dsn), "%s", env);
		return 0;
	}
	if (find_bin_dir() != 0) {
		fprintf(stderr, "postgres test server: no PostgreSQL server programs found under /usr/lib/postgresql "
				"(install postgresql, or set FANGS_TEST_POSTGRES_DSN or FANGS_TEST_PG_BINDIR)\n");
		return -1;
	}
	snprintf(server_dir, sizeof(server_dir), "/tmp/fangs-pg-XXXXXX");
	if (!mkdtemp(server_dir)) {
		server_dir[0] = '\0';
		return -1;
	}
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("postgres");
		if (!pw || chown(server_dir, pw->pw_uid, pw->pw_gid) != 0) {
			fprintf(stderr, "postgres test server: running as root needs a 'postgres' user\n");
			pg_teardown_all();
			return -1;
		}
	}
	snprintf(data, sizeof(data), "%s/data", server_dir);
	snprintf(initdb, sizeof(initdb), "%s/initdb", bin_dir);
	snprintf(ctl, sizeof(ctl), "%s/pg_ctl", bin_dir);
	snprintf(log, sizeof(log), "%s/server.log", server_dir);
	port = free_port();
	/* durability is not under test: skip fsync to keep the suite fast */
	snprintf(opts, sizeof(opts),
		 "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
		 "-c full_page_writes=off",
		 port, server_dir);
	{
		char *iargv[] = {initdb,  "-D", data,   "-A",         "trust", "-U",
				 "fangs", "-E", "UTF8", "--locale=C", "-N",    NULL};
		char *sargv[] = {ctl, "-D", data, "-l", log, "-w", "-t", "60", "-o", opts, "start", NULL};
		if (port < 0 || run(iargv) != 0 || run(sargv) != 0) {
			fprintf(stderr, "postgres test server: could not start it (logs in %s)\n", server_dir);
			return -1; /* keep the directory for its logs */
		}
	}
	snprintf(admin_dsn, sizeof(admin_dsn), "host=127.0.0.1 port=%d user=fangs dbname=postgres", port);
	fprintf(stderr, "postgres test server: %s (%s)\n", admin_dsn, server_dir);
	return 0;
}

/* admin_dsn with another database. */
static int dsn_for(const char *db, char *out, size_t cap)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(admin_dsn, &err);
	size_t len = 0;
	if (!opts) {
		fprintf(stderr, "postgres test backend: bad DSN: %s\n", err ? err : "?");
		PQfreemem(err);
		return -1;
	}
	out[0] = '\0';
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		const char *v = strcmp(o->keyword, "dbname") == 0 ? db : o->val;
		if (!v)
			continue;
		len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s%s='", len ? " " : "", o->keyword);
		for (const char *c = v; *c && len + 3 < cap; c++) {
			if (*c == '\'' || *c == '\\')
				out[len++] = '\\';
			out[len++] = *c;
		}
		len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "'");
	}
	PQconninfoFree(opts);
	return len < cap ? 0 : -1;
}

static int admin_exec(const char *dsn, const char *sql)
{
	PGconn *c = PQconnectdb(dsn);
	PGresult *r;
	int rc = -1;
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "postgres test backend: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	r = PQexec(c, sql);
	if (PQresultStatus(r) == PGRES_COMMAND_OK)
		rc = 0;
	else
		fprintf(stderr, "postgres test backend: %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return rc;
}

static int pg_create(void **out, fangs_storage_options *opts)
{
	static int seq;
	char sql[128];
	pg_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return -1;
	snprintf(c->db, sizeof(c->db), "fangs_test_%d_%d", (int)getpid(), seq++);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8'", c->db);
	if (dsn_for(c->db, c->dsn, sizeof(c->dsn)) != 0 || admin_exec(admin_dsn, sql) != 0) {
		free(c);
		return -1;
	}
	opts->backend = "postgres";
	opts->postgres_dsn = c->dsn;
	*out = c;
	return 0;
}

static int pg_add_schema_version(void *ctx, int version)
{
	pg_ctx *c = ctx;
	char sql[128];
	snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations (version, applied_ns) VALUES (%d, 0)", version);
	return admin_exec(c->dsn, sql);
}

static int pg_exec(void *ctx, const char *sql)
{
	return admin_exec(((pg_ctx *)ctx)->dsn, sql);
}

static int pg_query_i64(void *ctx, const char *sql, long long *out)
{
	PGconn *c = PQconnectdb(((pg_ctx *)ctx)->dsn);
	PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
	int rc = -1;
	if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
		*out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		rc = 0;
	} else
		fprintf(stderr, "postgres test backend: %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return rc;
}

static void pg_destroy(void *ctx)
{
	pg_ctx *c = ctx;
	char sql[128];
	if (!c)
		return;
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", c->db);
	admin_exec(admin_dsn, sql);
	free(c);
}

const test_backend test_backend_postgres = {
	.name = "postgres",
	.setup_all = pg_setup_all,
	.teardown_all = pg_teardown_all,
	.create = pg_create,
	.add_schema_version = pg_add_schema_version,
	.destroy = pg_destroy,
	.exec = pg_exec,
	.query_i64 = pg_query_i64,
};
