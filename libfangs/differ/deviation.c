/*
 * differ/deviation.c - lifetime of deviations and their lists.
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "fangs/differ.h"

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
	fangs_deviation *d;
	if (!list || FANGS_GROW(list))
		return NULL;
	d = &list->items[list->count++];
	memset(d, 0, sizeof(*d));
	return d;
}

void fangs_deviation_list_free(fangs_deviation_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		fangs_deviation_clear(&list->items[i]);
	free(list->items);
	memset(list, 0, sizeof(*list));
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
