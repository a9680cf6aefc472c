/*
 * tools/fangs/cmdtab.c - the `fangs` command table and everything made from
 * it: parsing, --help, usage errors, manual pages (`fangs __man DIR`) and
 * shell completions (`fangs __complete bash|zsh|fish`).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmdtab.h"
#include "commands.h"
#include "fangs-build-config.h"
#include "output.h"
#include "report.h"

/* ---- the table ------------------------------------------------------------ */

#define END {NULL, 0, CLI_FLAG, NULL, NULL, 0, NULL}
#define SEVERITIES "info|low|medium|high|critical"

static const cli_opt global_opts[] = {
	{"storage", 0, CLI_CHOICE, "BACKEND", "sqlite|postgres", 0,
	 "storage backend (default: implied by --sqlite-path or --postgres-dsn, else the environment, else the "
	 "configuration, else sqlite)"},
	{"sqlite-path", 0, CLI_FILE, "PATH", NULL, 0,
	 "SQLite database file (implies --storage sqlite; default: $FANGS_DB, storage.sqlite_path, "
	 "$XDG_STATE_HOME/fangs/fangs.db)"},
	{"postgres-dsn", 0, CLI_STR, "DSN", NULL, 0, "PostgreSQL connection string (implies --storage postgres)"},
	{"config", 0, CLI_FILE, "FILE", NULL, 0, "YAML configuration (default: $FANGS_CONFIG)"},
	{"json", 0, CLI_FLAG, NULL, NULL, 0, "machine-readable output (docs/cli.md)"},
	{"verbose", 'v', CLI_FLAG, NULL, NULL, 0, "log more to stderr (twice: debug)"},
	{"help", 'h', CLI_FLAG, NULL, NULL, 0, "print the help of the command it follows and exit"},
	END,
};

