/*
 * fangs/findings.h - what a run did, one finding per behaviour.
 *
 * A run's stored records are deviations from the baseline (the differ) and
 * rule hits (kind "rule:<id>"), one per fingerprint or per rule and value.
 * One behaviour often makes several of them: a postinstall reading
 * ~/.npmrc is an fs_cred_read deviation and a rule:cred-read-by-script hit
 * on the same event; an exfiltration over DNS makes one net_new_dns per
 * subdomain. Grouping turns them into findings, one per behaviour, which
 * every front-end (the CLI, --json, the notifier) counts and shows:
 *  - records that cite the same evidence events are one finding, and so are
 *    a rule hit and a record with the same value and actor (the differ
 *    keeps a bounded number of evidence events per fingerprint, so the two
 *    may cite different events of the same fingerprint);
 *  - network records (DNS names, TLS server names, hosts asked of the
 *    sandbox's proxy, connections) are one finding per registrable domain
 *    ("evil.example", "evil.co.uk"; Public Suffix List), listing the names;
 *    a connection joins the domain whose TLS server name or proxy request
 *    went to its address (when one domain only went there), else it is one
 *    finding per address (its ports listed);
 *  - content_changed summaries (what a release ships) stay on their own.
 * A finding carries every label of its records (deviation kinds and rule
 * ids) and the highest severity among them. Grouping is pure: the records
 * are not changed, and the raw records stay what storage keeps.
 */
#ifndef FANGS_FINDINGS_H
#define FANGS_FINDINGS_H

#include "common.h"
#include "differ.h"
#include "event.h"
#include "storage.h"

FANGS_BEGIN_DECL

/** Where Debian's `publicsuffix` package puts the Public Suffix List. */
#define FANGS_PUBLIC_SUFFIX_LIST "/usr/share/publicsuffix/public_suffix_list.dat"

/** One behaviour. Strings and arrays are owned by the list. */
typedef struct fangs_finding {
	fangs_severity severity; /**< the highest of its records */
	char *kind;              /**< its main record's kind (the most severe; a rule hit before a deviation) */
	char **labels;           /**< every kind among its records, each once, the main one first */
	size_t n_labels;
	/** What it is about: the registrable domain of a network finding, the
	 * address of connections with no name, else the main record's value;
	 * the one value when its records have only one. */
	char *value;
	char *domain; /**< registrable domain of a network finding grouped by name; else NULL */
	int network;  /**< 1 when it groups network records (names, addresses), by domain or address */
	/** The distinct values of its records, each once; of a network
	 * finding, its names and addresses only (not a rule's summary such as
	 * "evil.example (21 names)"). */
	char **values;
	size_t n_values;
	fangs_actor actor;   /**< of the main record */
	char *description;   /**< of its first rule hit (what the rule means), else of the main record; may be NULL */
	fangs_origin origin; /**< of the main record */
	char *command;       /**< of the main record; may be NULL */
	/** Its records: indices into the grouped list, the main record first,
	 * then by severity (highest first) and list order. */
	size_t *records;
	size_t n_records;
	int64_t *record_ids; /**< the storage ids of the records, in the same order (0 when not stored) */
	size_t n_rule_hits;  /**< how many of its records are rule hits (the rest are deviations) */
	int64_t *evidence;   /**< the records' evidence event ids, each once, ascending */
	size_t n_evidence;
} fangs_finding;

typedef struct fangs_finding_list {
	fangs_finding *items; /**< highest severity first, then in the order of their first record */
	size_t count;
	size_t capacity;
	size_t n_deviations; /**< raw count: deviations from the baseline grouped */
	size_t n_rule_hits;  /**< raw count: rule hits grouped */
} fangs_finding_list;

typedef struct fangs_findings_options {
	unsigned int version;
	/** The Public Suffix List file; NULL = FANGS_PUBLIC_SUFFIX_LIST. When
	 * it cannot be read (or "" is given) a name's registrable domain is its
	 * last two labels, and a warning is logged once. */
	const char *suffix_list;
	/** The records' evidence events (with their ids), as far as known:
	 * they tell which rule hits are network ones and tie a connection's
	 * address to a TLS or proxy host name. NULL = judged by kinds and
	 * values only. Borrowed for the call. */
	const fangs_event *events;
	size_t n_events;
} fangs_findings_options;

#define FANGS_FINDINGS_OPTIONS_VERSION 1
#define FANGS_FINDINGS_OPTIONS_INIT {FANGS_FINDINGS_OPTIONS_VERSION, NULL, NULL, 0}

/** Fills `opts` with the defaults of `version`, writing only the fields
 * that version has. 0 or FANGS_EVERSION. */
FANGS_EXTERN(int) fangs_findings_options_init(fangs_findings_options *opts, unsigned int version);
/**
 * Groups a run's records (deviations and rule hits, as fangs_analysis or
 * fangs_storage_deviations_list give them, in any order) into findings:
 * `out` is filled (what it held is not freed; release it with
 * fangs_finding_list_free). The records must outlive nothing: the findings
 * copy what they show. `opts` NULL = defaults. 0, FANGS_EINVAL,
 * FANGS_EVERSION or FANGS_ENOMEM.
 */
FANGS_EXTERN(int) fangs_findings_group(const fangs_deviation_list *records, const fangs_findings_options *opts,
				       fangs_finding_list *out);

/**
 * fangs_findings_group() with the records' evidence events read from
 * storage (opts->events is ignored). A record whose events were pruned is
 * grouped by its kind and value.
 */
FANGS_EXTERN(int) fangs_findings_load(fangs_storage *st, const fangs_deviation_list *records,
				      const fangs_findings_options *opts, fangs_finding_list *out);

FANGS_EXTERN(void) fangs_finding_list_free(fangs_finding_list *list);

/** The index in `list` of the finding holding record `index`; -1 when none. */
FANGS_EXTERN(long) fangs_finding_list_find(const fangs_finding_list *list, size_t index);

/**
 * The registrable domain of a host name: the public suffix it ends with
 * plus one label ("a.b.evil.co.uk" -> "evil.co.uk", "x.evil.invalid" ->
 * "evil.invalid"; a name that is itself a public suffix is returned
 * whole). Lower-cased, no trailing dot. `suffix_list` as in
 * fangs_findings_options. 0, or FANGS_EINVAL for an empty name, an
 * address, or a `cap` too small.
 */
FANGS_EXTERN(int) fangs_registrable_domain(const char *name, const char *suffix_list, char *out, size_t cap);

FANGS_END_DECL

#endif
