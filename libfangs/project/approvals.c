/*
 * project/approvals.c - npm's install-script approvals: the allowScripts
 * object of package.json and the allow-scripts setting of the project's
 * .npmrc (npm 11).
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "fangs/project.h"
#include "fangs/text.h"

static int load_manifest(const char *dir, json_object **out, char *path, size_t cap)
{
	char *text = NULL;
	size_t len = 0;
	json_tokener *tok;
	int rc;
	snprintf(path, cap, "%s/package.json", dir);
	*out = NULL;
	if ((rc = fangs__read_file(path, &text, &len)))
		return rc;
	if (!(tok = json_tokener_new_ex(64))) {
		free(text);
		return fangs__error_oom();
	}
	*out = json_tokener_parse_ex(tok, text, (int)len);
	json_tokener_free(tok);
	free(text);
	if (!*out || !json_object_is_type(*out, json_type_object)) {
		json_object_put(*out);
		*out = NULL;
		return fangs_error_set(FANGS_EPARSE, "%s: not a JSON object", path);
	}
	return 0;
}

/* The allowScripts object (NULL when absent); FANGS_EPARSE when not an object. */
static int allow_scripts(json_object *manifest, const char *path, json_object **out)
{
	*out = NULL;
	if (!json_object_object_get_ex(manifest, "allowScripts", out))
		return 0;
	if (!json_object_is_type(*out, json_type_object))
		return fangs_error_set(FANGS_EPARSE, "%s: \"allowScripts\": not an object", path);
	return 0;
}

/* What allowScripts says of name@version: 1 approved, 0 denied, -1 nothing. */
static int verdict(json_object *allow, const char *name, const char *version)
{
	int by_name = -1, by_version = -1;
	size_t nlen = strlen(name);
	if (!allow)
		return -1;
	json_object_object_foreach(allow, key, val)
	{
		int v = json_object_is_type(val, json_type_boolean) ? json_object_get_boolean(val) : -1;
		if (v < 0)
			continue;
		if (!strcmp(key, name))
			by_name = by_name == 0 ? 0 : v;
		else if (!strncmp(key, name, nlen) && key[nlen] == '@' && !strcmp(key + nlen + 1, version))
			by_version = by_version == 0 ? 0 : v;
	}
	if (by_name == 0 || by_version == 0)
		return 0;
	if (by_name == 1 || by_version == 1)
		return 1;
	return -1;
}

/* Does the project's .npmrc list name (or name@version) in allow-scripts? */
static int npmrc_allows(const char *dir, const char *name, const char *version)
{
	char path[4096], line[8192];
	FILE *f;
	int found = 0;
	snprintf(path, sizeof(path), "%s/.npmrc", dir);
	if (!(f = fopen(path, "re")))
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p = line, *v;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "allow-scripts", 13))
			continue;
		p += 13;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '=')
			continue;
		v = p + 1;
		v[strcspn(v, "\r\n")] = '\0';
		for (char *save = NULL, *tok = strtok_r(v, ", \t", &save); tok && !found;
		     tok = strtok_r(NULL, ", \t", &save)) {
			size_t nlen = strlen(name);
			found = !strcmp(tok, name) ||
				(!strncmp(tok, name, nlen) && tok[nlen] == '@' && !strcmp(tok + nlen + 1, version));
		}
	}
	fclose(f);
	return found;
}

int fangs_project_script_approved(const char *dir, const char *name, const char *version)
{
	json_object *manifest, *allow;
	char path[4200];
	int rc, v;
	if (!dir || !name || !version)
		return fangs_error_set(FANGS_EINVAL, "fangs_project_script_approved: bad arguments");
	if ((rc = load_manifest(dir, &manifest, path, sizeof(path))))
		return rc;
	if ((rc = allow_scripts(manifest, path, &allow))) {
		json_object_put(manifest);
		return rc;
	}
	v = verdict(allow, name, version);
	json_object_put(manifest);
	if (v >= 0)
		return v;
	return npmrc_allows(dir, name, version);
}

/* "name@version" -> its parts (the name may be scoped: "@s/n@1.0.0"). */
static int split_spec(const char *spec, char *name, size_t cap, const char **version)
{
	const char *at = spec[0] ? strrchr(spec + 1, '@') : NULL;
	if (!at || (size_t)(at - spec) >= cap || !at[1])
		return fangs_error_set(FANGS_EINVAL, "approval \"%s\" is not name@version", spec);
	memcpy(name, spec, (size_t)(at - spec));
	name[at - spec] = '\0';
	*version = at + 1;
	if (fangs_package_name_check(name, NULL) || !fangs__version_is_exact(*version))
		return fangs_error_set(FANGS_EINVAL, "approval \"%s\" is not name@version", spec);
	return 0;
}

int fangs_project_approve(const char *dir, const char *const *specs, size_t n, size_t *approved)
{
	json_object *manifest = NULL, *allow;
	char path[4200], tmp[4300];
	const char *text;
	size_t count = 0;
	FILE *f;
	int rc;

	if (approved)
		*approved = 0;
	if (!dir || (n && !specs))
		return fangs_error_set(FANGS_EINVAL, "fangs_project_approve: bad arguments");
	if ((rc = load_manifest(dir, &manifest, path, sizeof(path))))
		return rc;
	if ((rc = allow_scripts(manifest, path, &allow)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		char name[256];
		const char *version = NULL;
		if ((rc = split_spec(specs[i], name, sizeof(name), &version)))
			goto out;
		int v = verdict(allow, name, version);
		if (v == 0)
			continue; /* a denial wins, as with npm */
		json_object *cur;
		if (allow && json_object_object_get_ex(allow, specs[i], &cur) &&
		    json_object_is_type(cur, json_type_boolean) && json_object_get_boolean(cur))
			continue;
		if (!allow) {
			allow = json_object_new_object();
			if (!allow || json_object_object_add(manifest, "allowScripts", allow)) {
				json_object_put(allow);
				rc = fangs__error_oom();
				goto out;
			}
		}
		if (json_object_object_add(allow, specs[i], json_object_new_boolean(1))) {
			rc = fangs__error_oom();
			goto out;
		}
		count++;
	}
	if (!count)
		goto out;
	/* npm's own layout: two spaces, "key": value, a final newline */
	text = json_object_to_json_string_ext(manifest, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
								JSON_C_TO_STRING_NOSLASHESCAPE);
	snprintf(tmp, sizeof(tmp), "%s.fangs-tmp", path);
	if (!text || !(f = fopen(tmp, "we"))) {
		rc = fangs__error_errno(FANGS_EIO, tmp);
		goto out;
	}
	int werr = fputs(text, f) < 0 || fputc('\n', f) < 0;
	if (fclose(f) != 0)
		werr = 1;
	if (werr) {
		rc = fangs__error_errno(FANGS_EIO, tmp);
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		rc = fangs__error_errno(FANGS_EIO, path);
		unlink(tmp);
		goto out;
	}
out:
	json_object_put(manifest);
	if (rc == 0 && approved)
		*approved = count;
	return rc;
}