static const cli_opt o_events_import[] = {
	{"package", 0, CLI_PACKAGE, "P", NULL, CLI_OPT_REQUIRED, "the package the recording is of"},
	{"version", 0, CLI_STR, "V", NULL, CLI_OPT_REQUIRED, "its version"},
	{"fail-on", 0, CLI_SEVERITY, "SEVERITY", SEVERITIES, 0,
	 "exit 3 when a finding is at or above SEVERITY (default high)"},
	{"format", 0, CLI_CHOICE, "FORMAT", REPORT_FORMATS, 0,
	 "output format: human (default), json (the report; --json keeps the per-run JSON), sarif, gitlab, junit, "
	 "github (docs/ci.md)"},
	{"output", 'o', CLI_FILE, "FILE", NULL, 0, "write the --format report to FILE instead of stdout"},
	END,
};
static const cli_opt o_run_list[] = {
	{"package", 0, CLI_PACKAGE, "P", NULL, 0, "only runs of package P"},
	{"version", 0, CLI_STR, "V", NULL, 0, "only runs of version V"},
	{"state", 0, CLI_CHOICE, "STATE", "queued|running|succeeded|failed|timed_out|pending", 0,
	 "only runs in STATE; pending: runs waiting for review"},
	{"baseline", 0, CLI_FLAG, NULL, NULL, 0, "only the runs that make up a baseline"},
	{"limit", 0, CLI_NUM, "N", NULL, 0, "at most N runs"},
	END,
};
static const cli_opt o_pending[] = {
	{"package", 0, CLI_PACKAGE, "P", NULL, 0, "only runs of package P"},
	{"version", 0, CLI_STR, "V", NULL, 0, "only runs of version V"},
	{"limit", 0, CLI_NUM, "N", NULL, 0, "at most N runs"},
	END,
};
static const cli_opt o_run_show[] = {
	{"events", 0, CLI_FLAG, NULL, NULL, 0, "also print the run's events"},
	END,
};
static const cli_opt o_deviation_list[] = {
	{"run", 0, CLI_RUN, "RUN", NULL, 0, "only findings of RUN (an id or a unique prefix)"},
	{"package", 0, CLI_PACKAGE, "P", NULL, 0, "only findings of package P"},
	{"min-severity", 0, CLI_SEVERITY, "SEVERITY", SEVERITIES, 0, "only findings at or above SEVERITY"},
	{"limit", 0, CLI_NUM, "N", NULL, 0, "at most N findings"},
	{"findings", 0, CLI_FLAG, NULL, NULL, 0,
	 "with --run (and no --limit): one line per behaviour, the records on the same events (and network "
	 "records of one registrable domain) grouped"},
	END,
};
static const cli_opt o_baseline_list[] = {
	{"package", 0, CLI_PACKAGE, "P", NULL, 0, "only the baseline of package P"},
	{"fingerprints", 0, CLI_FLAG, NULL, NULL, 0,
	 "with --package: the baseline's fingerprints (kind, actor, value)"},
	END,
};
static const cli_opt o_baseline_export[] = {
	{"format", 0, CLI_CHOICE, "FORMAT", "egress|json", 0, "egress (default): an allowlist, one a line; json"},
	END,
};
static const cli_opt o_baseline_promote[] = {
	{"replace", 0, CLI_FLAG, NULL, NULL, 0,
	 "the baseline becomes RUN's fingerprints alone (the other runs leave it)"},
	{"force", 0, CLI_FLAG, NULL, NULL, 0, "also accept a run whose install failed or timed out"},
	END,
};
static const cli_opt o_package_list[] = {
	{"watched", 0, CLI_FLAG, NULL, NULL, 0, "only the watched packages"},
	END,
};
static const cli_opt o_by_package[] = {
	{"package", 0, CLI_PACKAGE, "P", NULL, 0, "only those of package P"},
	END,
};
static const cli_opt o_allow_add[] = {
	{"kind", 0, CLI_CHOICE, "KIND", "path|cidr|sni|dns|exec", CLI_OPT_REQUIRED,
	 "path (prefix), cidr, sni (exact), dns (suffix), exec (exact binary)"},
	{"value", 0, CLI_STR, "V", NULL, CLI_OPT_REQUIRED, "what is allowed"},
	{"package", 0, CLI_PACKAGE, "P", NULL, 0, "only for package P (default: global)"},
	{"note", 0, CLI_STR, "TEXT", NULL, 0, "why"},
	END,
};
static const cli_opt o_rules_test[] = {
	{"package", 0, CLI_PACKAGE, "P", NULL, 0, "the package the recording is of"},
	{"version", 0, CLI_STR, "V", NULL, 0, "its version"},
	{"registry", 0, CLI_URL, "URL", NULL, 0,
	 "npm registry whose addresses are not `not_registry` (default: config)"},
	{"fail-on", 0, CLI_SEVERITY, "SEVERITY", SEVERITIES, 0,
	 "exit 3 when a hit is at or above SEVERITY (default high)"},
	END,
};
static const cli_opt o_prune[] = {
	{"days", 0, CLI_NUM, "N", NULL, 0, "older than N days (default: storage.retention_days, 90)"},
	END,
};
static const cli_opt o_scan[] = {
	{"sandbox", 0, CLI_CHOICE, "BACKEND", "ns|docker", 0, "sandbox backend (default ns: namespaces, no daemon)"},
	{"network", 0, CLI_CHOICE, "MODE", "none|proxy|bridge", 0,
	 "none = loopback only (default); proxy = loopback and a recording proxy to allowed download hosts; "
	 "bridge = real egress via NAT"},
	{"duration", 0, CLI_SECONDS, "S", NULL, 0, "kill everything after S seconds (default 180)"},
	{"grace", 0, CLI_SECONDS, "S", NULL, 0,
	 "linger at least S seconds after the install exits (default 0: the run ends once no process of it is left)"},
	{"registry", 0, CLI_URL, "URL", NULL, 0, "npm registry (default: config, else npm's own configuration)"},
	{"image", 0, CLI_STR, "REF", NULL, 0,
	 "docker image (default fangs-sandbox:latest); DOCKER_HOST=unix://PATH selects the daemon"},
	{"fail-on", 0, CLI_SEVERITY, "SEVERITY", SEVERITIES, 0,
	 "exit 3 when a finding is at or above SEVERITY (default high)"},
	{"no-import", 0, CLI_FLAG, NULL, NULL, 0, "no import phase: do not require the package after the install"},
	{"quiet", 'q', CLI_FLAG, NULL, NULL, 0, "no progress on stderr"},
	{"project", 0, CLI_DIR, "DIR", NULL, 0,
	 "scan the npm project in DIR exactly as its lockfile pins it (no SPEC); each dependency with install "
	 "scripts is judged against its own baseline"},
	{"resolve", 0, CLI_FLAG, NULL, NULL, 0,
	 "with --project: a missing or stale lockfile is resolved by npm now (and what it resolved is printed) "
	 "instead of being an error"},
	{"format", 0, CLI_CHOICE, "FORMAT", REPORT_FORMATS, 0,
	 "output format: human (default), json (the report; --json keeps the per-run JSON), sarif, gitlab, junit, "
	 "github (docs/ci.md)"},
	{"output", 'o', CLI_FILE, "FILE", NULL, 0, "write the --format report to FILE instead of stdout"},
	END,
};
static const cli_opt o_review[] = {
	{"base", 0, CLI_STR, "REF|LOCKFILE", NULL, CLI_OPT_REQUIRED,
	 "what to compare with: a git revision of DIR's repository (its lockfile there), or an old lockfile"},
	{"sandbox", 0, CLI_CHOICE, "BACKEND", "ns|docker", 0, "sandbox backend (default ns: namespaces, no daemon)"},
	{"network", 0, CLI_CHOICE, "MODE", "none|proxy|bridge", 0, "the sandbox's network (default none)"},
	{"duration", 0, CLI_SECONDS, "S", NULL, 0, "kill everything after S seconds (default 180)"},
	{"registry", 0, CLI_URL, "URL", NULL, 0, "npm registry (default: config, else npm's own configuration)"},
	{"image", 0, CLI_STR, "REF", NULL, 0, "docker image (default fangs-sandbox:latest)"},
	{"fail-on", 0, CLI_SEVERITY, "SEVERITY", SEVERITIES, 0,
	 "exit 3 when a finding is at or above SEVERITY (default high)"},
	{"approve-clean", 0, CLI_FLAG, NULL, NULL, 0,
	 "write pinned approvals (allowScripts \"name@version\": true in DIR/package.json) for the dependencies "
	 "not yet approved whose scripts ran with no finding at or above --approve-threshold; never for the others"},
	{"approve-threshold", 0, CLI_SEVERITY, "SEVERITY", SEVERITIES, 0,
	 "with --approve-clean: a finding at or above SEVERITY withholds the approval (default low)"},
	{"quiet", 'q', CLI_FLAG, NULL, NULL, 0, "no progress on stderr"},
	{"format", 0, CLI_CHOICE, "FORMAT", REPORT_FORMATS, 0,
	 "output format: human (default), json (the report; --json keeps review's own JSON), sarif, gitlab, junit, "
	 "github (docs/ci.md)"},
	{"output", 'o', CLI_FILE, "FILE", NULL, 0, "write the --format report to FILE instead of stdout"},
	END,
};
static const cli_opt o_scan_submit[] = {
	{"package", 0, CLI_PACKAGE, "P", NULL, CLI_OPT_REQUIRED, "the package"},
	{"version", 0, CLI_STR, "V", NULL, CLI_OPT_REQUIRED, "its version"},
	{"runner", 0, CLI_STR, "R", NULL, 0, "pin the scan to runner R"},
	{"orchestrator", 0, CLI_URL, "URL", NULL, 0,
	 "orchestrator (default: $FANGS_ORCHESTRATOR, runner.orchestrator)"},
	{"registry", 0, CLI_URL, "URL", NULL, 0,
	 "npm registry the release must exist in (default: config, else npm's own configuration)"},
	{"no-registry-check", 0, CLI_FLAG, NULL, NULL, 0, "queue without asking the registry first"},
	{"tls-cert", 0, CLI_FILE, "F", NULL, 0, "client certificate (default: $FANGS_TLS_CERT)"},
	{"tls-key", 0, CLI_FILE, "F", NULL, 0, "its key (default: $FANGS_TLS_KEY)"},
	{"ca", 0, CLI_FILE, "F", NULL, 0, "CA of the orchestrator's certificate (default: $FANGS_CA)"},
	{"token-file", 0, CLI_FILE, "F", NULL, 0,
	 "file holding a bearer token (default: $FANGS_TOKEN_FILE, else $FANGS_TOKEN; never on the command line)"},
	END,
};
static const cli_opt o_remote[] = {
	{"orchestrator", 0, CLI_URL, "URL", NULL, 0, "ask the orchestrator at URL instead of reading the database"},
	{"token-file", 0, CLI_FILE, "F", NULL, 0,
	 "with --orchestrator: file holding a bearer token (default: $FANGS_TOKEN_FILE, else $FANGS_TOKEN)"},
	{"tls-cert", 0, CLI_FILE, "F", NULL, 0, "with --orchestrator: client certificate (default: $FANGS_TLS_CERT)"},
	{"tls-key", 0, CLI_FILE, "F", NULL, 0, "its key (default: $FANGS_TLS_KEY)"},
	{"ca", 0, CLI_FILE, "F", NULL, 0, "CA of the orchestrator's certificate (default: $FANGS_CA)"},
	END,
};
static const cli_opt o_notifier_add[] = {
	{"name", 0, CLI_STR, "N", NULL, CLI_OPT_REQUIRED, "the target's name"},
	{"url", 0, CLI_STR, "URL", NULL, CLI_OPT_REQUIRED, "https://, or http:// to a loopback host"},
	{"template", 0, CLI_CHOICE, "T", "generic|slack|discord", CLI_OPT_REQUIRED, "message format"},
	{"min-severity", 0, CLI_SEVERITY, "SEVERITY", SEVERITIES, 0,
	 "send findings at or above SEVERITY (default low)"},
	{"secret-env", 0, CLI_STR, "VAR", NULL, 0,
	 "generic: sign with the HMAC secret read at delivery time from environment variable VAR"},
	{"header", 0, CLI_STR, "NAME:VALUE", NULL, CLI_OPT_REPEAT, "an HTTP header to send"},
	{"disabled", 0, CLI_FLAG, NULL, NULL, 0, "add it switched off"},
	{"allow-literal-secret", 0, CLI_FLAG, NULL, NULL, 0,
	 "accept a credential-looking header (Authorization, *-Token, *-Key...) given in clear: it is stored in "
	 "the database"},
	END,
};
static const cli_opt o_notifier_history[] = {
	{"run", 0, CLI_RUN, "RUN", NULL, 0, "only attempts for RUN (an id or a unique prefix)"},
	{"name", 0, CLI_STR, "N", NULL, 0, "only attempts of target N"},
	{"limit", 0, CLI_NUM, "N", NULL, 0, "at most N attempts"},
	END,
};
static const cli_opt o_ca_dir[] = {
	{"dir", 0, CLI_DIR, "DIR", NULL, 0, "where the CA lives (default: $FANGS_CA_DIR, else ./fangs-ca)"},
	END,
};
static const cli_opt o_ca_issue[] = {
	{"role", 0, CLI_CHOICE, "R", "runner|submitter|operator|reader", 0,
	 "a client certificate of role R (runner: acts as runner NAME)"},
	{"host", 0, CLI_STR, "H", NULL, CLI_OPT_REPEAT,
	 "a DNS name or IP address: makes the certificate fit for a server (no role)"},
	{"dir", 0, CLI_DIR, "DIR", NULL, 0, "where the CA lives (default: $FANGS_CA_DIR, else ./fangs-ca)"},
	END,
};
static const cli_opt o_ca_revoke[] = {
	{"serial", 0, CLI_STR, "HEX", NULL, 0, "revoke this serial instead (a certificate whose file is gone)"},
	{"dir", 0, CLI_DIR, "DIR", NULL, 0, "where the CA lives (default: $FANGS_CA_DIR, else ./fangs-ca)"},
	END,
};
static const cli_opt o_token_create[] = {
	{"name", 0, CLI_STR, "N", NULL, CLI_OPT_REQUIRED, "the token's name (letters, digits, '.', '_', '-')"},
	{"role", 0, CLI_CHOICE, "R", "runner|submitter|operator|reader", CLI_OPT_REQUIRED, "what the token may do"},
	{"runner", 0, CLI_STR, "ID", NULL, 0, "with --role runner: the runner it acts as (default: N)"},
	{"file", 0, CLI_FILE, "F", NULL, 0, "the tokens file (default: $FANGS_TOKENS_FILE, else ./fangs-tokens)"},
	END,
};
static const cli_opt o_token_file[] = {
	{"file", 0, CLI_FILE, "F", NULL, 0, "the tokens file (default: $FANGS_TOKENS_FILE, else ./fangs-tokens)"},
	END,
};
static const cli_opt o_ui[] = {
	{"listen", 0, CLI_STR, "HOST:PORT", NULL, 0,
	 "a loopback address to listen on (default 127.0.0.1:0, a free port; the URL printed says which)"},
	{"db", 0, CLI_FILE, "FILE", NULL, 0, "the SQLite database (same as --sqlite-path)"},
	END,
};
static const cli_opt o_gc[] = {
	{"sandbox", 0, CLI_CHOICE, "BACKEND", "ns|docker", 0, "sandbox backend whose leftovers to remove (default ns)"},
	{"work-root", 0, CLI_DIR, "DIR", NULL, 0, "where run directories are (default /var/lib/fangs/sandbox)"},
	END,
};
static const cli_opt o_trace[] = {
	{"output", 0, CLI_FILE, "FILE", NULL, 0, "write the events to FILE instead of stdout, apart from CMD's output"},
	{"ringbuf-size", 0, CLI_NUM, "BYTES", NULL, 0, "the sensor's ring buffer size"},
	END,
};

