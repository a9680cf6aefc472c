/*
 * sandbox/decoy.c - fake credentials planted where stealers look, so that a
 * package going for secrets shows it (the sensor sees the reads, the differ
 * flags them). None of them is valid anywhere.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "sandbox/fsutil.h"
#include "sandbox/internal.h"

static void hex(char *out, size_t n)
{
	unsigned char raw[32];
	static const char digits[] = "0123456789abcdef";
	if (fangs__random(raw, sizeof(raw)) < 0)
		memset(raw, 0x5a, sizeof(raw));
	for (size_t i = 0; i + 1 < n && i / 2 < sizeof(raw); i++)
		out[i] = digits[(raw[i / 2] >> ((i & 1) ? 0 : 4)) & 15];
	out[n - 1] = '\0';
}

int fangs__plant_decoys(const char *home, const char *project)
{
	char token[37], aws[41], npmrc[256], creds[256], env[512], dir[4096];
	int rc;

	hex(token, sizeof(token));
	hex(aws, sizeof(aws));
	snprintf(npmrc, sizeof(npmrc), "//registry.example/:_authToken=npm_FAKE%s\n", token);
	snprintf(creds, sizeof(creds),
		 "[default]\naws_access_key_id = AKIAFAKE%.12s\naws_secret_access_key = FAKE%s\n", aws, aws);
	snprintf(env, sizeof(env),
		 "DATABASE_URL=postgres://app:FAKE%.16s@db.internal.example:5432/app\n"
		 "NPM_TOKEN=npm_FAKE%s\nAWS_SECRET_ACCESS_KEY=FAKE%s\n",
		 token, token, aws);

	if ((rc = fangs__write_at(home, ".npmrc", npmrc, 0600)) < 0)
		return rc;
	snprintf(dir, sizeof(dir), "%s/.ssh", home);
	if ((rc = fangs__mkdir_p(dir, 0700)) < 0)
		return rc;
	if ((rc = fangs__write_at(dir, "id_rsa",
				  "-----BEGIN OPENSSH PRIVATE KEY-----\n"
				  "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
				  "QyNTUxOQAAACBGQUtFLUtFWS1GT1ItVEhFLVNBTkRCT1gtT05MWS0tLS0tLQAAAJhGQUtF\n"
				  "RkFLRUZBS0VGQUtFRkFLRUZBS0VGQUtFRkFLRUZBS0VGQUtFRkFLRUZBS0VGQUtFRkFLRU\n"
				  "-----END OPENSSH PRIVATE KEY-----\n",
				  0600)) < 0)
		return rc;
	snprintf(dir, sizeof(dir), "%s/.aws", home);
	if ((rc = fangs__mkdir_p(dir, 0700)) < 0)
		return rc;
	if ((rc = fangs__write_at(dir, "credentials", creds, 0600)) < 0)
		return rc;
	return fangs__write_at(project, ".env", env, 0600);
}

static int add_decoy(fangs__decoy_list *out, const char *place, const struct stat *st)
{
	fangs_sandbox_decoy *d;
	if (FANGS_GROW(out))
		return fangs__error_oom();
	d = &out->items[out->count];
	if (!(d->place = fangs__strdup(place)))
		return fangs__error_oom();
	d->dev = (uint64_t)st->st_dev;
	d->ino = (uint64_t)st->st_ino;
	out->count++;
	return 0;
}

/* Regular files below `dir` (symlinks not followed), skipping `skip`;
 * `place` is dir's name inside the sandbox. */
static int walk_decoys(fangs__decoy_list *out, const char *dir, const char *place, const char *skip, int depth)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	if (depth > 8)
		return 0;
	if (!(d = opendir(dir)))
		return fangs__error_errno(FANGS_EIO, dir);
	while (rc == 0 && (errno = 0, de = readdir(d))) {
		char *path, *inside;
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		path = fangs__asprintf("%s/%s", dir, de->d_name);
		inside = fangs__asprintf("%s/%s", place, de->d_name);
		if (!path || !inside)
			rc = fangs__error_oom();
		else if (skip && !strcmp(path, skip))
			;
		else if (lstat(path, &st) < 0)
			rc = fangs__error_errno(FANGS_EIO, path);
		else if (S_ISREG(st.st_mode))
			rc = add_decoy(out, inside, &st);
		else if (S_ISDIR(st.st_mode))
			rc = walk_decoys(out, path, inside, skip, depth + 1);
		free(path);
		free(inside);
	}
	closedir(d);
	return rc;
}

int fangs__collect_decoys(fangs__decoy_list *out, const char *home, const char *project, const char *home_inside)
{
	size_t hl = strlen(home);
	DIR *d;
	struct dirent *de;
	int rc;

	if ((rc = walk_decoys(out, home, home_inside, project, 0)) < 0)
		return rc;
	/* the project's secrets: .env and .env.* (the rest is the package) */
	if (strncmp(project, home, hl) != 0 || project[hl] != '/')
		return 0;
	if (!(d = opendir(project)))
		return fangs__error_errno(FANGS_EIO, project);
	while (rc == 0 && (de = readdir(d))) {
		char *path, *inside;
		struct stat st;
		if (strcmp(de->d_name, ".env") != 0 && strncmp(de->d_name, ".env.", 5) != 0)
			continue;
		path = fangs__asprintf("%s/%s", project, de->d_name);
		inside = fangs__asprintf("%s%s/%s", home_inside, project + hl, de->d_name);
		if (!path || !inside)
			rc = fangs__error_oom();
		else if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
			rc = add_decoy(out, inside, &st);
		free(path);
		free(inside);
	}
	closedir(d);
	return rc;
}

void fangs__decoy_list_free(fangs__decoy_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free((char *)l->items[i].place);
	free(l->items);
	memset(l, 0, sizeof(*l));
}
