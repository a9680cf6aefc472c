/*
 * fangs/config.h - the YAML configuration file.
 *
 *   watched_paths:               # extra places; built-in credential places are always on
 *     - prefix: /opt/secrets/
 *       cred: true
 *   allow:                       # global allowlists
 *     paths: [/usr/share/zoneinfo/]
 *     cidrs: [10.0.0.0/8]
 *     snis: [registry.example]
 *     dns: [example.org]          # suffix match
 *     execs: [/usr/bin/git]
 *   severity:                    # overrides of per-kind defaults
 *     proc_new_exec: high
 *     packages:
 *       left-pad: { net_new_dns: low }
 *   differ:
 *     promote_after_clean_runs: 1
 *     review_threshold: medium   # findings below it do not hold a run for review
 *     builtin_cred_paths: true
 *   storage: { backend: sqlite, sqlite_path: fangs.db, postgres_dsn: "", retention_days: 90 }
 *   registry: https://registry.example/
 *   rules:                       # behaviour rules (fangs/rules.h, docs/rules.md)
 *     files: [/etc/fangs/rules.yaml]
 *     disable: [dns-many-subdomains]
 *     severity: { dropped-binary-exec: medium }
 *     add:
 *       - { id: my-rule, description: ..., severity: high, match: {...} }
 *   proxy:                       # network mode proxy: hosts let through (docs/sandbox.md)
 *     allow_hosts: [dl.example.com, "*.cdn.example.net", "files.example.org:8443"]
 *     builtin_hosts: true          # the shipped list of download hosts
 *     packages:
 *       sharp: [static.example.io] # only while scanning this package
 *   notifier:                    # delivery of findings (docs/notifier.md)
 *     public_url: https://fangs.example/   # links in messages: <public_url>/runs/<id>
 *     ca_file: /etc/fangs/private-ca.pem   # trust a private CA for https targets
 *     max_attempts: 8
 *     retry_base_ms: 30000                 # first retry delay, doubled each time
 *     timeout_ms: 10000
 *
 * Unknown keys and values of the wrong type are errors naming the file, the
 * line and the key.
 */
#ifndef FANGS_CONFIG_H
#define FANGS_CONFIG_H

#include "common.h"

FANGS_BEGIN_DECL

/** A watched path prefix. A prefix starting with "~/" matches under any
 * home directory (/root/, /home/<user>/); one ending in "/" is a directory. */
typedef struct fangs_watched_path {
	char *prefix;
	int cred; /**< reads are credential reads (fs_cred_read, critical) */
} fangs_watched_path;

typedef enum fangs_allow_kind {
	FANGS_ALLOW_PATH = 0, /**< path prefix ("path") */
	FANGS_ALLOW_CIDR = 1, /**< address range ("cidr") */
	FANGS_ALLOW_SNI = 2,  /**< exact TLS server name ("sni") */
	FANGS_ALLOW_DNS = 3,  /**< DNS name suffix ("dns") */
	FANGS_ALLOW_EXEC = 4  /**< exact executable path ("exec") */
} fangs_allow_kind;

typedef struct fangs_allow_entry {
	int64_t id; /**< storage id; 0 for entries from the config file */
	fangs_allow_kind kind;
	char *value;
	char *package; /**< NULL = global */
	char *note;
	int64_t created_ns;
} fangs_allow_entry;

typedef struct fangs_allow_list {
	fangs_allow_entry *items;
	size_t count;
	size_t capacity;
} fangs_allow_list;

typedef struct fangs_severity_override {
	char *kind;    /**< deviation kind ("proc_new_exec") */
	char *package; /**< NULL = every package */
	fangs_severity severity;
} fangs_severity_override;

/** The `orchestrator:` section (fangs-orchestrator). */
typedef struct fangs_orchestrator_config {
	char *listen;   /**< "HOST:PORT"; default "127.0.0.1:8480" */
	char *tls_cert; /**< server certificate (PEM); NULL = plain HTTP */
	char *tls_key;
	char *client_ca;              /**< CA whose certificates clients must present (mTLS) */
	char *revoked;                /**< file of revoked certificate names, one a line */
	unsigned heartbeat_timeout_s; /**< a runner silent this long is evicted; default 90 */
	unsigned watch_interval_s;    /**< registry polling period; default 300 */
	unsigned watch_concurrency;   /**< registry requests at once; default 4 */
	char *registry_token_env;     /**< variable holding a registry token; default FANGS_REGISTRY_TOKEN */
	unsigned prune_interval_s;    /**< retention pruning period; default 3600 */
	/* the registry change feed follower (docs/operating.md) */
	char *follow_url;           /**< feed base (GET <url>/_changes); NULL = off */
	char *follow_since;         /**< start with no stored position: "now" (NULL) or a seq */
	unsigned follow_interval_s; /**< period once caught up; 0 = the default (60) */
	unsigned follow_limit;      /**< changes a request; 0 = the default (100) */
	char **follow_scopes;       /**< "@scope" filters */
	size_t n_follow_scopes;
	char **follow_names; /**< name pattern (fnmatch) filters */
	size_t n_follow_names;
	int follow_install_scripts; /**< only versions with install scripts */
	char *follow_popular;       /**< file of names to follow, one a line */
} fangs_orchestrator_config;

