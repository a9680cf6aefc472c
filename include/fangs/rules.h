/*
 * fangs/rules.h - behaviour rules: verdicts that need no history.
 *
 * The differ only sees what is new against a baseline, so the first run of a
 * package (a fresh typosquat, a dependency-confusion upload) seeds and says
 * nothing. Rules judge every run on its own: a lifecycle script reading
 * ~/.ssh/id_rsa, resolving an out-of-band collaborator domain or piping curl
 * into a shell is bad whatever the package did before.
 *
 * Rules are data (YAML, docs/rules.md): the built-in set is compiled into the
 * library, and a configuration's `rules:` section can disable a rule, change
 * its severity, load rule files and add rules. A hit is a fangs_deviation of
 * kind "rule:<id>" with the rule's description, so it is stored, listed and
 * notified like any other finding. Evaluation is pure: no SQL, no HTTP.
 */
#ifndef FANGS_RULES_H
#define FANGS_RULES_H

#include "common.h"
#include "config.h"
#include "differ.h"
#include "event.h"

FANGS_BEGIN_DECL

/** A compiled rule set. */
typedef struct fangs_rules fangs_rules;

typedef struct fangs_rules_options {
	unsigned int version;
	/** `rules:` section (files, disable, severity, inline rules), credential
	 * places and severity overrides ("rule:<id>"); NULL = built-ins only.
	 * Borrowed: must outlive the rule set. */
	const fangs_config *config;
	/** 1 = leave the built-in rules out. */
	int no_builtin;
} fangs_rules_options;

#define FANGS_RULES_OPTIONS_VERSION 1
#define FANGS_RULES_OPTIONS_INIT {FANGS_RULES_OPTIONS_VERSION, NULL, 0}

/** Fills `opts` with the defaults of `version`, writing only the fields
 * that version has. 0 or FANGS_EVERSION. */
FANGS_EXTERN(int) fangs_rules_options_init(fangs_rules_options *opts, unsigned int version);
/**
 * Builds a rule set: the built-in rules, then the config's rule files and
 * inline rules in order (a rule whose id is already known replaces it), then
 * the config's disable list. A bad rule is FANGS_ECONFIG with
 * "file:line: rule ID: ...".
 */
FANGS_EXTERN(int) fangs_rules_new(fangs_rules **out, const fangs_rules_options *opts);
FANGS_EXTERN(void) fangs_rules_free(fangs_rules *rules);

/** Adds the rules of a YAML file (same replacement rule). */
FANGS_EXTERN(int) fangs_rules_load_file(fangs_rules *rules, const char *path);
/** Same, from a buffer; `name` is used in messages. */
FANGS_EXTERN(int) fangs_rules_load_string(fangs_rules *rules, const char *yaml, size_t len, const char *name);

/** The text of the built-in rule file compiled into the library. */
FANGS_EXTERN(const char *) fangs_rules_builtin_yaml(void);

/** What a person sees of a rule. Strings are owned by the rule set. */
typedef struct fangs_rule_info {
	const char *id;
	const char *description;
	fangs_severity severity; /**< as defined, before per-package overrides */
	int enabled;
	const char *source; /**< file (or "builtin") and line it came from */
	unsigned line;
	const char *match; /**< the match conditions, one "key: value" per line */
} fangs_rule_info;

FANGS_EXTERN(size_t) fangs_rules_count(const fangs_rules *rules);
/** The i-th rule (definition order). 0 or FANGS_ENOTFOUND. */
FANGS_EXTERN(int) fangs_rules_get(const fangs_rules *rules, size_t i, fangs_rule_info *out);
/** The rule with this id. 0 or FANGS_ENOTFOUND. */
FANGS_EXTERN(int) fangs_rules_find(const fangs_rules *rules, const char *id, fangs_rule_info *out);

/** One run to judge. */
typedef struct fangs_rules_input {
	const char *run_id;
	const char *package;
	const char *version;
	const fangs_event *events; /**< in order of observation, with storage ids when stored */
	size_t n_events;
	/** Host name of the registry the install uses ("registry.example");
	 * NULL = unknown: then every destination of a lifecycle script counts. */
	const char *registry_host;
	/** Processes still alive in the sandbox when the install ended (the
	 * sandbox's count), or -1 when unknown: the events alone decide then. */
	int processes_left;
	/** The sandbox's own endpoints ("addr", "addr:port", "[v6]:port"): its
	 * resolvers, a recording proxy. Connecting to them is not talking to a
	 * destination (see fangs_differ_options.infra). NULL/0 = none. */
	const char *const *infra;
	size_t n_infra;
	/** The addresses the registry host has, as the host running fangs
	 * resolved them ("104.16.0.35", "2606:4700::6810:23"): a connection of
	 * a lifecycle script to one of them is the registry's. A name looked up
	 * inside the sandbox never exempts a connection (the script controls
	 * what it resolves to there). NULL = none: every non-loopback
	 * connection of a script counts. */
	const char *const *registry_addrs;
	size_t n_registry_addrs;
	/** Events the sensor lost in this run (ring buffer full, or past the
	 * run's event budget); 0 = none or unknown. */
	int64_t events_lost;
} fangs_rules_input;

#define FANGS_RULES_INPUT_INIT {NULL, NULL, NULL, NULL, 0, NULL, -1, NULL, 0, NULL, 0, 0}

/**
 * Evaluates every enabled rule over the run and appends one finding per
 * rule and value (kind "rule:<id>", description, severity after overrides,
 * evidence event ids, origin of the first evidence event).
 */
FANGS_EXTERN(int) fangs_rules_evaluate(const fangs_rules *rules, const fangs_rules_input *in,
				       fangs_deviation_list *out);

/** Is this finding kind a rule hit ("rule:...")? */
FANGS_EXTERN(int) fangs_deviation_is_rule(const fangs_deviation *dev);

/** The host part of a registry URL ("https://r.example:8443/x" -> "r.example"),
 * lower-cased, into `out`. 0, or FANGS_EINVAL when it is not a URL. */
FANGS_EXTERN(int) fangs_registry_host(const char *url, char *out, size_t cap);

/**
 * The addresses of a registry host as this machine resolves them
 * (getaddrinfo; a literal address is itself), for
 * fangs_rules_input.registry_addrs. `*out` is a malloc'd array of `*n`
 * malloc'd strings, released with fangs_registry_addrs_free(). 0 (possibly
 * with none), FANGS_ENOTFOUND when the name does not resolve, FANGS_ENOMEM.
 */
FANGS_EXTERN(int) fangs_registry_addrs(const char *host, char ***out, size_t *n);
FANGS_EXTERN(void) fangs_registry_addrs_free(char **addrs, size_t n);

FANGS_END_DECL

#endif
