/*
 * scan/import.c - the import phase: after the install, the package is
 * required in the same sandbox, as the code that depends on it would, so
 * that a payload that runs at require time (not in a lifecycle script) is
 * seen too. Here: the command that does it, and which events belong to it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "core/internal.h"
#include "scan/internal.h"

/* node -e <this> <package>, from the project directory. require() first;
 * an ESM-only package (ERR_REQUIRE_ESM, or exports with no require
 * condition) is import()ed. Errors are caught and printed: a package that
 * cannot be required is no failure of the install. Whatever the package
 * left running (timers, sockets) gets a few seconds to act, then node
 * exits; the sandbox's time limit covers a package that never yields. The
 * first comment is how the scan tells this process from any other node. */
static const char import_script[] = FANGS__IMPORT_MARK
	"const n=process.argv[1],say=m=>process.stdout.write('[fangs] import: '+m+'\\n'),"
	"t=setTimeout(()=>{say('still busy after 3 s: ended');process.exit(0)},3000);t.unref();"
	"const fail=e=>{say(JSON.stringify(n)+' failed: '+String(e&&e.stack||e).split('\\n').slice(0,3)"
	".join(' | '));process.exitCode=1};"
	"const esm=()=>import(n).then(()=>say('import('+JSON.stringify(n)+') done'),fail);"
	"try{require('module').createRequire(process.cwd()+'/')(n);say('require('+JSON.stringify(n)+') done')}"
	"catch(e){e&&/^ERR_(REQUIRE_ESM|PACKAGE_PATH_NOT_EXPORTED)$/.test(e.code)?esm():fail(e)}";

const char *fangs__import_script(void)
{
	return import_script;
}

void fangs__import_argv(const char *argv[6], const char *package)
{
	argv[0] = "node";
	argv[1] = "-e";
	argv[2] = import_script;
	argv[3] = "--"; /* the package is the script's argument, never node's option */
	argv[4] = package;
	argv[5] = NULL;
}

void fangs__import_tracker_free(fangs__import_tracker *t)
{
	free(t->items);
	memset(t, 0, sizeof(*t));
}

static ssize_t find_pid(const fangs__import_tracker *t, int32_t pid)
{
	for (size_t i = 0; i < t->count; i++)
		if (t->items[i] == pid)
			return (ssize_t)i;
	return -1;
}

static int add_pid(fangs__import_tracker *t, int32_t pid)
{
	if (find_pid(t, pid) >= 0)
		return 0;
	if (FANGS_GROW(t))
		return FANGS_ENOMEM;
	t->items[t->count++] = pid;
	return 0;
}

/* The import's process: an exec of `node -e <our script>`, or of what the
 * sandbox runs it under (the docker backend's `timeout ... node -e ...`),
 * with no lifecycle origin (a script that runs the same command stays a
 * script); the first one only. */
static bool is_import_exec(const fangs_event *ev)
{
	if (ev->kind != FANGS_EV_EXEC || ev->origin.package || ev->origin.script)
		return false;
	for (size_t i = 1; i + 1 < ev->argc; i++) {
		const char *node = ev->argv[i - 1], *base;
		if (!node || !ev->argv[i] || !ev->argv[i + 1] || strcmp(ev->argv[i], "-e") != 0 ||
		    strncmp(ev->argv[i + 1], FANGS__IMPORT_MARK, strlen(FANGS__IMPORT_MARK)) != 0)
			continue;
		base = strrchr(node, '/');
		return strcmp(base ? base + 1 : node, "node") == 0;
	}
	return false;
}

fangs_event_phase fangs__import_phase(fangs__import_tracker *t, const fangs_event *ev)
{
	ssize_t at;
	if (!t->started) {
		if (!is_import_exec(ev))
			return FANGS_PHASE_INSTALL;
		t->started = true;
		if (add_pid(t, ev->pid) < 0)
			t->oom = true;
		return FANGS_PHASE_IMPORT;
	}
	if (ev->kind == FANGS_EV_PROC_FORK) {
		/* a child of the import's processes is the import's too */
		if (find_pid(t, ev->ppid) < 0)
			return FANGS_PHASE_INSTALL;
		if (add_pid(t, ev->pid) < 0)
			t->oom = true;
		return FANGS_PHASE_IMPORT;
	}
	if ((at = find_pid(t, ev->pid)) < 0)
		return FANGS_PHASE_INSTALL;
	/* its pid may be used again by what the install left running */
	if (ev->kind == FANGS_EV_PROC_EXIT)
		t->items[at] = t->items[--t->count];
	return FANGS_PHASE_IMPORT;
}

/* The last line the sandbox's import step wrote about how it ended. */
void fangs__import_outcome(const char *output, char *out, size_t cap)
{
	static const char prefix[] = "[fangs] import: ";
	const char *p = output, *last = NULL, *end;
	out[0] = '\0';
	if (!output)
		return;
	while ((p = strstr(p, prefix))) {
		if (p == output || p[-1] == '\n')
			last = p;
		p += sizeof(prefix) - 1;
	}
	if (!last)
		return;
	last += sizeof(prefix) - 1;
	end = strchr(last, '\n');
	snprintf(out, cap, "%.*s", (int)(end ? (size_t)(end - last) : strlen(last)), last);
}
