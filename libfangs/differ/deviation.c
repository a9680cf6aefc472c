/*
 * differ/deviation.c - names of fingerprint kinds and actors, deviation
 * lists, default severities.
 */
#include <stdlib.h>
#include <string.h>

#include "differ/internal.h"

static const char *const fp_kind_names[] = {
	"fs_read", "fs_write", "exec", "net", "dns", "sni", "syscall",
};
_Static_assert(FANGS_ARRAY_SIZE(fp_kind_names) == FANGS_FP_KIND_COUNT, "a name per fingerprint kind");
_Static_assert(FANGS_FP_KIND_COUNT == FANGS_FP_SYSCALL + 1, "FANGS_FP_KIND_COUNT counts the fingerprint kinds");

static const char *const actor_names[] = {"npm", "script", "import"};
_Static_assert(FANGS_ARRAY_SIZE(actor_names) == FANGS_ACTOR_MAX + 1, "a name per actor");

const char *fangs_fp_kind_name(fangs_fp_kind kind)
{
	if ((unsigned)kind >= FANGS_FP_KIND_COUNT)
		return "unknown";
	return fp_kind_names[kind];
}

static int name_index(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

int fangs_fp_kind_parse(const char *name, fangs_fp_kind *out)
{
	int i;
	if (!name || !out)
		return fangs_error_set(FANGS_EINVAL, "fingerprint kind: missing value");
	if ((i = name_index(fp_kind_names, FANGS_FP_KIND_COUNT, name)) < 0)
		return fangs_error_set(
			FANGS_EINVAL,
			"unknown fingerprint kind '%s' (expected fs_read, fs_write, exec, net, dns, sni or syscall)",
			name);
	*out = (fangs_fp_kind)i;
	return 0;
}

const char *fangs_actor_name(fangs_actor actor)
{
	if ((unsigned)actor >= FANGS_ARRAY_SIZE(actor_names))
		return "unknown";
	return actor_names[actor];
}

int fangs_actor_parse(const char *name, fangs_actor *out)
{
	int i;
	if (!name || !out)
		return fangs_error_set(FANGS_EINVAL, "actor: missing value");
	if ((i = name_index(actor_names, FANGS_ARRAY_SIZE(actor_names), name)) < 0)
		return fangs_error_set(FANGS_EINVAL, "unknown actor '%s' (expected npm, script or import)", name);
	*out = (fangs_actor)i;
	return 0;
}

/* Reading a secret is the one thing that is bad on its own; new places to
 * talk to come next; new local behaviour is worth a look but often benign;
 * what a release ships is content, shown but not behaviour. */
static const struct {
	const char *kind;
	fangs_severity severity;
} default_severities[] = {
	{"fs_cred_read", FANGS_SEV_CRITICAL},    {"net_new_destination", FANGS_SEV_HIGH},
	{"net_new_https_host", FANGS_SEV_HIGH},  {"proc_new_syscall", FANGS_SEV_HIGH},
	{"proc_new_exec", FANGS_SEV_MEDIUM},     {"net_new_dns", FANGS_SEV_MEDIUM},
	{"fs_new_path_write", FANGS_SEV_MEDIUM}, {"fs_new_path_read", FANGS_SEV_LOW},
	{"content_changed", FANGS_SEV_INFO},
};

fangs_severity fangs_deviation_kind_default_severity(const char *kind)
{
	if (!kind)
		return FANGS_SEV_MEDIUM;
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(default_severities); i++)
		if (strcmp(kind, default_severities[i].kind) == 0)
			return default_severities[i].severity;
	return FANGS_SEV_MEDIUM;
}

void fangs_deviation_clear(fangs_deviation *dev)
{
	if (!dev)
		return;
	free(dev->run_id);
	free(dev->package);
	free(dev->kind);
	free(dev->value);
	free(dev->description);
	free(dev->origin.package);
	free(dev->origin.version);
	free(dev->origin.script);
	free(dev->origin.command);
	free(dev->command);
	free(dev->evidence);
	memset(dev, 0, sizeof(*dev));
}

fangs_deviation *fangs_deviation_list_push(fangs_deviation_list *list)
{
	fangs_deviation *dev;
	if (!list) {
		fangs_error_set(FANGS_EINVAL, "deviation list is NULL");
		return NULL;
	}
	if (FANGS_GROW(list))
		return NULL;
	dev = &list->items[list->count++];
	memset(dev, 0, sizeof(*dev));
	return dev;
}

void fangs_deviation_list_free(fangs_deviation_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		fangs_deviation_clear(&list->items[i]);
	free(list->items);
	list->items = NULL;
	list->count = list->capacity = 0;
}

fangs_severity fangs_deviation_list_max_severity(const fangs_deviation_list *list)
{
	fangs_severity max = FANGS_SEV_INFO;
	if (!list)
		return max;
	for (size_t i = 0; i < list->count; i++)
		if (list->items[i].severity > max)
			max = list->items[i].severity;
	return max;
}
