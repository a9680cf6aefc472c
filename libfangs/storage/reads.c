/*
 * storage/reads.c - pages and aggregates for readers (a UI, the HTTP API):
 * a page of runs, a page of a run's events, a run's process tree. The
 * backends answer one query each; the tree is put together here from the
 * grouped rows and a few events per process.
 */
#include <stdlib.h>
#include <string.h>

#include "core/opts.h"
#include "core/internal.h"
#include "storage/internal.h"

/* A backend older than version 3 has none of these members. */
#define NEED_V3(st, fn) \
	do { \
		NEED(st, fn, "storage handle is NULL"); \
		if (fangs__storage_backend_of(st)->version < 3) \
			return fangs_error_set(FANGS_EUNSUPPORTED, \
					       "fangs_storage_" fn ": the %s backend does not support it", \
					       fangs__storage_backend_of(st)->name); \
	} while (0)

/* The queries are versioned options structs (core/opts.h). */
static const size_t run_query_sizes[] = {0, sizeof(fangs_run_query)};
FANGS__OPTS_SIZES_ASSERT(run_query_sizes, FANGS_RUN_QUERY_VERSION);
static const fangs_run_query run_query_defaults = FANGS_RUN_QUERY_INIT;
static const size_t event_query_sizes[] = {0, sizeof(fangs_event_query)};
FANGS__OPTS_SIZES_ASSERT(event_query_sizes, FANGS_EVENT_QUERY_VERSION);
static const fangs_event_query event_query_defaults = FANGS_EVENT_QUERY_INIT;
static const size_t tree_query_sizes[] = {0, sizeof(fangs_tree_query)};
FANGS__OPTS_SIZES_ASSERT(tree_query_sizes, FANGS_TREE_QUERY_VERSION);
static const fangs_tree_query tree_query_defaults = FANGS_TREE_QUERY_INIT;

int fangs_run_query_init(fangs_run_query *q, unsigned int version)
{
	return fangs__opts_init(q, version, &run_query_defaults, run_query_sizes, FANGS_RUN_QUERY_VERSION,
				"fangs_run_query");
}

int fangs_event_query_init(fangs_event_query *q, unsigned int version)
{
	return fangs__opts_init(q, version, &event_query_defaults, event_query_sizes, FANGS_EVENT_QUERY_VERSION,
				"fangs_event_query");
}

int fangs_tree_query_init(fangs_tree_query *q, unsigned int version)
{
	return fangs__opts_init(q, version, &tree_query_defaults, tree_query_sizes, FANGS_TREE_QUERY_VERSION,
				"fangs_tree_query");
}