#define NOARGS NULL, 0, 0, CLI_STR
#define GROUP(n, summary) {n, NULL, NOARGS, 0, NULL, NULL, summary, NULL}

static const cli_cmd commands[] = {
	{"scan", NULL, "SPEC...", 0, -1, CLI_FILE, CLI_CREATES_DB, cmd_scan, o_scan,
	 "install SPEC in the sandbox under the eBPF sensor and report what is new",
	 "Installs each SPEC inside the sandbox with every lifecycle script allowed, watches it with the eBPF "
	 "sensor, stores the run and prints what it did that the package's earlier releases never did. SPEC: "
	 "name@version, name (latest), a .tgz file or a package directory. With --network none (the default) "
	 "the dependency tree is fetched on the host with scripts disabled and installed offline in the "
	 "sandbox; connection, DNS and TLS attempts inside are still observed. With --network proxy the "
	 "sandbox also gets an HTTP(S) proxy run by this process that lets downloads from the registry and "
	 "known binary hosts through (config: proxy.allow_hosts) and records every request.\n"
	 "After a successful install the package is required (or import()ed) by node in the same sandbox, and "
	 "what that does is recorded as the run's import phase (config scan.import: false turns it off too). "
	 "A package that fails to load is no failure.\n"
	 "An install that fails or times out inside the sandbox is stored and judged all the same (state "
	 "failed or timed_out, with the reason), but kept out of the baseline.\n"
	 "With --project DIR (and no SPEC) the project in DIR is installed as its package-lock.json (or "
	 "npm-shrinkwrap.json) pins it: the exact tarballs are fetched on the host and checked against the "
	 "lockfile's integrity, then `npm ci --offline` runs in one sandbox run with every script allowed. "
	 "Each dependency whose install scripts ran is stored as a run of its own (its package and version, the "
	 "events its scripts caused) and judged against its own baseline, the one `fangs scan name@version` "
	 "builds; findings name the dependency path and the script. A missing lockfile, or one out of sync "
	 "with package.json, is an error (exit 2) unless --resolve (docs/projects.md).\n"
	 "Exit: 0 done, 3 findings at or above --fail-on, 4 an install failed or timed out in the sandbox (3 "
	 "wins over 4), 1 error (wins over both), 2 usage. Needs root."},
	{"review", NULL, "[DIR]", 0, 1, CLI_DIR, CLI_CREATES_DB, cmd_review, o_review,
	 "judge what a lockfile change adds: scan only the added or changed dependencies",
	 "Compares the lockfile of the npm project in DIR (default .) with --base (a git revision of DIR's "
	 "repository, read with git show REF:path, or an old lockfile), then installs the new tree in one "
	 "sandbox run in which only the install scripts of the added or changed dependencies, and of those "
	 "whose scripts the project has not approved yet (allowScripts), run. Each is judged against its own "
	 "baseline: unchanged behaviour, new behaviour (with the findings) or first sight (no baseline: the "
	 "rules' verdict). Every dependency whose scripts are not approved yet is listed with what its scripts "
	 "did; --approve-clean approves those with nothing at or above --approve-threshold (docs/projects.md).\n"
	 "Exit: 0 done, 3 findings at or above --fail-on, 4 the install failed in the sandbox, 1 error, 2 usage "
	 "(no lockfile, an unreadable base). Needs root when something is to run."},
	{"scan", "submit", NULL, 0, 0, CLI_STR, 0, cmd_scan_submit, o_scan_submit,
	 "queue a scan of a release on the orchestrator",
	 "Checks that the release exists in the registry, then queues a scan of it on the orchestrator (URL "
	 "from --orchestrator, FANGS_ORCHESTRATOR or the configuration's runner.orchestrator) and prints the "
	 "run id. --runner pins it to one runner."},
	GROUP("events", "import recordings; the events of a run"),
	{"events", "import", "FILE", 1, 1, CLI_FILE, CLI_CREATES_DB, cmd_events_import, o_events_import,
	 "import an NDJSON recording as a run and diff it",
	 "Reads an NDJSON recording (docs/events.md; FILE '-' = stdin), stores it as a finished run of P@V, "
	 "diffs it against P's baseline and prints the run id and its deviations."},
	{"events", "list", "RUN", 1, 1, CLI_RUN, 0, cmd_events_list, NULL, "the stored events of a run",
	 "Prints the stored events of RUN (an id or a unique prefix of one), NDJSON with --json."},
	GROUP("run", "runs and their outcome"),
	{"run", "list", NULL, 0, 0, CLI_STR, 0, cmd_run_list, o_run_list, "runs, newest first",
	 "BASELINE says yes, pending (waits for a person), no, or excluded for a failed or timed-out install. "
	 "States: queued, running, succeeded, failed, timed_out; --state pending lists the runs waiting for "
	 "review (as fangs pending)."},
	{"run", "show", "RUN", 1, 1, CLI_RUN, 0, cmd_run_show, o_run_show, "one run with its findings and evidence",
	 "RUN is a run id or a unique prefix of one. Prints its state (with why an install failed), timings, "
	 "counters, its findings (one per behaviour) with evidence, and install output."},
	{"run", "fail", "RUN", 1, 1, CLI_RUN, 0, cmd_run_fail, o_remote, "mark a stuck run failed and end its job",
	 "Marks a queued or running run failed and ends its job, in the database, or through the orchestrator "
	 "with --orchestrator (operator role; RUN is then a whole run id)."},
	{"run", "analyze", "RUN", 1, 1, CLI_RUN, 0, cmd_run_analyze, NULL, "judge a finished run again",
	 "Judges a finished run again over its stored events: one whose analysis failed (fangs pending lists it "
	 "with the error), or after a rule change. Prints its findings, one per behaviour."},
	{"pending", NULL, NULL, 0, 0, CLI_STR, 0, cmd_pending, o_pending, "runs waiting for a person to review",
	 "Runs with findings at or above differ.review_threshold, or a cold start waiting for agreement; a "
	 "failed install with such findings is listed too, and so is a run that was not judged because its "
	 "analysis failed (with the error; fangs run analyze judges it again)."},
	GROUP("deviation", "findings"),
	{"deviation", "list", NULL, 0, 0, CLI_STR, 0, cmd_deviation_list, o_deviation_list,
	 "the stored records, newest first",
	 "The stored records: deviations from the baseline and rule hits, newest first. With --findings (and "
	 "--run) one line per behaviour instead: the records on the same events, and network records of one "
	 "registrable domain, grouped."},
	{"deviation", "show", "ID", 1, 1, CLI_STR, 0, cmd_deviation_show, NULL,
	 "one record with its evidence events and their ancestry",
	 "One record, its evidence events with their ancestry, and the other records of its finding."},
	GROUP("baseline", "what each package normally does"),
	{"baseline", "list", NULL, 0, 0, CLI_STR, 0, cmd_baseline_list, o_baseline_list,
	 "the runs that make up each package's baseline", NULL},
	{"baseline", "promote", "RUN", 1, 1, CLI_RUN, 0, cmd_baseline_promote, o_baseline_promote,
	 "accept a run into its package's baseline",
	 "A person accepts RUN (an id or a unique prefix of one): its fingerprints are added to its "
	 "package's baseline, its findings are cleared, and later rule hits that do only what it did are not "
	 "reported again. A run whose install failed or timed out is refused unless --force."},
	{"baseline", "export", "PACKAGE", 1, 1, CLI_PACKAGE, 0, cmd_baseline_export, o_baseline_export,
	 "what a package's installs legitimately contact, as an egress allowlist",
	 "The host names (DNS lookups, TLS server names, hosts asked of the sandbox's proxy) and the addresses "
	 "and ports (connections) in PACKAGE's baseline: what its accepted installs contacted. --format egress "
	 "(the default) prints one host name or address[:port] a line, with a comment naming the package, for "
	 "a CI egress filter or a firewall (docs/ci.md); --format json (or --json) the same with kinds and "
	 "actors. Connections to this machine and values that are no host name or address are left out and "
	 "counted."},
	GROUP("package", "packages"),
	{"package", "list", NULL, 0, 0, CLI_STR, 0, cmd_package_list, o_package_list, "packages seen or watched", NULL},
	{"package", "watched", NULL, 0, 0, CLI_STR, 0, cmd_package_list, NULL,
	 "the watched packages (as package list --watched)", NULL},
	{"package", "add", "NAME", 1, 1, CLI_PACKAGE, CLI_CREATES_DB, cmd_package_change, NULL, "watch a package",
	 "The orchestrator's watcher scans every new release of a watched package."},
	{"package", "remove", "NAME", 1, 1, CLI_PACKAGE, 0, cmd_package_change, NULL,
	 "forget a package and everything recorded of it", NULL},
	{"package", "reset", "NAME", 1, 1, CLI_PACKAGE, 0, cmd_package_change, NULL,
	 "delete a package's runs, events, baseline and deviations; keep watching it", NULL},
	GROUP("release", "releases seen"),
	{"release", "list", NULL, 0, 0, CLI_STR, 0, cmd_release_list, o_by_package, "releases seen", NULL},
	GROUP("allow", "allowlists"),
	{"allow", "list", NULL, 0, 0, CLI_STR, 0, cmd_allow_list, o_by_package,
	 "allowlist entries (the configuration's too)", NULL},
	{"allow", "add", NULL, 0, 0, CLI_STR, CLI_CREATES_DB, cmd_allow_add, o_allow_add, "allow something",
	 "Without --package an entry is global."},
	{"allow", "remove", "ID", 1, 1, CLI_STR, 0, cmd_allow_remove, NULL, "remove an allowlist entry", NULL},
	GROUP("rules", "behaviour rules; try them on a recording"),
	{"rules", "list", NULL, 0, 0, CLI_STR, 0, cmd_rules_list, NULL,
	 "every rule with its severity and whether it is on",
	 "Behaviour rules judge every run, the first one too (docs/rules.md): the built-in set plus the "
	 "configuration's rules: section."},
	{"rules", "show", "ID", 1, 1, CLI_STR, 0, cmd_rules_show, NULL, "one rule: what it means and what it matches",
	 NULL},
	{"rules", "test", "FILE", 1, 1, CLI_FILE, 0, cmd_rules_test, o_rules_test,
	 "evaluate the rules on a recording without storing anything",
	 "Prints the hits with their evidence (evidence #N = line N of FILE). The registry's host is resolved "
	 "on this machine: connections to those addresses are the registry's."},
	{"prune", NULL, NULL, 0, 0, CLI_STR, 0, cmd_prune, o_prune, "retention pruning",
	 "Deletes events and clean non-baseline runs older than N days. Events a deviation points to are kept."},
	{"gc", NULL, NULL, 0, 0, CLI_STR, 0, cmd_gc, o_gc, "remove what killed scans left (run directories, cgroups)",
	 "Removes what scans killed on this host left behind: their sandboxes' run directories (and the "
	 "filesystems mounted in them), cgroups and processes, and containers. Scans still running, here or in "
	 "another process (a runner), are left alone. fangs scan and fangs-runner do this when they start. "
	 "Prints how many things were removed ({\"removed\": N} with --json). Needs root."},
	GROUP("notifier", "where findings are sent (webhooks, Slack, Discord)"),
	{"notifier", "add", NULL, 0, 0, CLI_STR, CLI_CREATES_DB, cmd_notifier_add, o_notifier_add,
	 "a target for findings",
	 "The HMAC secret of a generic target is read at delivery time from the "
	 "environment variable named by --secret-env (docs/notifier.md)."},
	{"notifier", "list", NULL, 0, 0, CLI_STR, 0, cmd_notifier_list, NULL, "targets (header values are not shown)",
	 NULL},
	{"notifier", "remove", "NAME", 1, 1, CLI_STR, 0, cmd_notifier_remove, NULL,
	 "remove a target and its delivery history", NULL},
	{"notifier", "test", "NAME", 1, 1, CLI_STR, 0, cmd_notifier_test, NULL,
	 "send a made-up finding, show the receiver's answer", "Exits 1 unless the receiver answers 2xx."},
	{"notifier", "history", NULL, 0, 0, CLI_STR, 0, cmd_notifier_history, o_notifier_history,
	 "every delivery attempt", NULL},
	{"notifier", "deliver", NULL, 0, 0, CLI_STR, 0, cmd_notifier_deliver, NULL,
	 "send what is due now (retries included)", NULL},
	GROUP("runner", "runners and their jobs"),
	{"runner", "list", NULL, 0, 0, CLI_STR, 0, cmd_runner_list, o_remote,
	 "runners registered with the orchestrator, with their running scans",
	 "From the database, or asked of the orchestrator with --orchestrator (a reader, submitter or operator "
	 "credential)."},
	GROUP("ca", "certificates for mTLS between the daemons"),
	{"ca", "init", NULL, 0, 0, CLI_STR, 0, cmd_ca_init, o_ca_dir, "make a CA (ca.pem, ca-key.pem)",
	 "Never overwrites an existing CA."},
	{"ca", "issue", "NAME", 1, 1, CLI_STR, 0, cmd_ca_issue, o_ca_issue,
	 "a certificate for NAME (NAME.pem, NAME-key.pem)",
	 "With --role R a client certificate (R: runner, acting as runner NAME; submitter; operator; reader); "
	 "with --host H a server certificate (a DNS name or IP address, no role). One of the two is needed."},
	{"ca", "revoke", "[NAME]", 0, 1, CLI_STR, 0, cmd_ca_revoke, o_ca_revoke,
	 "the orchestrator refuses NAME from now on",
	 "Adds NAME.pem's serial (or the --serial given) to revoked.txt; the orchestrator refuses it from then "
	 "on."},
	GROUP("token", "bearer tokens for the orchestrator"),
	{"token", "create", NULL, 0, 0, CLI_STR, 0, cmd_token_create, o_token_create, "a new token (printed once)",
	 "Adds a token to the tokens file, which keeps each token's name, role, runner and SHA-256, never the "
	 "token: it is printed once. Roles: runner (bound to --runner ID, default N), submitter, operator, "
	 "reader. Rotate: create a new name, deploy it, revoke the old one."},
	{"token", "list", NULL, 0, 0, CLI_STR, 0, cmd_token_list, o_token_file, "tokens: names, roles, runners", NULL},
	{"token", "revoke", "NAME", 1, 1, CLI_STR, 0, cmd_token_revoke, o_token_file,
	 "the orchestrator refuses token NAME from now on",
	 "The orchestrator reads the tokens file at every request: a revoked token counts at once."},
#if FANGS_HAVE_DAEMONS
	{"ui", NULL, NULL, 0, 0, CLI_STR, 0, cmd_ui, o_ui, "the web UI on the local database",
	 "Serves the web UI (/ui/) and the read API (/v1/) from the local database for the one user at this "
	 "machine, on a loopback address only, until Ctrl-C. At start it makes a one-time operator token and "
	 "prints the address to open: http://127.0.0.1:PORT/ui/#token=TOKEN (the token stays in the URL's "
	 "fragment, which the browser does not send; the page keeps it for the tab). Every API request needs "
	 "it, reads too. Never creates the database (docs/ui.md)."},
#endif
#if FANGS_HAVE_SENSOR
	GROUP("sensor", "the eBPF sensor"),
	{"sensor", "probes", NULL, 0, 0, CLI_STR, 0, cmd_sensor_probes, NULL, "which eBPF probes are live here",
	 "Loads the eBPF sensor and lists its probes: which are live, and why the others are not (root)."},
	{"trace", NULL, "CMD [ARGS...]", 1, -1, CLI_COMMAND, CLI_STOP_AT_ARG, cmd_trace, o_trace,
	 "run CMD under the sensor, print its events",
	 "Runs CMD in a fresh cgroup under the eBPF sensor and prints what it and its descendants do (file "
	 "opens, execs, connects, DNS, TLS SNI, forks, exits), one line per event (NDJSON with --json). Ends "
	 "when every process of the cgroup has exited; prints the sensor's counters to stderr; exits with "
	 "CMD's status (root)."},
#endif
	{"version", NULL, NULL, 0, 0, CLI_STR, 0, cmd_version, NULL, "print the version", NULL},
	{"__commands", NULL, NULL, 0, 0, CLI_STR, CLI_HIDDEN, cmd_gen_commands, NULL, "list every command", NULL},
	{"__man", NULL, "DIR PAGE...", 1, -1, CLI_DIR, CLI_HIDDEN, cmd_gen_man, NULL, "write the manual pages", NULL},
	{"__complete", NULL, "SHELL", 1, 1, CLI_STR, CLI_HIDDEN, cmd_gen_complete, NULL,
	 "print a completion script (bash, zsh, fish)", NULL},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Other names a command answers to. */
static const struct {
	const char *alias, *name;
} aliases[] = {
	{"runs", "run"},           {"deviations", "deviation"}, {"packages", "package"}, {"releases", "release"},
	{"notifiers", "notifier"}, {"runners", "runner"},       {"help", "--help"},
};

/* ---- lookups ----------------------------------------------------------------- */

static const cli_cmd *find_cmd(const char *name, const char *sub)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name) &&
		    (sub ? commands[i].sub && !strcmp(commands[i].sub, sub) : !commands[i].sub))
			return &commands[i];
	return NULL;
}

