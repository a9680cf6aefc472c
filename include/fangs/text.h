/*
 * fangs/text.h - text that came from outside: npm package names and
 * version specs checked by npm's own rules, escaping for terminals and
 * logs, valid UTF-8 for JSON.
 *
 * Package names, versions, hostnames, paths and command lines reach fangs
 * from the command line, the network, the registry and the sandbox. Every
 * entry point checks names and versions with the functions below before it
 * stores anything or hands them to npm; every human-readable print of such
 * text goes through fangs_text_escape(); every JSON document fangs emits is
 * valid UTF-8 (fangs_utf8_clean()).
 */
#ifndef FANGS_TEXT_H
#define FANGS_TEXT_H

#include "common.h"

FANGS_BEGIN_DECL

/** Longest package name accepted (npm's limit for new packages). */
#define FANGS_PACKAGE_NAME_MAX 214
/** Longest version, range or dist-tag accepted. */
#define FANGS_PACKAGE_VERSION_MAX 256

/**
 * Checks an npm package name by npm's rules (validate-npm-package-name 7):
 * not empty, at most FANGS_PACKAGE_NAME_MAX bytes, no leading '.', '_' or
 * '-', no leading or trailing space, not "node_modules" nor "favicon.ico"
 * (in any case), and only URL-safe characters (A-Z a-z 0-9 - _ . ! ~ * '
 * ( )), except for the "@scope/name" form of a scoped name (one '@' first,
 * one '/', both parts URL-safe, the name not starting with '.'). Names that
 * npm still installs but no longer lets anyone publish (capital letters,
 * ~'!()* in the name part) are accepted: the registry serves them. npm's
 * warning for names of node's core modules is not applied.
 *
 * Returns 0, or FANGS_EINVAL with a static reason in *why (when `why` is
 * not NULL; "name cannot start with a hyphen") and the last error set to a
 * message naming the (escaped) name.
 */
FANGS_EXTERN(int) fangs_package_name_check(const char *name, const char **why);

/** fangs_package_name_check() and npm's rules for new packages on top: no
 * capital letters, none of ~'!()* in the name part. */
FANGS_EXTERN(int) fangs_package_name_check_new(const char *name, const char **why);

/**
 * Checks what may follow "name@" for a registry install: a semver version
 * ("1.2.3", "v1.2.3-beta.1+build"), a range ("^1.2", ">=1 <2 || 3.x",
 * "1.0.0 - 2", "*") or a dist-tag ("latest", "next"; URL-safe characters).
 * Refused, each with its reason: empty or longer than
 * FANGS_PACKAGE_VERSION_MAX, paths ('/', '\\', a leading '.' or '~/'),
 * "..", "file:", URLs, git specs ("git+...", "github:...", "#commit"), npm
 * aliases ("npm:..."), '@', a leading '-', control characters, non-ASCII,
 * and anything that is neither a version, a range nor a tag.
 * Returns 0 or FANGS_EINVAL as fangs_package_name_check().
 */
FANGS_EXTERN(int) fangs_package_version_check(const char *version, const char **why);

/**
 * Splits a registry spec, "name" or "name@version-range-or-tag" (scoped:
 * "@scope/name@1.0.0"), checking both parts. `*name` and `*version`
 * (NULL when the spec names no version) are malloc'd; free(). Returns 0 or
 * FANGS_EINVAL (a path, a URL, a git or file: spec is no registry spec) or
 * FANGS_ENOMEM.
 */
FANGS_EXTERN(int) fangs_package_spec_parse(const char *spec, char **name, char **version);

/**
 * Is `spec` an explicit local path: "/...", "./...", "../...", "." or
 * ".."? Only these forms make fangs_scan() install a local directory or
 * tarball; "name@../x", "file:x" and URLs are none.
 */
FANGS_EXTERN(int) fangs_package_spec_is_path(const char *spec);

/**
 * Escapes `len` bytes of `s` for a terminal or a log line: printable ASCII
 * and valid UTF-8 are kept; '\\' becomes "\\\\"; newline, tab and carriage
 * return become "\\n", "\\t", "\\r"; other control characters (C0, ESC, DEL)
 * and bytes that are not valid UTF-8 become "\\xNN"; C1 controls
 * (U+0080..U+009F), bidirectional overrides and isolates (U+202A..U+202E,
 * U+2066..U+2069, U+200E, U+200F, U+061C) and the line and paragraph
 * separators (U+2028, U+2029) become "\\u{NNNN}". The result is one line
 * that cannot move the cursor, change colours or reorder what follows.
 *
 * Writes at most `cap` bytes including the terminating NUL into `dst`
 * (truncated on a whole escape; `dst` may be NULL when `cap` is 0) and
 * returns the length the whole escaped text needs, as snprintf().
 */
FANGS_EXTERN(size_t) fangs_text_escape(char *dst, size_t cap, const char *s, size_t len);

/** The escaped copy of a NUL-terminated string (free()); NULL = "(null)";
 * NULL only when out of memory. */
FANGS_EXTERN(char *) fangs_text_escape_dup(const char *s);

/** Is `s` (`len` bytes) free of anything fangs_text_escape() would change
 * and at most `max` bytes? (1 or 0.) For names shown as they are, such as
 * a runner's hostname. */
FANGS_EXTERN(int) fangs_text_is_clean(const char *s, size_t len, size_t max);

/** Is `s` (`len` bytes) valid UTF-8 (no overlong forms, no surrogates,
 * nothing above U+10FFFF)? (1 or 0.) */
FANGS_EXTERN(int) fangs_utf8_valid(const char *s, size_t len);

/**
 * A copy of `len` bytes of `s` in which every byte that is not part of a
 * valid UTF-8 sequence is replaced by U+FFFD (EF BF BD); valid text is
 * copied unchanged. NUL-terminated; its length in *out_len (may be NULL).
 * Applied to a serialized JSON document this makes it valid UTF-8 (outside
 * strings JSON is ASCII). NULL when out of memory.
 */
FANGS_EXTERN(char *) fangs_utf8_clean(const char *s, size_t len, size_t *out_len);

FANGS_END_DECL

#endif
