/*
 * tools/common/settings.c - flags, environment, configuration.
 */
#include <stdlib.h>

#include <fangs/fangs.h>

#include "log.h"
#include "settings.h"

const char *setting(const char *flag, const char *env, const char *cfg)
{
	const char *e = env ? getenv(env) : NULL;
	return flag ? flag : (e && *e) ? e : cfg;
}

int64_t positive_arg(const char *s, const char *name)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (!*s || *end || v <= 0) {
		log_error("%s: expected a positive whole number", name);
		exit(2);
	}
	return v;
}

int load_config(const char *flag, fangs_config **out)
{
	const char *path = setting(flag, "FANGS_CONFIG", NULL);
	if (path ? fangs_config_load(out, path) : fangs_config_new(out)) {
		log_error("%s", fangs_error_last());
		return -1;
	}
	return 0;
}
