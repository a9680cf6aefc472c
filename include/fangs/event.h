/*
 * fangs/event.h - the event model and its NDJSON codec.
 *
 * One observed action of a sandboxed process: a file open, an exec, a
 * connect, a DNS query, a TLS SNI, a fork, an exit or a privileged syscall. The wire and storage
 * form is one JSON object per line (see docs/events.md). In memory an event
 * is a flat struct; fields that a kind does not use are zero / NULL.
 * Strings are owned by the event and released by fangs_event_clear().
 */
#ifndef FANGS_EVENT_H
#define FANGS_EVENT_H

#include "common.h"

FANGS_BEGIN_DECL

typedef enum fangs_event_kind {
	FANGS_EV_NONE = 0,
	FANGS_EV_FILE_OPEN = 1,   /**< "file_open": path, flags (+ real_path, ino, dev, decoy) */
	FANGS_EV_EXEC = 2,        /**< "exec": path, argv */
	FANGS_EV_NET_CONNECT = 3, /**< "net_connect": family, addr, port, proto */
	FANGS_EV_DNS_QUERY = 4,   /**< "dns_query": qname, qtype (+ addr/port of the resolver) */
	FANGS_EV_TLS_SNI = 5,     /**< "tls_sni": sni (+ addr/port when known) */
	FANGS_EV_PROC_FORK = 6,   /**< "process_fork": pid = child, ppid = parent */
	FANGS_EV_PROC_EXIT = 7,   /**< "process_exit": exit_code */
	/** "proxy_request": a request to the sandbox's recording proxy
	 * (network mode proxy): host, port, method, path (plain HTTP), sni
	 * (TLS through CONNECT), bytes_out/bytes_in, status, allowed; addr is
	 * the server's address when the proxy connected to it. */
	FANGS_EV_PROXY_REQUEST = 8,
	FANGS_EV_SYSCALL = 9 /**< "syscall": op, detail, target, arg (+ path) */
} fangs_event_kind;

#define FANGS_EV_KIND_MAX 9

/** Open intent bits of a file_open (JSON "r", "w", "rw"). */
#define FANGS_OPEN_READ 1u
#define FANGS_OPEN_WRITE 2u

/** Address family of a network event (JSON "ipv4", "ipv6", "unix"). */
typedef enum fangs_family {
	FANGS_FAMILY_NONE = 0,
	FANGS_FAMILY_IPV4 = 1,
	FANGS_FAMILY_IPV6 = 2,
	FANGS_FAMILY_UNIX = 3
} fangs_family;

/** Transport (JSON "tcp", "udp"). */
typedef enum fangs_proto {
	FANGS_PROTO_NONE = 0,
	FANGS_PROTO_TCP = 1,
	FANGS_PROTO_UDP = 2
} fangs_proto;

#define FANGS_ANCESTRY_MAX 5

/** When in a run an event happened (JSON "phase"; omitted = install). */
typedef enum fangs_event_phase {
	FANGS_PHASE_INSTALL = 0, /**< "install": npm and the lifecycle scripts it runs */
	FANGS_PHASE_IMPORT = 1   /**< "import": the package being required, as the code that uses it does */
} fangs_event_phase;

#define FANGS_PHASE_MAX 1

/** One ancestor of the acting process (parent first). */
typedef struct fangs_ancestor {
	int32_t pid;
	char *comm;
	char *exe;
} fangs_ancestor;

/** Which package's lifecycle script caused an event. package NULL = none
 * (npm's own work, or not attributed). The sensor takes it from a mark the
 * kernel sets when npm starts the script and every descendant inherits, not
 * from the environment a process carries. */
typedef struct fangs_origin {
	char *package; /**< npm_package_name */
	char *version; /**< npm_package_version */
	char *script;  /**< npm_lifecycle_event: preinstall, install, postinstall... */
	char *command; /**< npm_lifecycle_script text, when known */
} fangs_origin;

