/*
 * rules/internal.h - compiled rules (not installed).
 */
#ifndef FANGS_RULES_INTERNAL_H
#define FANGS_RULES_INTERNAL_H

#include <regex.h>
#include <stdbool.h>
#include <yaml.h>

#include "core/internal.h"
#include "fangs/rules.h"

typedef struct fangs__strv {
	char **items;
	size_t count;
	size_t capacity;
} fangs__strv;

typedef struct fangs__regexv {
	regex_t *items;
	size_t count;
	size_t capacity;
} fangs__regexv;

#define FANGS__ORIGIN_ENV_FORGED 1  /* names another package */
#define FANGS__ORIGIN_ENV_CLEARED 2 /* names none */

/* One rule: every condition that is set must hold (lists: any item). */
typedef struct fangs__rule {
	char *id;
	char *description;
	char *source;
	unsigned line;
	fangs_severity severity;
	int enabled;
	char *match_text; /* for people: "key: value" lines */

	uint32_t kinds;             /* bit (1 << fangs_event_kind); 0 = any kind */
	int actor;                  /* -1 any, else fangs_actor */
	unsigned open;              /* FANGS_OPEN_* bits that must be present; 0 = any */
	fangs__strv path, path_not; /* globs; "~/" = any home (expanded) */
	fangs__strv exe, comm;      /* globs on the binary (exec) / comm */
	fangs__strv parent_comm, ancestor_comm;
	fangs__regexv argv, argv_not; /* ERE on the argv joined by spaces */
	fangs__strv host, host_not;   /* "x" = x and below, "*.x" = below only */
	uint16_t *ports;
	size_t n_ports;
	int cred_path;          /* 1 = must be a credential place */
	int not_registry;       /* 1 = not the registry (nor loopback DNS, nor a download host's name) */
	int download_host;      /* 1 = a name of a well-known download host (the proxy's list + config) */
	int project_env;        /* 1 = the project's own .env at its root, -1 = anything but; 0 = any */
	int parent_is_script;   /* 1 = parent is a lifecycle script's own process */
	int proc_environ_other; /* 1 = /proc/<other pid>/environ */
	int exec_written;       /* 1 = exec of a file a script wrote in this run */
	int exec_fileless;      /* 1 = exec of a file with no name (memfd, /proc/self/fd/N) */
	int alive_after_install;
	int origin_env; /* FANGS__ORIGIN_ENV_*: the environment contradicts the kernel's mark */
	unsigned label_min_len;
	double label_min_entropy;
	double label_min_digits;
	unsigned subdomains_min;
	fangs__strv op, detail; /* globs on a syscall event's op and detail */
	int events_lost;        /* run condition: the sensor lost events */
} fangs__rule;

typedef struct fangs__rule_list {
	fangs__rule *items;
	size_t count;
	size_t capacity;
} fangs__rule_list;

void fangs__rule_clear(fangs__rule *r);
void fangs__rule_list_free(fangs__rule_list *l);
/* Moves `r` into `l`, replacing a rule with the same id. */
int fangs__rule_list_put(fangs__rule_list *l, fangs__rule *r);

/* Parses a sequence node of rule mappings from a libyaml document. Errors
 * are FANGS_ECONFIG "file:line: rule ID: ...". */
int fangs__rules_parse_seq(const char *file, yaml_document_t *doc, yaml_node_t *seq, fangs__rule_list *out);
/* A whole rule file: a mapping with `rules:` or a bare sequence. */
int fangs__rules_parse_text(const char *file, const char *yaml, size_t len, fangs__rule_list *out);

/* The `rules: add:` list of a configuration's text (nothing when absent). */
int fangs__rules_parse_config(const char *file, const char *yaml, size_t len, fangs__rule_list *out);

/* Glob with "~/" meaning any home directory; `*` also crosses '/'. */
bool fangs__rule_glob(const char *pattern, const char *s);
/* Host pattern: "x" = x or a name below it; "*.x" = below only. */
bool fangs__rule_host(const char *pattern, const char *host);
/* Shannon entropy (bits per character) of s[0..n). */
double fangs__entropy(const char *s, size_t n);

struct fangs_rules {
	const fangs_config *config;
	fangs__rule_list rules;
};

#endif