static int has_subs(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name) && commands[i].sub)
			return 1;
	return 0;
}

static int is_help(const char *a)
{
	return !strcmp(a, "--help") || !strcmp(a, "-help") || !strcmp(a, "-h");
}

const char *cli_get_nth(const cli_args *a, const char *name, size_t n)
{
	for (size_t i = 0; i < a->n_given; i++)
		if (!strcmp(a->given[i].opt->name, name) && n-- == 0)
			return a->given[i].val ? a->given[i].val : "";
	return NULL;
}

const char *cli_get(const cli_args *a, const char *name)
{
	const char *v = NULL;
	for (size_t i = 0; i < a->n_given; i++)
		if (!strcmp(a->given[i].opt->name, name))
			v = a->given[i].val ? a->given[i].val : "";
	return v;
}

int cli_has(const cli_args *a, const char *name)
{
	return cli_get(a, name) != NULL;
}

unsigned long cli_get_num(const cli_args *a, const char *name, unsigned long def)
{
	const char *v = cli_get(a, name);
	return v ? strtoul(v, NULL, 10) : def;
}

/* ---- help ------------------------------------------------------------------- */

/* "usage: fangs run list [--package P] ...", wrapped under the command's name. */
static void print_synopsis(FILE *f, const cli_cmd *c, const char *lead)
{
	char tok[160];
	int col = fprintf(f, "%sfangs %s%s%s", lead, c->name, c->sub ? " " : "", c->sub ? c->sub : "");
	int indent = (int)strlen(lead) + 7 + (int)strlen(c->name);
	for (const cli_opt *o = c->opts;; o++) {
		int n;
		if (o && o->name) {
			int req = (o->flags & CLI_OPT_REQUIRED) != 0;
			n = snprintf(tok, sizeof(tok), "%s--%s%s%s%s%s", req ? "" : "[", o->name, o->meta ? " " : "",
				     o->meta ? o->meta : "", req ? "" : "]", o->flags & CLI_OPT_REPEAT ? "..." : "");
		} else if (c->args) {
			n = snprintf(tok, sizeof(tok), "%s%s", c->flags & CLI_STOP_AT_ARG ? "[--] " : "", c->args);
		} else {
			break;
		}
		if (col + 1 + n > 78 && col > indent) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		}
		col += fprintf(f, " %s", tok);
		if (!o || !o->name)
			break;
	}
	fputc('\n', f);
}

