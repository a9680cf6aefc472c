/*
 * cgroup/mounts.c - where cgroup v2 and the v1 controllers are mounted, and
 * so which layout this host has: the one detection the public
 * fangs_cgroup_v2_root(), the sensor (through it) and the sandbox's
 * cgroups (limits.c) use, read from /proc/self/mountinfo.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cgroup.h"
#include "core/internal.h"

static const char *const v1_controllers[FANGS__CG_V1_MAX] = {"memory", "pids", "cpu"};

const char *fangs__cgroup_v1_controller(size_t i)
{
	return i < FANGS__CG_V1_MAX ? v1_controllers[i] : NULL;
}

/* Undoes mountinfo's octal escapes (\040 space, \011 tab, \012 newline,
 * \134 backslash) in place. */
static void unescape(char *s)
{
	char *out = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* 1 when the comma-separated `list` holds `word`. */
static int has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == n && strncmp(p, word, n) == 0)
			return 1;
		p = comma ? comma + 1 : NULL;
	}
	return 0;
}

/* How much `mnt` is worth as the place of what `want` names: the place
 * asked for first, then anything below `root`, then anywhere. */
static int rank(const char *mnt, const char *want, const char *root)
{
	size_t rl = strlen(root);
	if (want && strcmp(mnt, want) == 0)
		return 3;
	if (strncmp(mnt, root, rl) == 0 && mnt[rl] == '/')
		return 2;
	return 1;
}

/* Replaces *slot (of rank *have) by `mnt` when `mnt` ranks higher. */
static int take(char **slot, int *have, const char *mnt, int r)
{
	char *dup;
	if (r <= *have)
		return 0;
	if (!(dup = fangs__strdup(mnt)))
		return FANGS_ENOMEM;
	free(*slot);
	*slot = dup;
	*have = r;
	return 0;
}

static int add_v1(fangs__cg_mounts *m, size_t *n, size_t *cap, const char *mnt)
{
	if (*n + 1 >= *cap) {
		size_t c = *cap ? *cap * 2 : 8;
		char **grown = realloc(m->v1_all, c * sizeof(*grown));
		if (!grown)
			return FANGS_ENOMEM;
		m->v1_all = grown;
		*cap = c;
	}
	if (!(m->v1_all[*n] = fangs__strdup(mnt)))
		return FANGS_ENOMEM;
	m->v1_all[++*n] = NULL;
	return 0;
}

/* One line: id parent maj:min root mountpoint opts [optional...] - fstype source super */
static int parse_line(char *line, const char *root, fangs__cg_mounts *m, int *v2_rank, int *v1_rank, size_t *n_all,
		      size_t *cap_all)
{
	char *sep = strstr(line, " - "), *save = NULL, *mnt = NULL, *fstype, *super;
	char want[4096];
	int rc;

	if (!sep)
		return 0;
	*sep = '\0';
	for (int field = 0; field < 5; field++)
		if (!(mnt = strtok_r(field ? NULL : line, " ", &save)))
			return 0;
	fstype = strtok_r(sep + 3, " \n", &save);
	(void)strtok_r(NULL, " \n", &save); /* the source */
	super = strtok_r(NULL, " \n", &save);
	if (!fstype)
		return 0;
	unescape(mnt);
	if (strcmp(fstype, "cgroup2") == 0) {
		/* <root> itself (pure v2) before <root>/unified (hybrid) */
		snprintf(want, sizeof(want), "%s/unified", root);
		int r = strcmp(mnt, root) == 0 ? 4 : rank(mnt, want, root);
		return take(&m->v2, v2_rank, mnt, r);
	}
	if (strcmp(fstype, "cgroup") != 0)
		return 0;
	if ((rc = add_v1(m, n_all, cap_all, mnt)) < 0)
		return rc;
	for (size_t i = 0; i < FANGS__CG_V1_MAX; i++) {
		if (!has_word(super, v1_controllers[i]))
			continue;
		snprintf(want, sizeof(want), "%s/%s", root, v1_controllers[i]);
		if ((rc = take(&m->v1[i], &v1_rank[i], mnt, rank(mnt, want, root))) < 0)
			return rc;
	}
	return 0;
}

int fangs__cgroup_mounts_parse(FILE *mountinfo, const char *root, fangs__cg_mounts *m)
{
	int v2_rank = 0, v1_rank[FANGS__CG_V1_MAX] = {0};
	size_t n_all = 0, cap_all = 0, cap = 0;
	char *line = NULL;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	if (!root)
		root = FANGS__CGROUP_ROOT;
	while (rc == 0 && getline(&line, &cap, mountinfo) >= 0)
		rc = parse_line(line, root, m, &v2_rank, v1_rank, &n_all, &cap_all);
	free(line);
	if (rc < 0) {
		fangs__cgroup_mounts_free(m);
		return fangs__error_oom();
	}
	if (!m->v2) {
		fangs__cgroup_mounts_free(m);
		return fangs_error_set(FANGS_EUNSUPPORTED,
				       "no cgroup2 file system is mounted: the sensor cannot be scoped to a run "
				       "(mount cgroup2 at %s or %s/unified)",
				       root, root);
	}
	/* a controller is in one hierarchy only: bound to v1, v2 cannot have it */
	m->layout = m->v1[0] || m->v1[1] ? FANGS__CG_HYBRID : FANGS__CG_V2;
	if (m->layout == FANGS__CG_V2)
		for (size_t i = 0; i < FANGS__CG_V1_MAX; i++) {
			free(m->v1[i]);
			m->v1[i] = NULL;
		}
	return 0;
}

int fangs__cgroup_detect(const char *root, fangs__cg_mounts *m)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int rc;

	memset(m, 0, sizeof(*m));
	if (!f)
		return fangs__error_errno(FANGS_EIO, "/proc/self/mountinfo");
	rc = fangs__cgroup_mounts_parse(f, root, m);
	fclose(f);
	return rc;
}

void fangs__cgroup_mounts_free(fangs__cg_mounts *m)
{
	if (!m)
		return;
	free(m->v2);
	for (size_t i = 0; i < FANGS__CG_V1_MAX; i++)
		free(m->v1[i]);
	for (size_t i = 0; m->v1_all && m->v1_all[i]; i++)
		free(m->v1_all[i]);
	free(m->v1_all);
	memset(m, 0, sizeof(*m));
}
