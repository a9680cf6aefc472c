/*
 * tools/fangs/cmd_review.c - `fangs review`: what a lockfile change adds or
 * bumps, each dependency with install scripts judged against its own
 * baseline, and the approvals it may write.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "output.h"
#include "project_scan.h"

/* Runs argv, its standard output into *out (at most `max` bytes). Returns
 * its exit status, or -1. */
static int capture(char *const argv[], char **out, size_t *len, size_t max)
{
	int fds[2], status;
	pid_t pid;
	size_t cap = 65536;
	*out = NULL;
	*len = 0;
	if (pipe(fds) < 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	char *buf = malloc(cap);
	for (;;) {
		if (!buf)
			break;
		if (*len + 1 >= cap) {
			if (cap >= max)
				break;
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fds[0], buf + *len, cap - *len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	close(fds[0]);
	if (waitpid(pid, &status, 0) < 0 || !buf) {
		free(buf);
		return -1;
	}
	buf[*len] = '\0';
	*out = buf;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The old lockfile: a file, else REF:path in DIR's git repository. */
static int load_base(const char *base, const char *dir, const char *lockpath, fangs_lockfile *out)
{
	struct stat sb;
	char *prefix = NULL, *text = NULL, spec[PATH_MAX + 256], what[PATH_MAX + 300];
	size_t len = 0;
	int rc;
	if (stat(base, &sb) == 0 && S_ISREG(sb.st_mode))
		return fangs_lockfile_load(out, base);
	if (base[0] == '-')
		return fangs_error_set(FANGS_EINVAL, "--base %s: neither a lockfile nor a git revision", base);
	char *const top[] = {"git", "-C", (char *)dir, "rev-parse", "--show-prefix", NULL};
	if (capture(top, &prefix, &len, 1 << 16) != 0) {
		free(prefix);
		return fangs_error_set(
			FANGS_ENOTFOUND,
			"--base %s: not a file, and %s is not in a git repository (git rev-parse failed)", base, dir);
	}
	prefix[strcspn(prefix, "\n")] = '\0';
	snprintf(spec, sizeof(spec), "%s:%s%s", base, prefix, strrchr(lockpath, '/') + 1);
	free(prefix);
	char *const show[] = {"git", "-C", (char *)dir, "show", "--end-of-options", spec, NULL};
	if (capture(show, &text, &len, 256u << 20) != 0) {
		free(text);
		return fangs_error_set(FANGS_ENOTFOUND,
				       "--base %s: git show %s failed (no such revision, or no lockfile "
				       "there)",
				       base, spec);
	}
	snprintf(what, sizeof(what), "%s (git show)", spec);
	rc = fangs_lockfile_parse(out, text, len, what);
	free(text);
	return rc;
}

static const fangs_scan_dependency *find_dep(const fangs_project_scan_result *r, const char *name, const char *version)
{
	for (size_t i = 0; r && i < r->n_deps; i++)
		if (!strcmp(r->deps[i].name, name) && !strcmp(r->deps[i].version, version))
			return &r->deps[i];
	return NULL;
}

typedef struct spec_list {
	char **items;
	size_t count, cap;
} spec_list;

static int spec_add(spec_list *l, const char *name, const char *version)
{
	char *s;
	for (size_t i = 0; i < l->count; i++) {
		size_t n = strlen(name);
		if (!strncmp(l->items[i], name, n) && l->items[i][n] == '@' && !strcmp(l->items[i] + n + 1, version))
			return 0;
	}
	if (l->count == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		char **ni = realloc(l->items, nc * sizeof(*ni));
		if (!ni)
			return -1;
		l->items = ni;
		l->cap = nc;
	}
	if (asprintf(&s, "%s@%s", name, version) < 0)
		return -1;
	l->items[l->count++] = s;
	return 0;
}

static void spec_free(spec_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i]);
	free(l->items);
}

CLI_HANDLER(cmd_review)
{
	const char *dir = a->npos ? a->pos[0] : ".";
	const char *base = cli_get(a, "base");
	char lockpath[PATH_MAX];
	fangs_lockfile old_lf = {0}, new_lf = {0};
	fangs_lock_diff diff = {0};
	fangs_project_scan_result r;
	fangs_project_scan_options po = FANGS_PROJECT_SCAN_OPTIONS_INIT;
	fangs_severity threshold = FANGS_SEV_LOW;
	spec_list judge = {0}, unapproved = {0}, approve = {0}, refused = {0};
	int *unapp = NULL; /* per new-lockfile package: 1 = scripts not approved */
	int rc, exit_code = CLI_EXIT_OK, scanned = 0, fail = 0, use_report;
	scanner sc = {0};
	report_format fmt;

	memset(&r, 0, sizeof(r));
	if ((use_report = report_wanted(ctx, a, &fmt)) < 0)
		return CLI_EXIT_USAGE;
	if (cli_get(a, "approve-threshold"))
		fangs_severity_parse(cli_get(a, "approve-threshold"), &threshold);
	if ((rc = fangs_lockfile_find_in(dir, lockpath, sizeof(lockpath))) ||
	    (rc = fangs_lockfile_load(&new_lf, lockpath))) {
		exit_code = project_error(dir, rc, 1);
		goto out;
	}
	if ((rc = load_base(base, dir, lockpath, &old_lf))) {
		exit_code = project_error("review", rc, 1);
		goto out;
	}
	if ((rc = fangs_lockfile_diff(&old_lf, &new_lf, &diff))) {
		exit_code = cli_fail("comparing the lockfiles", rc);
		goto out;
	}
	/* what runs: the added and changed releases with install scripts, and
	 * every release whose scripts the project has not approved yet */
	if (!(unapp = calloc(new_lf.count + 1, sizeof(*unapp)))) {
		exit_code = cli_fail("review", FANGS_ENOMEM);
		goto out;
	}
	for (size_t i = 0; i < diff.count; i++)
		if (diff.items[i].kind != FANGS_LOCK_REMOVED && diff.items[i].has_install_script &&
		    spec_add(&judge, diff.items[i].name, diff.items[i].new_version)) {
			exit_code = cli_fail("review", FANGS_ENOMEM);
			goto out;
		}
	for (size_t i = 0; i < new_lf.count; i++) {
		const fangs_lock_package *p = &new_lf.packages[i];
		int ok;
		if (p->link || !p->has_install_script)
			continue;
		if ((ok = fangs_project_script_approved(dir, p->name, p->version)) < 0) {
			exit_code = project_error(dir, ok, 1);
			goto out;
		}
		if (!ok) {
			unapp[i] = 1;
			if (spec_add(&judge, p->name, p->version) || spec_add(&unapproved, p->name, p->version)) {
				exit_code = cli_fail("review", FANGS_ENOMEM);
				goto out;
			}
		}
	}
	if (judge.count) {
		if ((rc = scanner_open(ctx, a, &sc, dir))) {
			exit_code = rc;
			goto out;
		}
		po.dir = dir;
		po.judge = (const char *const *)judge.items;
		po.n_judge = judge.count;
		po.judged_scripts_only = 1;
		if ((rc = fangs_scan_project(&sc.so, &po, &r))) {
			exit_code = project_error(dir, rc, 0);
			goto out;
		}
		scanned = 1;
	}
	for (size_t i = 0; i < r.n_deps; i++)
		fail |= dep_has_findings(&r.deps[i], sc.fail_on);

	/* approvals: only what ran and left nothing at or above the threshold */
	if (cli_has(a, "approve-clean")) {
		for (size_t i = 0; i < unapproved.count; i++) {
			const char *spec = unapproved.items[i], *at = strrchr(spec + 1, '@');
			char name[256];
			snprintf(name, sizeof(name), "%.*s", (int)(at - spec), spec);
			const fangs_scan_dependency *d = find_dep(&r, name, at + 1);
			/* an install cut short may have cut its scripts short too */
			int clean = d && d->ran && !dep_has_findings(d, threshold) &&
				    r.install.state == FANGS_RUN_SUCCEEDED;
			if (spec_add(clean ? &approve : &refused, name, at + 1)) {
				exit_code = cli_fail("review", FANGS_ENOMEM);
				goto out;
			}
		}
		if (approve.count &&
		    (rc = fangs_project_approve(dir, (const char *const *)approve.items, approve.count, NULL))) {
			exit_code = cli_fail("writing the approvals", rc);
			goto out;
		}
	}

	if (use_report) {
		report rp;
		report_start(&rp, "review", dir, lockpath, sc.st, sc.fail_on);
		for (size_t i = 0; i < diff.count; i++) {
			const fangs_lock_change *c = &diff.items[i];
			if (c->kind == FANGS_LOCK_REMOVED)
				continue;
			int ok = c->has_install_script ? !unapp[c->index] : -1;
			report_dep(&rp, sc.st, scanned ? &r : NULL, &new_lf, find_dep(&r, c->name, c->new_version),
				   c->name, c->new_version, c->kind == FANGS_LOCK_CHANGED ? c->old_version : NULL,
				   c->index, c->has_install_script, ok);
		}
		for (size_t i = 0; i < new_lf.count; i++) {
			const fangs_lock_package *p = &new_lf.packages[i];
			int listed = 0;
			if (!unapp[i])
				continue;
			for (size_t k = 0; k < rp.count && !listed; k++)
				listed = !strcmp(rp.items[k].name, p->name) && !strcmp(rp.items[k].version, p->version);
			if (!listed)
				report_dep(&rp, sc.st, scanned ? &r : NULL, &new_lf, find_dep(&r, p->name, p->version),
					   p->name, p->version, NULL, i, 1, 0);
		}
		if (report_emit(cli_get(a, "output"), fmt, &rp))
			exit_code = CLI_EXIT_ERROR;
		report_clear(&rp);
	} else if (ctx->json) {
		json_object *o = json_object_new_object(), *changes = json_object_new_array(),
			    *unapp_arr = json_object_new_array();
		json_object_object_add(o, "base", json_object_new_string(old_lf.file));
		json_object_object_add(o, "lockfile", json_object_new_string(lockpath));
		if (scanned) {
			json_object_object_add(o, "project", json_project(&r));
			json_object_object_add(o, "install", json_install(&r));
		}
		for (size_t i = 0; i < diff.count; i++) {
			const fangs_lock_change *c = &diff.items[i];
			json_object *co;
			if (c->kind == FANGS_LOCK_REMOVED) {
				co = json_object_new_object();
				json_object_object_add(co, "name", json_object_new_string(c->name));
			} else {
				co = json_dep(sc.st, &new_lf, find_dep(&r, c->name, c->new_version), c->name,
					      c->new_version, c->index, c->has_install_script);
			}
			json_object_object_add(co, "change",
					       json_object_new_string(fangs_lock_change_kind_name(c->kind)));
			json_object_object_add(co, "old_version", json_str_or_null(c->old_version));
			json_object_object_add(co, "new_version", json_str_or_null(c->new_version));
			json_object_array_add(changes, co);
		}
		json_object_object_add(o, "changes", changes);
		for (size_t i = 0; i < new_lf.count; i++) {
			if (!unapp[i] || find_dep(&r, new_lf.packages[i].name, new_lf.packages[i].version) == NULL)
				continue;
			/* each release once */
			int first = 1;
			for (size_t k = 0; k < i && first; k++)
				first = !(unapp[k] && !strcmp(new_lf.packages[k].name, new_lf.packages[i].name) &&
					  !strcmp(new_lf.packages[k].version, new_lf.packages[i].version));
			if (first)
				json_object_array_add(
					unapp_arr,
					json_dep(sc.st, &new_lf,
						 find_dep(&r, new_lf.packages[i].name, new_lf.packages[i].version),
						 new_lf.packages[i].name, new_lf.packages[i].version, i, 1));
		}
		json_object_object_add(o, "unapproved", unapp_arr);
		if (cli_has(a, "approve-clean")) {
			json_object *ap = json_object_new_array(), *no = json_object_new_array();
			for (size_t i = 0; i < approve.count; i++)
				json_object_array_add(ap, json_object_new_string(approve.items[i]));
			for (size_t i = 0; i < refused.count; i++)
				json_object_array_add(no, json_object_new_string(refused.items[i]));
			json_object_object_add(o, "approved", ap);
			json_object_object_add(o, "not_approved", no);
		}
		json_print(o);
	} else {
		size_t n_changed = 0;
		printf("review of %s against %s: %zu change%s\n", tx(lockpath), tx(old_lf.file), diff.count,
		       diff.count == 1 ? "" : "s");
		if (scanned)
			print_install(&r, dir);
		for (size_t i = 0; i < diff.count; i++) {
			const fangs_lock_change *c = &diff.items[i];
			if (c->kind == FANGS_LOCK_REMOVED) {
				printf("removed %s@%s\n", tx(c->name), tx(c->old_version));
				continue;
			}
			n_changed++;
			if (c->kind == FANGS_LOCK_ADDED)
				printf("added:\n");
			else
				printf("changed (was %s):\n", tx(c->old_version));
			print_dep(sc.st, &new_lf, find_dep(&r, c->name, c->new_version), c->name, c->new_version,
				  c->index, c->has_install_script, sc.fail_on);
		}
		if (unapproved.count) {
			printf("install scripts not approved yet (allowScripts), and what they did in the sandbox:\n");
			for (size_t i = 0; i < new_lf.count; i++) {
				const fangs_lock_package *p = &new_lf.packages[i];
				if (!unapp[i])
					continue;
				int first = 1;
				for (size_t k = 0; k < i && first; k++)
					first = !(unapp[k] && !strcmp(new_lf.packages[k].name, p->name) &&
						  !strcmp(new_lf.packages[k].version, p->version));
				if (first)
					print_dep(sc.st, &new_lf, find_dep(&r, p->name, p->version), p->name,
						  p->version, i, 1, sc.fail_on);
			}
		}
		if (cli_has(a, "approve-clean")) {
			for (size_t i = 0; i < approve.count; i++)
				printf("approved %s (allowScripts in %s/package.json)\n", tx(approve.items[i]),
				       tx(dir));
			for (size_t i = 0; i < refused.count; i++)
				printf("not approved %s: a finding at or above %s, or its scripts did not run (to the "
				       "end)\n",
				       tx(refused.items[i]), fangs_severity_name(threshold));
		}
		printf("verdict: %zu added or changed, %s\n", n_changed,
		       fail ? "findings at or above --fail-on (fails)" : "nothing at or above --fail-on");
	}
	for (size_t i = 0; i < r.n_deps; i++)
		if (r.deps[i].ran && r.deps[i].analysis.deviations.count)
			cli_notify_run(ctx, sc.st, r.deps[i].run_id);
	if (exit_code == CLI_EXIT_OK)
		exit_code = scanned ? install_exit(&r, fail) : CLI_EXIT_OK;
out:
	free(unapp);
	spec_free(&judge);
	spec_free(&unapproved);
	spec_free(&approve);
	spec_free(&refused);
	fangs_project_scan_result_clear(&r);
	fangs_lock_diff_clear(&diff);
	fangs_lockfile_clear(&old_lf);
	fangs_lockfile_clear(&new_lf);
	if (sc.st || sc.sensor)
		scanner_close(&sc);
	return exit_code;
}