/** The `runner:` section (fangs-runner). */
typedef struct fangs_runner_config {
	char *orchestrator; /**< base URL */
	char *id;           /**< default: the host name */
	unsigned max_scans; /**< scans at once; default 1 */
	char *tls_cert;
	char *tls_key;
	char *ca;
	char *sandbox;       /**< "ns" (default) or "docker" */
	unsigned duration_s; /**< install time limit; 0 = the scan's default */
} fangs_runner_config;

/** Download hosts allowed through the proxy while scanning one package. */
typedef struct fangs_proxy_package_hosts {
	char *package;
	char **hosts; /**< host patterns (fangs/proxy.h) */
	size_t n_hosts;
} fangs_proxy_package_hosts;

typedef struct fangs_config {
	char *source; /**< file it was read from, or NULL for defaults */

	fangs_watched_path *watched_paths;
	size_t n_watched_paths;
	int builtin_cred_paths; /**< include the built-in credential places (default 1) */

	fangs_allow_list allow;

	fangs_severity_override *severity;
	size_t n_severity;

	unsigned promote_after_clean_runs; /**< K >= 1 (default 1) */

	char *storage_backend; /**< "sqlite" (default) or "postgres" */
	char *sqlite_path;     /**< default "fangs.db" */
	char *postgres_dsn;
	unsigned retention_days; /**< default 90 */

	char *registry; /**< NULL: npm's own configuration */

	/* rules: (rule severities go to `severity` as kind "rule:<id>") */
	char **rule_files; /**< rules.files: loaded after the built-in rules */
	size_t n_rule_files;
	char **rules_disabled; /**< rules.disable: rule ids */
	size_t n_rules_disabled;
	size_t n_rules_inline;           /**< rules defined under rules.add (validated on load) */
	char *rules_inline_text;         /**< the configuration's text, compiled again by fangs_rules_new() */
	char *notifier_public_url;       /**< NULL: messages carry no link */
	char *notifier_ca_file;          /**< NULL: the system's CAs */
	unsigned notifier_max_attempts;  /**< 0: the notifier's default */
	unsigned notifier_retry_base_ms; /**< 0: the notifier's default */
	unsigned notifier_timeout_ms;    /**< 0: the notifier's default */
	fangs_orchestrator_config orchestrator;
	fangs_runner_config runner;
	/** differ.review_threshold: a run with a finding at or above it waits for
	 * a person; one whose findings are all below it may join the baseline
	 * (default medium). */
	fangs_severity review_threshold;
	/* proxy: (network mode proxy) */
	char **proxy_allow_hosts; /**< proxy.allow_hosts: host patterns besides the built-in list */
	size_t n_proxy_allow_hosts;
	int proxy_builtin_hosts;                   /**< proxy.builtin_hosts (default 1) */
	fangs_proxy_package_hosts *proxy_packages; /**< proxy.packages */
	size_t n_proxy_packages;
	/** scan.import: after a successful install, require the package in the
	 * same sandbox and record it as the import phase (default 1). */
	int scan_import;
	/** scan.import_timeout_s: the import step's time limit (0 = the
	 * sandbox's default, 15 s). */
	unsigned scan_import_timeout_s;
	/** Which storage keys the file gave (FANGS_CONFIG_SET_* bits): a
	 * front-end tells a chosen storage from the defaults above. */
	unsigned storage_set;
	/** orchestrator.public_reads: the read endpoints of the API (docs/api.md)
	 * answer without a credential (default 0: a reader credential). */
	int orchestrator_public_reads;
} fangs_config;

#define FANGS_CONFIG_SET_BACKEND 0x1u      /**< storage.backend */
#define FANGS_CONFIG_SET_SQLITE_PATH 0x2u  /**< storage.sqlite_path */
#define FANGS_CONFIG_SET_POSTGRES_DSN 0x4u /**< storage.postgres_dsn */

/** A config with every default. */
FANGS_EXTERN(int) fangs_config_new(fangs_config **out);

/** Loads a YAML file over the defaults. FANGS_ECONFIG with "file:line: key: ..." */
FANGS_EXTERN(int) fangs_config_load(fangs_config **out, const char *path);

/** Same, from a buffer; `name` is used in messages. */
FANGS_EXTERN(int) fangs_config_load_string(fangs_config **out, const char *yaml, size_t len, const char *name);

FANGS_EXTERN(void) fangs_config_free(fangs_config *cfg);

/** "path", "cidr", "sni", "dns", "exec". */
FANGS_EXTERN(const char *) fangs_allow_kind_name(fangs_allow_kind kind);
/** Parses a kind name (also accepts the plural YAML keys). 0 or FANGS_EINVAL. */
FANGS_EXTERN(int) fangs_allow_kind_parse(const char *name, fangs_allow_kind *out);

/** Validates an entry's value for its kind (a CIDR parses, a path is absolute...). */
FANGS_EXTERN(int) fangs_allow_entry_validate(fangs_allow_kind kind, const char *value);

/** Appends a copy of the given fields. 0 or FANGS_ENOMEM. */
FANGS_EXTERN(int) fangs_allow_list_add(fangs_allow_list *list, fangs_allow_kind kind, const char *value,
				       const char *package, const char *note);
FANGS_EXTERN(void) fangs_allow_list_free(fangs_allow_list *list);

FANGS_END_DECL

#endif
