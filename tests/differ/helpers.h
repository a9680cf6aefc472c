/*
 * tests/differ/helpers.h - building events and configs for the differ suite.
 */
#ifndef FANGS_TEST_DIFFER_HELPERS_H
#define FANGS_TEST_DIFFER_HELPERS_H

#include <check.h>

#include "fangs/config.h"
#include "fangs/differ.h"
#include "fangs/errors.h"
#include "fangs/event.h"

/* Every helper appends to `l`, sets id = position + 1000 and, when `script`
 * is non-NULL, an origin "<script>@1.0.0 postinstall: node install.js". */
fangs_event *t_open(fangs_event_list *l, const char *script, const char *path, unsigned flags);
fangs_event *t_exec(fangs_event_list *l, const char *script, const char *path, ...); /* argv, NULL-terminated */
fangs_event *t_connect(fangs_event_list *l, const char *script, const char *addr, uint16_t port, fangs_proto p);
fangs_event *t_dns(fangs_event_list *l, const char *script, const char *qname);
fangs_event *t_sni(fangs_event_list *l, const char *script, const char *sni);

/* Normalizes with `version` as the package version and returns a static buffer. */
const char *t_norm(const char *path, const char *version);

/* Runs one analysis; `base` may be NULL. */
int t_analyze(const fangs_differ *d, const fangs_event_list *run, const fangs_fpset *base, const char *package,
	      const char *version, const fangs_allow_entry *allow, size_t n_allow, fangs_fpset *run_fps,
	      fangs_deviation_list *out);

/* The deviation with this value, or NULL. */
const fangs_deviation *t_find(const fangs_deviation_list *l, const char *value);

TCase *tcase_normalize(void);
TCase *tcase_fingerprint(void);
TCase *tcase_fpset(void);
TCase *tcase_allow(void);
TCase *tcase_analyze(void);

#endif
