/*
 * tools/common/settings.h - how the daemons pick each setting: a flag wins
 * over the environment, which wins over the configuration file.
 */
#ifndef FANGS_TOOLS_SETTINGS_H
#define FANGS_TOOLS_SETTINGS_H

#include <stdint.h>

/* The flag's value, else the (non-empty) environment variable `env` (may be
 * NULL), else the configuration's value (may be NULL). */
const char *setting(const char *flag, const char *env, const char *cfg);

/* A positive whole number given to option `name`; exits with status 2
 * after saying so otherwise. */
int64_t positive_arg(const char *s, const char *name);

struct fangs_config;

/* The configuration of --config FILE, else of $FANGS_CONFIG, else the
 * defaults; 0, or -1 after logging why. */
int load_config(const char *flag, struct fangs_config **out);

#endif