/* Text wrapped at 78 columns, each line indented by `indent`. */
static void wrap(FILE *f, const char *text, int indent, int first_col)
{
	int col = first_col;
	const char *p = text;
	while (*p) {
		size_t w = strcspn(p, " \n");
		if (col > indent && col + 1 + (int)w > 78) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		} else if (col < indent) {
			fprintf(f, "%*s", indent - col, "");
			col = indent;
		}
		fwrite(p, 1, w, f);
		col += (int)w;
		p += w;
		if (*p == '\n') {
			fprintf(f, "\n\n");
			col = 0;
			p++;
		} else if (*p == ' ') {
			p++;
		}
	}
	if (col)
		fputc('\n', f);
}

static void print_opts(FILE *f, const cli_opt *opts)
{
	for (const cli_opt *o = opts; o && o->name; o++) {
		char left[64], shrt[8] = "";
		int n;
		if (o->short_name)
			snprintf(shrt, sizeof(shrt), "-%c, ", o->short_name);
		n = snprintf(left, sizeof(left), "  %s--%s%s%s", shrt, o->name, o->meta ? " " : "",
			     o->meta ? o->meta : "");
		fputs(left, f);
		if (n >= 26) {
			fputc('\n', f);
			n = 0;
		}
		wrap(f, o->help, 26, n);
	}
}

static char upper(char ch)
{
	return ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch;
}

static void print_help(FILE *f, const cli_cmd *c)
{
	int group = !c->fn;
	if (group) {
		fprintf(f, "usage: fangs %s COMMAND [OPTIONS]\n\n", c->name);
		fprintf(f, "%c%s.\n\nCommands:\n", upper(c->summary[0]), c->summary + 1);
		for (size_t i = 0; i < N_COMMANDS; i++)
			if (!strcmp(commands[i].name, c->name) && commands[i].sub) {
				print_synopsis(f, &commands[i], "  ");
				wrap(f, commands[i].summary, 6, 0);
			}
		fprintf(f, "\n`fangs %s COMMAND --help` for one of them; `fangs --help` for the global options.\n",
			c->name);
		return;
	}
	print_synopsis(f, c, "usage: ");
	if (c->fn && has_subs(c->name) && !c->sub)
		for (size_t i = 0; i < N_COMMANDS; i++)
			if (!strcmp(commands[i].name, c->name) && commands[i].sub)
				print_synopsis(f, &commands[i], "       ");
	fputc('\n', f);
	fprintf(f, "%c%s.\n", upper(c->summary[0]), c->summary + 1);
	if (c->description) {
		fputc('\n', f);
		wrap(f, c->description, 0, 0);
	}
	if (c->opts && c->opts->name) {
		fprintf(f, "\nOptions:\n");
		print_opts(f, c->opts);
	}
	fprintf(f, "\nGlobal options (--storage, --sqlite-path, --postgres-dsn, --config, --json, -v): fangs --help.\n"
		   "Options may be written --name value, --name=value or -name value.\n");
}

void cli_print_main_help(FILE *f)
{
	fprintf(f, "usage: fangs [global options] COMMAND [ARGS...]\n\n"
		   "Watches what npm package releases do when installed and reports what is new.\n\nCommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const cli_cmd *c = &commands[i];
		char left[64];
		if (c->sub || (c->flags & CLI_HIDDEN))
			continue;
		snprintf(left, sizeof(left), "  %s%s", c->name, c->fn ? "" : " ...");
		fprintf(f, "%-18s", left);
		wrap(f, c->summary, 18, 18);
	}
	fprintf(f, "\nGlobal options (anywhere before --; single-dash long options work too):\n");
	print_opts(f, global_opts);
	fprintf(f, "\nThe database: --sqlite-path, else $FANGS_DB, else the configuration's storage.sqlite_path,\n"
		   "else $XDG_STATE_HOME/fangs/fangs.db (~/.local/state/fangs/fangs.db; /var/lib/fangs/fangs.db\n"
		   "for root). Commands that only read never create it.\n"
		   "\n`fangs COMMAND --help` for a command. Exit status: 0 ok, 1 error, 2 usage, 3 findings at or\n"
		   "above --fail-on, 4 (scan) an install failed or timed out in the sandbox.\n");
}

static int usage_error(const cli_cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage_error(const cli_cmd *c, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	/* the words it quotes came from the command line, as typed or pasted */
	fprintf(stderr, "fangs %s%s%s: %s\n", c->name, c->sub ? " " : "", c->sub ? c->sub : "",
		msg ? tx(msg) : "usage error");
	free(msg);
	print_synopsis(stderr, c, "usage: ");
	fprintf(stderr, "(fangs %s%s%s --help for more)\n", c->name, c->sub ? " " : "", c->sub ? c->sub : "");
	return CLI_EXIT_USAGE;
}

/* ---- parsing ----------------------------------------------------------------- */

static int check_value(const cli_cmd *c, const cli_opt *o, const char *v)
{
	char *end;
	fangs_severity sev;
	switch (o->kind) {
	case CLI_NUM:
		errno = 0;
		if (!*v || *v == '-' || (strtoul(v, &end, 10), *end) || errno)
			return usage_error(c, "--%s needs a number, not '%s'", o->name, v);
		return 0;
	case CLI_SECONDS: {
		double s = strtod(v, &end);
		if (!*v || *end || !(s > 0) || s > 86400)
			return usage_error(c, "--%s needs a number of seconds (at most 86400), not '%s'", o->name, v);
		return 0;
	}
	case CLI_SEVERITY:
		if (fangs_severity_parse(v, &sev))
			return usage_error(c, "--%s: %s", o->name, fangs_error_last());
		return 0;
	case CLI_CHOICE: {
		size_t n = strlen(v);
		for (const char *p = o->choices; *p;) {
			size_t w = strcspn(p, "|");
			if (w == n && !strncmp(p, v, n))
				return 0;
			p += w + (p[w] == '|');
		}
		return usage_error(c, "--%s must be one of %s", o->name, o->choices);
	}
	case CLI_URL:
		if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
			return usage_error(c, "--%s must be an http:// or https:// URL, not '%s'", o->name, v);
		return 0;
	case CLI_FLAG:
	case CLI_STR:
	case CLI_FILE:
	case CLI_DIR:
	case CLI_RUN:
	case CLI_PACKAGE:
	case CLI_COMMAND:
		return 0;
	}
	return 0;
}

static const cli_opt *find_opt(const cli_cmd *c, const char *name, size_t len, int *ambiguous)
{
	const cli_opt *hit = NULL;
	*ambiguous = 0;
	for (const cli_opt *o = c->opts; o && o->name; o++) {
		if (strlen(o->name) == len && !strncmp(o->name, name, len))
			return o;
		if (len == 1 && o->short_name == name[0])
			return o;
	}
	/* a unique prefix of a long name, as getopt_long allows */
	for (const cli_opt *o = c->opts; len > 1 && o && o->name; o++)
		if (!strncmp(o->name, name, len)) {
			if (hit)
				*ambiguous = 1;
			hit = o;
		}
	return *ambiguous ? NULL : hit;
}

int cli_stops_at_arg(const char *name)
{
	const cli_cmd *c = find_cmd(name, NULL);
	return c && (c->flags & CLI_STOP_AT_ARG);
}

int cli_opt_takes_value(const char *name, const char *arg)
{
	const cli_cmd *c = find_cmd(name, NULL);
	const char *o_name = arg + (arg[1] == '-' ? 2 : 1);
	const cli_opt *o;
	int amb;
	if (!c || strchr(o_name, '='))
		return 0;
	o = find_opt(c, o_name, strlen(o_name), &amb);
	return o && o->kind != CLI_FLAG;
}

/* argv[0..argc) are the words after the command's name(s). */
static int parse(const cli_cmd *c, int argc, char **argv, cli_args *a)
{
	int dashdash = 0;
	a->cmd = c;
	a->pos = argv;
	a->npos = 0;
	for (int i = 0; i < argc; i++) {
		char *arg = argv[i];
		if (dashdash || arg[0] != '-' || arg[1] == '\0') {
			a->pos[a->npos++] = arg; /* positional: compacted in place */
			if (c->flags & CLI_STOP_AT_ARG)
				dashdash = 1;
			continue;
		}
		if (!strcmp(arg, "--")) {
			dashdash = 1;
			continue;
		}
		const char *name = arg + (arg[1] == '-' ? 2 : 1);
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		int amb;
		const cli_opt *o = find_opt(c, name, len, &amb);
		if (!o)
			return usage_error(c, amb ? "ambiguous option '%s'%s" : "unknown option '%s'%s", arg, "");
		const char *val = NULL;
		if (o->kind == CLI_FLAG) {
			if (eq)
				return usage_error(c, "--%s takes no value%s", o->name, "");
		} else if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			return usage_error(c, "--%s needs a value (%s)", o->name, o->meta ? o->meta : "");
		}
		if (!(o->flags & CLI_OPT_REPEAT) && cli_get(a, o->name))
			return usage_error(c, "--%s given twice%s", o->name, "");
		if (val && check_value(c, o, val))
			return CLI_EXIT_USAGE;
		if (a->n_given == CLI_MAX_GIVEN)
			return usage_error(c, "too many options%s%s", "", "");
		a->given[a->n_given].opt = o;
		a->given[a->n_given].val = val;
		a->n_given++;
	}
	if (a->npos < argc)
		a->pos[a->npos] = NULL; /* trace execs pos as it is */
	for (const cli_opt *o = c->opts; o && o->name; o++)
		if ((o->flags & CLI_OPT_REQUIRED) && !cli_get(a, o->name))
			return usage_error(c, "--%s %s is required", o->name, o->meta ? o->meta : "");
	if (a->npos < c->min_args)
		return usage_error(c, c->args ? "missing %s%s" : "%s%s", c->args ? c->args : "", "");
	if (c->max_args >= 0 && a->npos > c->max_args)
		return usage_error(c, "unexpected argument '%s'%s", a->pos[c->max_args], "");
	return 0;
}