typedef struct fangs_event {
	fangs_event_kind kind;
	int64_t id;     /**< storage id; 0 until stored */
	uint64_t ts_ns; /**< monotonic or wall-clock nanoseconds, as recorded */
	int32_t pid;
	int32_t ppid;
	uint32_t uid;
	char *comm; /**< short command name (<= 15 chars from the kernel) */

	char *path;     /**< file_open: the path; exec: the binary */
	uint32_t flags; /**< file_open: FANGS_OPEN_* bits */
	char **argv;    /**< exec: argc strings */
	size_t argc;

	fangs_family family; /**< net_connect, dns_query, tls_sni */
	char *addr;          /**< textual address ("203.0.113.7", "::1") */
	uint16_t port;
	fangs_proto proto;

	char *qname;       /**< dns_query */
	uint16_t qtype;    /**< dns_query: numeric QTYPE (JSON: "A", "AAAA"... or a number) */
	char *sni;         /**< tls_sni */
	int32_t exit_code; /**< process_exit */

	size_t n_ancestry;
	fangs_ancestor ancestry[FANGS_ANCESTRY_MAX];
	fangs_origin origin;

	char *run_id; /**< the run the event belongs to, when tagged */

	/* proxy_request (appended; zero for every other kind) */
	char *host;         /**< the host asked for: CONNECT's target or the URL's host */
	char *method;       /**< "CONNECT", "GET", ... */
	uint64_t bytes_out; /**< bytes the client sent on to the server */
	uint64_t bytes_in;  /**< bytes the server sent back to the client */
	int32_t status;     /**< the HTTP status the client got (403 = refused, 502 = server unreachable) */
	int32_t allowed;    /**< 1 when the policy let the request through, 0 when refused */
	/* File identity (file_open), from the kernel at the open's exit. `path`
	 * stays what the caller wrote (relative, through symlinks, /proc/self/root
	 * ...); these say which file it was. */
	char *real_path; /**< the opened file's path from the process's root (NULL: the open failed
			      or was not resolved); starts with ".../" when cut */
	uint64_t ino;    /**< inode number (0 = unknown) */
	uint64_t dev;    /**< device of the file system, as stat(2)'s st_dev (0 = unknown) */
	/** file_open: the sandbox's decoy credential this file is, named by its
	 * place inside the sandbox ("/root/.npmrc"), whatever path reached it;
	 * set by the scan from (dev, ino). NULL otherwise. */
	char *decoy;
	/** exec of an attributed process whose environment contradicts the
	 * kernel's mark: the npm_package_name it carries ("" when none) where
	 * npm gave the script another. NULL when the two agree or nothing is
	 * known. `origin` stays the kernel's. */
	char *env_package;
	fangs_event_phase phase; /**< install (default) or import */
	/* syscall: a privileged or cross-process operation (docs/events.md) */
	char *op;       /**< "ptrace", "mount", "umount", "fsopen", "fsmount", "move_mount", "open_tree",
			      "unshare", "setns", "clone", "kill", "init_module", "finit_module", "bpf",
			      "perf_event_open" */
	char *detail;   /**< what it asked for, in words: "attach", "user,net", "SIGKILL node (run)"... */
	int32_t target; /**< the process it aims at (kill: host pid; ptrace: as the caller names it) */
	uint64_t arg;   /**< the raw request, flags, signal or command */
} fangs_event;

/** A growable array of events. Zero-initialise before first use. */
typedef struct fangs_event_list {
	fangs_event *items;
	size_t count;
	size_t capacity;
} fangs_event_list;

/** "file_open", "exec", ... ; "none" for unknown. */
FANGS_EXTERN(const char *) fangs_event_kind_name(fangs_event_kind kind);
/** Parses a kind name; FANGS_EV_NONE when unknown. */
FANGS_EXTERN(fangs_event_kind) fangs_event_kind_parse(const char *name);

/** "install", "import"; "unknown" for a value out of range. */
FANGS_EXTERN(const char *) fangs_event_phase_name(fangs_event_phase phase);
/** Parses "install" / "import". 0 or FANGS_EINVAL. */
FANGS_EXTERN(int) fangs_event_phase_parse(const char *name, fangs_event_phase *out);

/** "A", "AAAA", "TXT"... or NULL when the type has no name here. */
FANGS_EXTERN(const char *) fangs_dns_qtype_name(uint16_t qtype);
/** Parses "A"/"aaaa"/"28"; 0 when unknown. */
FANGS_EXTERN(uint16_t) fangs_dns_qtype_parse(const char *name);

/** Releases every string of `ev` and zeroes it. NULL-safe. */
FANGS_EXTERN(void) fangs_event_clear(fangs_event *ev);
/** Deep copy. 0 or FANGS_ENOMEM. */
FANGS_EXTERN(int) fangs_event_copy(fangs_event *dst, const fangs_event *src);

/** Appends a slot to the list and returns it zeroed (NULL on ENOMEM). */
FANGS_EXTERN(fangs_event *) fangs_event_list_push(fangs_event_list *list);
/** Moves `ev` into the list (ev is zeroed). 0 or FANGS_ENOMEM. */
FANGS_EXTERN(int) fangs_event_list_append(fangs_event_list *list, fangs_event *ev);
/** Clears every event and frees the array; the list is reusable after. */
FANGS_EXTERN(void) fangs_event_list_free(fangs_event_list *list);

/**
 * Decodes one NDJSON line (no trailing newline needed). Fills `ev` (which is
 * cleared first). Rejects unknown kinds, missing required fields and values
 * of the wrong type with FANGS_EPARSE and a message naming the field.
 */
FANGS_EXTERN(int) fangs_event_from_json(fangs_event *ev, const char *json, size_t len);

/**
 * Encodes `ev` as one JSON object without a newline. `*out` is malloc'd and
 * NUL-terminated; `*out_len` (optional) receives its length.
 */
FANGS_EXTERN(int) fangs_event_to_json(const fangs_event *ev, char **out, size_t *out_len);

/**
 * Reads an NDJSON stream: every non-blank line is an event. On a bad line
 * returns FANGS_EPARSE with a message "line N: ..." and leaves the events
 * decoded before it in `out`. `source` names the input in messages (may be
 * NULL).
 */
FANGS_EXTERN(int) fangs_events_parse_ndjson(fangs_event_list *out, const char *data, size_t len, const char *source);

/** Reads an NDJSON file ("-" = stdin) with fangs_events_parse_ndjson(). */
FANGS_EXTERN(int) fangs_events_read_file(fangs_event_list *out, const char *path);

/**
 * A one-line summary of what an event did ("exec /bin/sh -c ...",
 * "open(r) /etc/passwd", "dns A evil.example"), truncated to fit `cap`.
 * Returns `buf`.
 */
FANGS_EXTERN(const char *) fangs_event_summary(const fangs_event *ev, char *buf, size_t cap);

FANGS_END_DECL

#endif