/* `q` becomes the caller's query over the defaults in `local`. */
#define QUERY_IN(local, q, kind) \
	do { \
		int qrc_ = fangs__opts_copy(&(local), (q), &kind##_defaults, kind##_sizes, \
					    (unsigned int)(FANGS_ARRAY_SIZE(kind##_sizes) - 1), "fangs_" #kind); \
		if (qrc_ < 0) \
			return qrc_; \
		(q) = &(local); \
	} while (0)

int fangs_storage_run_page(fangs_storage *st, const fangs_run_query *q, fangs_run_list *out)
{
	fangs_run_query local;
	NEED(out, "run_page", "out is NULL");
	QUERY_IN(local, q, run_query);
	NEED(q->state >= -1 && q->state <= FANGS_RUN_TIMED_OUT, "run_page", "state is out of range");
	NEED(q->review >= -1 && q->review <= FANGS_REVIEW_PROMOTED, "run_page", "review is out of range");
	NEED(q->min_severity >= -1 && q->min_severity <= FANGS_SEV_CRITICAL, "run_page",
	     "min_severity is out of range");
	NEED(!q->after_id || strlen(q->after_id) < FANGS_RUN_ID_MAX, "run_page", "after_id is too long");
	NEED_V3(st, "run_page");
	CALL(st, run_page, "run_page", q, out);
}

int fangs_storage_events_page(fangs_storage *st, const fangs_event_query *q, fangs_event_list *out)
{
	fangs_event_query c, local;
	NEED(q && out, "events_page", "query or out is NULL");
	QUERY_IN(local, q, event_query);
	NEED(q->run_id && *q->run_id, "events_page", "run id is NULL or empty");
	NEED(q->kind >= 0 && q->kind <= FANGS_EV_KIND_MAX, "events_page", "kind is out of range");
	NEED(q->pid >= -1 && q->pid <= INT32_MAX, "events_page", "pid is out of range");
	NEED(q->after_id >= 0, "events_page", "after_id is negative");
	NEED_V3(st, "events_page");
	c = *q;
	if (c.text && !*c.text)
		c.text = NULL;
	CALL(st, events_page, "events_page", &c, out);
}

static void origin_clear(fangs_origin *o)
{
	free(o->package);
	free(o->version);
	free(o->script);
	free(o->command);
	memset(o, 0, sizeof(*o));
}

int fangs_storage_deviation_counts(fangs_storage *st, int64_t since_ns, int64_t counts[FANGS_SEV_CRITICAL + 1])
{
	NEED(counts, "deviation_counts", "counts is NULL");
	for (int i = 0; i <= FANGS_SEV_CRITICAL; i++)
		counts[i] = 0;
	NEED_V3(st, "deviation_counts");
	CALL(st, deviation_counts, "deviation_counts", since_ns, counts);
}

void fangs_proc_tree_free(fangs_proc_tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->count; i++) {
		fangs_proc_node *n = &t->items[i];
		free(n->comm);
		free(n->exe);
		free(n->cmdline);
		origin_clear(&n->origin);
		free(n->children);
	}
	free(t->items);
	free(t->roots);
	memset(t, 0, sizeof(*t));
}

/* pid -> node index, open addressing (pids are never 0 in a tree: the
 * sensor drops the idle task). */
typedef struct pidmap {
	int32_t *pid;
	size_t *idx;
	size_t cap;
} pidmap;

static int pidmap_init(pidmap *m, size_t n)
{
	m->cap = 16;
	while (m->cap < 2 * n + 2)
		m->cap *= 2;
	m->pid = calloc(m->cap, sizeof(*m->pid));
	m->idx = calloc(m->cap, sizeof(*m->idx));
	if (!m->pid || !m->idx) {
		free(m->pid);
		free(m->idx);
		m->pid = NULL;
		m->idx = NULL;
		return FANGS_ENOMEM;
	}
	return 0;
}

static size_t pidmap_slot(const pidmap *m, int32_t pid)
{
	size_t h = ((uint32_t)pid * 2654435761u) & (m->cap - 1);
	while (m->pid[h] && m->pid[h] != pid)
		h = (h + 1) & (m->cap - 1);
	return h;
}

/* The node index of pid, or (size_t)-1. */
static size_t pidmap_get(const pidmap *m, int32_t pid)
{
	size_t h = pidmap_slot(m, pid);
	return m->pid[h] == pid && pid ? m->idx[h] : (size_t)-1;
}

static void pidmap_put(pidmap *m, int32_t pid, size_t idx)
{
	size_t h = pidmap_slot(m, pid);
	m->pid[h] = pid;
	m->idx[h] = idx;
}

static void pidmap_free(pidmap *m)
{
	free(m->pid);
	free(m->idx);
}

static int cmp_first_id(const void *a, const void *b)
{
	int64_t x = ((const fangs_proc_node *)a)->first_event_id, y = ((const fangs_proc_node *)b)->first_event_id;
	return x < y ? -1 : x > y;
}

/* Space-joined argv. */
static char *join_argv(const fangs_event *ev)
{
	size_t len = 1;
	char *s, *p;
	for (size_t i = 0; i < ev->argc; i++)
		len += strlen(ev->argv[i] ? ev->argv[i] : "") + 1;
	if (!(s = p = malloc(len)))
		return NULL;
	*p = '\0';
	for (size_t i = 0; i < ev->argc; i++) {
		size_t l = strlen(ev->argv[i] ? ev->argv[i] : "");
		if (i)
			*p++ = ' ';
		memcpy(p, ev->argv[i] ? ev->argv[i] : "", l);
		p += l;
		*p = '\0';
	}
	return s;
}

static int dup_str(char **dst, const char *src)
{
	free(*dst);
	*dst = NULL;
	if (src && !(*dst = strdup(src)))
		return FANGS_ENOMEM;
	return 0;
}

/* Folds the grouped rows into one node a process (in `out`, by first event). */
static int nodes_from_groups(const fangs_proc_group_list *g, fangs_proc_tree *out, int64_t **exec_id, int64_t **exit_id)
{
	pidmap m = {0};
	int rc;
	if ((rc = pidmap_init(&m, g->count)))
		goto out;
	for (size_t i = 0; i < g->count; i++) {
		const fangs_proc_group *r = &g->items[i];
		size_t k = pidmap_get(&m, r->pid);
		fangs_proc_node *n;
		if (k == (size_t)-1) {
			if (FANGS_GROW(out)) {
				rc = FANGS_ENOMEM;
				goto out;
			}
			k = out->count++;
			memset(&out->items[k], 0, sizeof(out->items[k]));
			out->items[k].pid = r->pid;
			out->items[k].ppid = r->ppid;
			out->items[k].first_event_id = r->first_id;
			pidmap_put(&m, r->pid, k);
		}
		n = &out->items[k];
		if (r->kind > 0 && r->kind <= FANGS_EV_KIND_MAX)
			n->counts[r->kind] += r->count;
		n->events += r->count;
		n->deviating += r->deviating;
		n->matched += r->matched;
		/* the parent it had at its first event */
		if (r->first_id < n->first_event_id) {
			n->first_event_id = r->first_id;
			n->ppid = r->ppid;
		}
	}
	qsort(out->items, out->count, sizeof(*out->items), cmp_first_id);
	/* the last exec and exit of each: looked for again once sorted */
	*exec_id = calloc(out->count + 1, sizeof(int64_t));
	*exit_id = calloc(out->count + 1, sizeof(int64_t));
	if (!*exec_id || !*exit_id) {
		rc = FANGS_ENOMEM;
		goto out;
	}
	memset(m.pid, 0, m.cap * sizeof(*m.pid));
	for (size_t i = 0; i < out->count; i++)
		pidmap_put(&m, out->items[i].pid, i);
	for (size_t i = 0; i < g->count; i++) {
		const fangs_proc_group *r = &g->items[i];
		size_t k = pidmap_get(&m, r->pid);
		if (r->kind == FANGS_EV_EXEC)
			(*exec_id)[k] = r->last_id;
		else if (r->kind == FANGS_EV_PROC_EXIT)
			(*exit_id)[k] = r->last_id;
	}
out:
	pidmap_free(&m);
	return rc;
}

/* Fills ppid, comm, origin, start from the first event; exe and command
 * line from the last exec; the exit. Events read by id, a few a node. */
static int nodes_describe(fangs_storage *st, fangs_proc_tree *t, const int64_t *exec_id, const int64_t *exit_id)
{
	int64_t *ids = malloc((3 * t->count + 1) * sizeof(*ids));
	fangs_event_list evs = {0};
	size_t n = 0, j = 0;
	int rc;

	if (!ids)
		return FANGS_ENOMEM;
	for (size_t i = 0; i < t->count; i++) {
		ids[n++] = t->items[i].first_event_id;
		if (exec_id[i])
			ids[n++] = exec_id[i];
		if (exit_id[i])
			ids[n++] = exit_id[i];
	}
	if ((rc = fangs_storage_events_get(st, ids, n, &evs)))
		goto out;
	/* events_get keeps the order asked for and skips only missing ones */
	for (size_t i = 0; i < t->count && !rc; i++) {
		fangs_proc_node *nd = &t->items[i];
		int64_t want[3] = {nd->first_event_id, exec_id[i], exit_id[i]};
		for (int w = 0; w < 3 && !rc; w++) {
			const fangs_event *ev;
			if (!want[w])
				continue;
			if (j >= evs.count || evs.items[j].id != want[w])
				continue; /* deleted meanwhile */
			ev = &evs.items[j++];
			if (w == 0) {
				nd->start_ns = (int64_t)ev->ts_ns;
				if ((rc = dup_str(&nd->comm, ev->comm)) ||
				    (rc = dup_str(&nd->origin.package, ev->origin.package)) ||
				    (rc = dup_str(&nd->origin.version, ev->origin.version)) ||
				    (rc = dup_str(&nd->origin.script, ev->origin.script)) ||
				    (rc = dup_str(&nd->origin.command, ev->origin.command)))
					break;
			} else if (w == 1) {
				if ((rc = dup_str(&nd->exe, ev->path)) || (rc = dup_str(&nd->comm, ev->comm)))
					break;
				free(nd->cmdline);
				if (!(nd->cmdline = join_argv(ev)))
					rc = FANGS_ENOMEM;
				/* an exec says best which script a process runs for */
				if (!rc && ev->origin.package &&
				    ((rc = dup_str(&nd->origin.package, ev->origin.package)) ||
				     (rc = dup_str(&nd->origin.version, ev->origin.version)) ||
				     (rc = dup_str(&nd->origin.script, ev->origin.script)) ||
				     (rc = dup_str(&nd->origin.command, ev->origin.command))))
					break;
			} else {
				nd->has_exit = 1;
				nd->exit_ns = (int64_t)ev->ts_ns;
				nd->exit_code = ev->exit_code;
			}
		}
	}
	if (rc == FANGS_ENOMEM)
		fangs_error_set(rc, "fangs_storage_process_tree: out of memory");
out:
	fangs_event_list_free(&evs);
	free(ids);
	return rc;
}

/* Keeps the nodes with keep[i] set, in order; frees the others. */
static void nodes_keep(fangs_proc_tree *t, const char *keep)
{
	size_t w = 0;
	for (size_t i = 0; i < t->count; i++) {
		if (keep[i]) {
			t->items[w++] = t->items[i];
			continue;
		}
		free(t->items[i].comm);
		free(t->items[i].exe);
		free(t->items[i].cmdline);
		origin_clear(&t->items[i].origin);
		free(t->items[i].children);
	}
	t->count = w;
}

/* Children and roots of what is kept. */
static int link_nodes(fangs_proc_tree *t)
{
	pidmap m = {0};
	int rc;
	if ((rc = pidmap_init(&m, t->count)))
		return rc;
	for (size_t i = 0; i < t->count; i++)
		pidmap_put(&m, t->items[i].pid, i);
	t->roots = calloc(t->count + 1, sizeof(*t->roots));
	if (!t->roots) {
		rc = FANGS_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < t->count; i++) {
		fangs_proc_node *n = &t->items[i];
		size_t p = n->ppid != n->pid ? pidmap_get(&m, n->ppid) : (size_t)-1;
		if (p == (size_t)-1) {
			t->roots[t->n_roots++] = n->pid;
			continue;
		}
		int32_t *c = realloc(t->items[p].children, (t->items[p].n_children + 1) * sizeof(*c));
		if (!c) {
			rc = FANGS_ENOMEM;
			goto out;
		}
		c[t->items[p].n_children++] = n->pid;
		t->items[p].children = c;
	}
out:
	pidmap_free(&m);
	return rc;
}

/* Marks node i and its ancestors not yet kept, when that stays within
 * max: 1 when marked, 0 when it would not fit. */
static int keep_with_ancestors(const fangs_proc_tree *t, const pidmap *m, char *keep, size_t i, size_t *kept,
			       size_t max)
{
	size_t need = 0, k = i;
	for (size_t steps = 0; k != (size_t)-1 && !keep[k] && steps <= t->count; steps++) {
		need++;
		k = t->items[k].ppid != t->items[k].pid ? pidmap_get(m, t->items[k].ppid) : (size_t)-1;
	}
	if (*kept + need > max)
		return 0;
	k = i;
	for (size_t steps = 0; k != (size_t)-1 && !keep[k] && steps <= t->count; steps++) {
		keep[k] = 1;
		(*kept)++;
		k = t->items[k].ppid != t->items[k].pid ? pidmap_get(m, t->items[k].ppid) : (size_t)-1;
	}
	return 1;
}

int fangs_storage_process_tree(fangs_storage *st, const fangs_tree_query *q, fangs_proc_tree *out)
{
	fangs_proc_group_list g = {0};
	fangs_tree_query c;
	int64_t *exec_id = NULL, *exit_id = NULL;
	char *keep = NULL;
	size_t max, kept = 0, w = 0;
	int filtered, rc;
	pidmap m = {0};
	fangs_storage_backend *b;
	fangs_tree_query local;

	NEED(q && out, "process_tree", "query or out is NULL");
	memset(out, 0, sizeof(*out));
	QUERY_IN(local, q, tree_query);
	NEED(q->run_id && *q->run_id, "process_tree", "run id is NULL or empty");
	NEED(q->kind >= 0 && q->kind <= FANGS_EV_KIND_MAX, "process_tree", "kind is out of range");
	NEED_V3(st, "process_tree");
	b = fangs__storage_backend_of(st);
	if (!b->proc_groups)
		return fangs_error_set(FANGS_EUNSUPPORTED,
				       "fangs_storage_process_tree: the %s backend does not support it", b->name);
	c = *q;
	if (c.text && !*c.text)
		c.text = NULL;
	filtered = c.kind || c.text;
	max = c.max_nodes ? c.max_nodes : FANGS_TREE_MAX_NODES;
	if ((rc = b->proc_groups(b, &c, &g)))
		goto out;
	if (nodes_from_groups(&g, out, &exec_id, &exit_id))
		goto oom;
	out->total_processes = (int64_t)out->count;
	/* the matching ones (all without a filter) with their ancestors, in
	 * the order they started, as long as they fit */
	if (!(keep = calloc(out->count + 1, 1)) || pidmap_init(&m, out->count))
		goto oom;
	for (size_t i = 0; i < out->count; i++)
		pidmap_put(&m, out->items[i].pid, i);
	for (size_t i = 0; i < out->count; i++) {
		if (keep[i] || (filtered && !out->items[i].matched))
			continue;
		if (!keep_with_ancestors(out, &m, keep, i, &kept, max)) {
			out->truncated = 1;
			break;
		}
	}
	for (size_t i = 0; i < out->count; i++)
		if (keep[i]) {
			exec_id[w] = exec_id[i];
			exit_id[w] = exit_id[i];
			w++;
		}
	nodes_keep(out, keep);
	if ((rc = nodes_describe(st, out, exec_id, exit_id)))
		goto out;
	if (link_nodes(out))
		goto oom;
	goto out;
oom:
	rc = fangs_error_set(FANGS_ENOMEM, "fangs_storage_process_tree: out of memory");
out:
	if (rc)
		fangs_proc_tree_free(out);
	pidmap_free(&m);
	free(keep);
	free(exec_id);
	free(exit_id);
	free(g.items);
	return rc;
}