int cli_run(cli_ctx *ctx, int argc, char **argv, int (*load)(cli_ctx *ctx))
{
	const char *name;
	const cli_cmd *c = NULL;
	int help = 0, words, rc;
	cli_args a;

	memset(&a, 0, sizeof(a));
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		help |= is_help(argv[i]);
	if (argc < 2) {
		cli_print_main_help(stderr);
		return CLI_EXIT_USAGE;
	}
	name = argv[1];
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (!strcmp(name, aliases[i].alias))
			name = aliases[i].name;
	if (is_help(name) || !strcmp(name, "--version")) {
		if (!strcmp(name, "--version"))
			return cmd_version(ctx, &a);
		/* `fangs help run list` */
		if (argc > 2 && (c = find_cmd(argv[2], argc > 3 && !is_help(argv[3]) ? argv[3] : NULL)) &&
		    !(c->flags & CLI_HIDDEN)) {
			print_help(stdout, c);
			return CLI_EXIT_OK;
		}
		cli_print_main_help(stdout);
		return CLI_EXIT_OK;
	}
	if (!find_cmd(name, NULL) && !has_subs(name)) {
		print_error("unknown command '%s' (see fangs --help)", name);
		return CLI_EXIT_USAGE;
	}
	words = 2;
	c = find_cmd(name, NULL);
	if (argc > 2 && has_subs(name)) {
		/* with --help the subcommand may follow it (fangs run --help list) */
		const char *word = argv[2];
		for (int i = 2; help && i < argc && word[0] == '-'; i++)
			word = argv[i];
		const cli_cmd *s = find_cmd(name, word);
		/* a command that takes arguments itself (scan SPEC...) reads a
		 * subcommand's name as one unless more follows (fangs scan submit
		 * scans a package named submit) */
		if (s && (!c || !c->fn || argc > 3)) {
			c = s;
			words = 3;
		}
	}
	if (!c->fn) { /* a group without a known subcommand */
		if (help) {
			print_help(stdout, c);
			return CLI_EXIT_OK;
		}
		if (argc == 2) {
			print_help(stderr, c);
			return CLI_EXIT_USAGE;
		}
		print_error("unknown %s command '%s' (see fangs %s --help)", name, argv[2], name);
		return CLI_EXIT_USAGE;
	}
	/* trace CMD --help: CMD's own --help */
	if (help && (c->flags & CLI_STOP_AT_ARG)) {
		help = 0;
		for (int i = words; i < argc && !help; i++) {
			if (!strcmp(argv[i], "--") || argv[i][0] != '-' || !argv[i][1])
				break;
			help = is_help(argv[i]);
			i += cli_opt_takes_value(c->name, argv[i]);
		}
	}
	if (help) {
		print_help(stdout, c);
		return CLI_EXIT_OK;
	}
	if ((rc = parse(c, argc - words, argv + words, &a)))
		return rc;
	if (load && !(c->flags & CLI_HIDDEN) && c->fn != cmd_version && (rc = load(ctx)))
		return rc;
	ctx->cmd = c;
	return c->fn(ctx, &a);
}

/* ---- generators ---------------------------------------------------------- */

int cmd_gen_commands(cli_ctx *ctx, const cli_args *a)
{
	(void)ctx;
	(void)a;
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const cli_cmd *c = &commands[i];
		if (c->fn && !(c->flags & CLI_HIDDEN))
			printf("%s%s%s\t%s\t%s\n", c->name, c->sub ? " " : "", c->sub ? c->sub : "",
			       c->flags & CLI_CREATES_DB ? "creates" : "-", c->summary);
	}
	return CLI_EXIT_OK;
}

/* roff text: backslashes doubled, '-' as \-, no control word at a line start. */
static void roff(FILE *f, const char *s)
{
	int bol = 1;
	for (; *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", f);
		bol = *s == '\n';
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else if (*s == '\n')
			fputs("\n.PP\n", f);
		else
			fputc(*s, f);
	}
}

static void man_opts(FILE *f, const cli_opt *opts)
{
	for (const cli_opt *o = opts; o && o->name; o++) {
		fputs(".TP\n", f);
		if (o->short_name)
			fprintf(f, "\\fB\\-%c\\fR, ", o->short_name);
		fputs("\\fB\\-\\-", f);
		roff(f, o->name);
		fputs("\\fR", f);
		if (o->meta) {
			fputs(" \\fI", f);
			roff(f, o->meta);
			fputs("\\fR", f);
		}
		fputc('\n', f);
		roff(f, o->help);
		fputc('\n', f);
	}
}

static void man_synopsis(FILE *f, const cli_cmd *c)
{
	fprintf(f, ".PP\n\\fBfangs %s%s%s\\fR", c->name, c->sub ? " " : "", c->sub ? c->sub : "");
	for (const cli_opt *o = c->opts; o && o->name; o++) {
		fputs(o->flags & CLI_OPT_REQUIRED ? " \\fB\\-\\-" : " [\\fB\\-\\-", f);
		roff(f, o->name);
		fputs("\\fR", f);
		if (o->meta) {
			fputs(" \\fI", f);
			roff(f, o->meta);
			fputs("\\fR", f);
		}
		fputs(o->flags & CLI_OPT_REQUIRED ? "" : o->flags & CLI_OPT_REPEAT ? "]..." : "]", f);
	}
	if (c->args) {
		fputs(" \\fI", f);
		roff(f, c->args);
		fputs("\\fR", f);
	}
	fputc('\n', f);
}

static void man_upper(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s >= 'a' && *s <= 'z' ? *s - 32 : *s == '-' ? '-' : *s, f);
}

static int man_page(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;
	const cli_cmd *top = name ? find_cmd(name, NULL) : NULL;
	snprintf(path, sizeof(path), "%s/fangs%s%s.1", dir, name ? "-" : "", name ? name : "");
	if (!(f = fopen(path, "w"))) {
		fprintf(stderr, "fangs: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fputs(".\\\" generated by fangs __man from the command table (tools/fangs/cmdtab.c)\n", f);
	fputs(".TH \"", f);
	man_upper(f, name ? "fangs-" : "fangs");
	if (name)
		man_upper(f, name);
	fprintf(f, "\" 1 \"\" \"fangs %s\" \"fangs manual\"\n.SH NAME\n", fangs_version());
	if (!name) {
		fputs("fangs \\- watch what npm package releases do when installed\n.SH SYNOPSIS\n"
		      "\\fBfangs\\fR [\\fIglobal options\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR...]\n.SH DESCRIPTION\n"
		      "fangs installs npm releases inside an unprivileged sandbox with every lifecycle script allowed, "
		      "watches every syscall of the sandbox with eBPF from the host, and reports what a release does "
		      "that earlier releases never did.\n.SH COMMANDS\n",
		      f);
		for (size_t i = 0; i < N_COMMANDS; i++) {
			const cli_cmd *c = &commands[i];
			if (c->sub || (c->flags & CLI_HIDDEN))
				continue;
			fprintf(f, ".TP\n\\fBfangs\\-%s\\fR(1)\n", c->name);
			roff(f, c->summary);
			fputc('\n', f);
		}
		fputs(".SH GLOBAL OPTIONS\nThey may stand anywhere before \\fB\\-\\-\\fR.\n", f);
		man_opts(f, global_opts);
		fputs(".SH FILES\n.TP\n\\fI$XDG_STATE_HOME/fangs/fangs.db\\fR\nthe SQLite database when neither "
		      "\\fB\\-\\-sqlite\\-path\\fR, \\fBFANGS_DB\\fR nor the configuration's storage.sqlite_path name "
		      "one "
		      "(\\fI~/.local/state/fangs/fangs.db\\fR when XDG_STATE_HOME is unset, "
		      "\\fI/var/lib/fangs/fangs.db\\fR for root). Commands that only read never create it.\n"
		      ".SH ENVIRONMENT\n.TP\n\\fBFANGS_DB\\fR\nthe SQLite database (\\fBFANGS_SQLITE_PATH\\fR too)\n"
		      ".TP\n\\fBFANGS_POSTGRES_DSN\\fR\nPostgreSQL connection string: implies postgres\n.TP\n"
		      "\\fBFANGS_CONFIG\\fR\nthe configuration file\n"
		      ".SH EXIT STATUS\n0 ok, 1 error, 2 usage, 3 findings at or above \\fB\\-\\-fail\\-on\\fR, 4 "
		      "(scan) an install failed or timed out inside the sandbox.\n",
		      f);
	} else {
		fprintf(f, "fangs\\-%s \\- ", name);
		roff(f, top->summary);
		fputs("\n.SH SYNOPSIS\n", f);
		for (size_t i = 0; i < N_COMMANDS; i++)
			if (!strcmp(commands[i].name, name) && commands[i].fn)
				man_synopsis(f, &commands[i]);
		fputs(".SH DESCRIPTION\n", f);
		for (size_t i = 0; i < N_COMMANDS; i++) {
			const cli_cmd *c = &commands[i];
			if (strcmp(c->name, name) || !c->fn)
				continue;
			fprintf(f, ".SS \"fangs %s%s%s\"\n", c->name, c->sub ? " " : "", c->sub ? c->sub : "");
			roff(f, c->summary);
			fputs(".\n", f);
			if (c->description) {
				fputs(".PP\n", f);
				roff(f, c->description);
				fputc('\n', f);
			}
			if (c->opts && c->opts->name) {
				fputs(".PP\nOptions:\n", f);
				man_opts(f, c->opts);
			}
		}
		fputs(".SH SEE ALSO\n\\fBfangs\\fR(1)\n", f);
	}
	if (fclose(f)) {
		fprintf(stderr, "fangs: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* fangs __man DIR PAGE...: writes fangs.1 and fangs-COMMAND.1 for every
 * command into DIR; the PAGE names (the build's list) must be exactly the
 * pages the table makes, so that the build notices a command it does not
 * install. */
int cmd_gen_man(cli_ctx *ctx, const cli_args *a)
{
	const char *dir = a->pos[0];
	int expected = 1, rc = 0;
	(void)ctx;
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const cli_cmd *c = &commands[i];
		char page[128];
		int listed = 0;
		if (c->sub || (c->flags & CLI_HIDDEN))
			continue;
		expected++;
		snprintf(page, sizeof(page), "fangs-%s.1", c->name);
		for (int j = 1; j < a->npos; j++)
			listed |= !strcmp(strrchr(a->pos[j], '/') ? strrchr(a->pos[j], '/') + 1 : a->pos[j], page);
		if (!listed) {
			fprintf(stderr, "fangs __man: %s is not in the build's list of pages\n", page);
			rc = 1;
		}
		if (man_page(dir, c->name))
			rc = 1;
	}
	if (a->npos - 1 != expected) {
		fprintf(stderr, "fangs __man: the build lists %d pages, the command table makes %d\n", a->npos - 1,
			expected);
		rc = 1;
	}
	if (man_page(dir, NULL))
		rc = 1;
	return rc ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}

/* What the shells complete for a value of kind k: a word list, or "@file",
 * "@dir", "@command", "" (nothing). */
static const char *complete_words(cli_kind k, const char *choices)
{
	switch (k) {
	case CLI_CHOICE:
		return choices;
	case CLI_SEVERITY:
		return SEVERITIES;
	case CLI_FILE:
		return "@file";
	case CLI_DIR:
		return "@dir";
	case CLI_COMMAND:
		return "@command";
	case CLI_FLAG:
	case CLI_STR:
	case CLI_NUM:
	case CLI_SECONDS:
	case CLI_URL:
	case CLI_RUN:
	case CLI_PACKAGE:
		return "";
	}
	return "";
}

static void space_list(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == '|' ? ' ' : *s, f);
}

/* How one shell lists a command's subcommands. */
typedef struct sub_words {
	const char *right_after; /* the test that the word is the one after the command */
	const char *words;       /* before the subcommand names */
	const char *end_files;   /* after them, files too (a command with arguments of its own) */
	const char *end;         /* after them */
	int files_for_file_args; /* files only when the command's own argument is a file */
} sub_words;

/* case $cmd in ... : the subcommands of each command that has some; a
 * command with arguments of its own offers them only right after it. */
static void subcommand_cases(FILE *f, const sub_words *sw)
{
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const cli_cmd *c = &commands[i];
		if (c->sub || (c->flags & CLI_HIDDEN) || !has_subs(c->name))
			continue;
		fprintf(f, "    %s) if [[ -z $sub%s ]]; then %s", c->name, c->fn ? sw->right_after : "", sw->words);
		for (size_t j = 0; j < N_COMMANDS; j++)
			if (!strcmp(commands[j].name, c->name) && commands[j].sub)
				fprintf(f, "%s ", commands[j].sub);
		fputs(c->fn && (!sw->files_for_file_args || c->arg_kind == CLI_FILE) ? sw->end_files : sw->end, f);
	}
}

/* How one shell completes, for the per-command part its script shares. */
typedef struct shell_words {
	const char *file, *dir;         /* after an option taking a file, a directory */
	const char *words, *words_end;  /* around the words an option takes */
	const char *opts, *opts_end;    /* "complete these options" around --help --x... */
	const char *arg_file, *arg_cmd; /* a positional file, a command */
} shell_words;

/* case "$cmd $sub" in ... esac: each command's options and arguments. */
static void per_command_cases(FILE *f, const shell_words *sw)
{
	fputs("    esac\n    case \"$cmd $sub\" in\n", f);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const cli_cmd *c = &commands[i];
		if (!c->fn || (c->flags & CLI_HIDDEN))
			continue;
		/* a command without subcommands sees its first argument as sub */
		if (c->sub)
			fprintf(f, "    \"%s %s\")\n", c->name, c->sub);
		else
			fprintf(f, "    \"%s \"*)\n", c->name);
		fputs("        case $prev in\n", f);
		for (const cli_opt *o = c->opts; o && o->name; o++) {
			const char *w;
			if (o->kind == CLI_FLAG)
				continue;
			w = complete_words(o->kind, o->choices);
			fprintf(f, "        --%s|-%s) ", o->name, o->name);
			if (!strcmp(w, "@file"))
				fputs(sw->file, f);
			else if (!strcmp(w, "@dir"))
				fputs(sw->dir, f);
			else {
				fputs(sw->words, f);
				space_list(f, w);
				fputs(sw->words_end, f);
			}
		}
		fputs(sw->opts, f);
		for (const cli_opt *o = c->opts; o && o->name; o++)
			fprintf(f, " --%s", o->name);
		fputs(sw->opts_end, f);
		if (c->arg_kind == CLI_FILE)
			fputs(sw->arg_file, f);
		else if (c->arg_kind == CLI_COMMAND)
			fputs(sw->arg_cmd, f);
		fputs("        ;;\n", f);
	}
}

static void bash_script(FILE *f)
{
	fputs("# bash completion for fangs (generated from its command table: fangs __complete bash)\n"
	      "_fangs() {\n"
	      "    local cur prev cmd= sub= cmdi=0 i w\n"
	      "    cur=${COMP_WORDS[COMP_CWORD]}\n"
	      "    prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	      "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
	      "        w=${COMP_WORDS[i]}\n"
	      "        case $w in\n"
	      "        --storage|--sqlite-path|--postgres-dsn|--config) ((i++)); continue ;;\n"
	      "        -*) continue ;;\n"
	      "        esac\n"
	      "        if [[ -z $cmd ]]; then cmd=$w; cmdi=$i; elif [[ -z $sub ]]; then sub=$w; break; fi\n"
	      "    done\n"
	      "    local globals='",
	      f);
	for (const cli_opt *o = global_opts; o->name; o++)
		fprintf(f, "%s--%s", o == global_opts ? "" : " ", o->name);
	fputs("'\n    case $prev in\n", f);
	for (const cli_opt *o = global_opts; o->name; o++)
		if (o->kind != CLI_FLAG) {
			const char *w = complete_words(o->kind, o->choices);
			fprintf(f, "    --%s) ", o->name);
			if (!strcmp(w, "@file"))
				fputs("COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", f);
			else {
				fputs("COMPREPLY=($(compgen -W '", f);
				space_list(f, w);
				fputs("' -- \"$cur\")); return ;;\n", f);
			}
		}
	fputs("    esac\n    if [[ -z $cmd ]]; then\n        COMPREPLY=($(compgen -W '", f);
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!commands[i].sub && !(commands[i].flags & CLI_HIDDEN))
			fprintf(f, "%s ", commands[i].name);
	fputs("'\"$globals\" -- \"$cur\")); return\n    fi\n    case $cmd in\n", f);
	{
		static const sub_words bash = {
			" && COMP_CWORD -eq cmdi+1",
			"COMPREPLY=($(compgen -W '",
			"' -- \"$cur\") $(compgen -f -- \"$cur\")); return; fi ;;\n",
			"' -- \"$cur\")); return; fi ;;\n",
			1,
		};
		subcommand_cases(f, &bash);
	}
	static const shell_words bash = {
		"COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n",
		"COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n",
		"COMPREPLY=($(compgen -W '",
		"' -- \"$cur\")); return ;;\n",
		"        esac\n        if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W '--help",
		"' -- \"$cur\")); return; fi\n",
		"        COMPREPLY=($(compgen -f -- \"$cur\"))\n",
		"        COMPREPLY=($(compgen -c -- \"$cur\"))\n",
	};
	per_command_cases(f, &bash);
	fputs("    esac\n}\ncomplete -F _fangs fangs\n", f);
}

static void fish_cond(FILE *f, const cli_cmd *c)
{
	if (!c->sub) {
		fprintf(f, "-n '__fish_seen_subcommand_from %s' ", c->name);
		return;
	}
	fprintf(f, "-n '__fish_seen_subcommand_from %s; and __fish_seen_subcommand_from %s' ", c->name, c->sub);
}

static void fish_script(FILE *f)
{
	fputs("# fish completion for fangs (generated from its command table: fangs __complete fish)\n"
	      "complete -c fangs -f\n",
	      f);
	for (const cli_opt *o = global_opts; o->name; o++) {
		fprintf(f, "complete -c fangs -l %s", o->name);
		if (o->short_name)
			fprintf(f, " -s %c", o->short_name);
		if (o->kind == CLI_CHOICE) {
			fputs(" -x -a '", f);
			space_list(f, o->choices);
			fputc('\'', f);
		} else if (o->kind == CLI_FILE) {
			fputs(" -r -F", f);
		} else if (o->kind != CLI_FLAG) {
			fputs(" -x", f);
		}
		fputs(" -d '", f);
		for (const char *p = o->help; *p; p++)
			fputs(*p == '\'' ? "\\'" : (char[]){*p, 0}, f);
		fputs("'\n", f);
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const cli_cmd *c = &commands[i];
		if (c->flags & CLI_HIDDEN)
			continue;
		if (!c->sub) {
			fprintf(f, "complete -c fangs -n '__fish_use_subcommand' -a %s -d '", c->name);
		} else {
			fprintf(f,
				"complete -c fangs -n '__fish_seen_subcommand_from %s; and not "
				"__fish_seen_subcommand_from",
				c->name);
			for (size_t j = 0; j < N_COMMANDS; j++)
				if (!strcmp(commands[j].name, c->name) && commands[j].sub)
					fprintf(f, " %s", commands[j].sub);
			fprintf(f, "' -a %s -d '", c->sub);
		}
		for (const char *p = c->summary; *p; p++)
			fputs(*p == '\'' ? "\\'" : (char[]){*p, 0}, f);
		fputs("'\n", f);
		if (!c->fn)
			continue;
		for (const cli_opt *o = c->opts; o && o->name; o++) {
			fputs("complete -c fangs ", f);
			fish_cond(f, c);
			fprintf(f, "-l %s", o->name);
			if (o->short_name)
				fprintf(f, " -s %c", o->short_name);
			if (o->kind == CLI_CHOICE || o->kind == CLI_SEVERITY) {
				fputs(" -x -a '", f);
				space_list(f, complete_words(o->kind, o->choices));
				fputc('\'', f);
			} else if (o->kind == CLI_FILE || o->kind == CLI_DIR) {
				fputs(" -r -F", f);
			} else if (o->kind != CLI_FLAG) {
				fputs(" -x", f);
			}
			fputs(" -d '", f);
			for (const char *p = o->help; *p; p++)
				fputs(*p == '\'' ? "\\'" : (char[]){*p, 0}, f);
			fputs("'\n", f);
		}
		if (c->arg_kind == CLI_FILE && c->args) {
			fputs("complete -c fangs ", f);
			fish_cond(f, c);
			fputs("-F\n", f);
		}
	}
}

static void zsh_script(FILE *f)
{
	fputs("#compdef fangs\n# zsh completion for fangs (generated from its command table: fangs __complete zsh)\n"
	      "_fangs() {\n"
	      "    local -a words_left\n"
	      "    local cmd= sub= cmdi=0 i w prev=${words[CURRENT-1]}\n"
	      "    for ((i = 2; i < CURRENT; i++)); do\n"
	      "        w=${words[i]}\n"
	      "        case $w in\n"
	      "        --storage|--sqlite-path|--postgres-dsn|--config) ((i++)); continue ;;\n"
	      "        -*) continue ;;\n"
	      "        esac\n"
	      "        if [[ -z $cmd ]]; then cmd=$w; cmdi=$i; elif [[ -z $sub ]]; then sub=$w; break; fi\n"
	      "    done\n"
	      "    case $prev in\n",
	      f);
	for (const cli_opt *o = global_opts; o->name; o++)
		if (o->kind == CLI_CHOICE) {
			fprintf(f, "    --%s) compadd -- ", o->name);
			space_list(f, o->choices);
			fputs("; return ;;\n", f);
		} else if (o->kind == CLI_FILE) {
			fprintf(f, "    --%s) _files; return ;;\n", o->name);
		}
	fputs("    esac\n    if [[ -z $cmd ]]; then\n        if [[ $PREFIX == -* ]]; then compadd -- ", f);
	for (const cli_opt *o = global_opts; o->name; o++)
		fprintf(f, "--%s ", o->name);
	fputs("; return; fi\n        local -a cmds=(", f);
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!commands[i].sub && !(commands[i].flags & CLI_HIDDEN)) {
			fprintf(f, "'%s:", commands[i].name);
			for (const char *p = commands[i].summary; *p; p++)
				fputs(*p == '\'' ? "'\\''" : *p == ':' ? "\\:" : (char[]){*p, 0}, f);
			fputs("' ", f);
		}
	fputs(")\n        _describe command cmds; return\n    fi\n    case $cmd in\n", f);
	{
		static const sub_words zsh = {
			" && CURRENT -eq cmdi+1", "compadd -- ", "; _files; return; fi ;;\n", "; return; fi ;;\n", 0,
		};
		subcommand_cases(f, &zsh);
	}
	static const shell_words zsh = {
		"_files; return ;;\n",
		"_files -/; return ;;\n",
		"compadd -- ",
		"; return ;;\n",
		"        esac\n        if [[ $PREFIX == -* ]]; then compadd -- --help",
		"; return; fi\n",
		"        _files\n",
		"        _command_names\n",
	};
	per_command_cases(f, &zsh);
	fputs("    esac\n}\n_fangs \"$@\"\n", f);
}

int cmd_gen_complete(cli_ctx *ctx, const cli_args *a)
{
	const char *sh = a->pos[0];
	(void)ctx;
	if (!strcmp(sh, "bash"))
		bash_script(stdout);
	else if (!strcmp(sh, "zsh"))
		zsh_script(stdout);
	else if (!strcmp(sh, "fish"))
		fish_script(stdout);
	else
		return usage_error(a->cmd, "no completion for shell '%s' (bash, zsh, fish)%s", sh, "");
	return fflush(stdout) ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}
