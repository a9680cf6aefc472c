/*
 * differ/cred.c - places that hold secrets.
 *
 * A read of one of these by anything new is the classic install-time theft
 * (tokens, keys, wallets, browser profiles), so it deviates as fs_cred_read.
 * Home places are written in the normalized "~/" form, which the path
 * normalizer gives to /root and /home/<user> alike.
 */
#include <string.h>

#include "differ/internal.h"

static const char *const builtin_places[] = {
	/* package managers and developer tokens */
	"~/.npmrc",
	"~/.yarnrc",
	"~/.yarnrc.yml",
	"~/.pypirc",
	"~/.git-credentials",
	"~/.netrc",
	"~/.config/gh/hosts.yml",
	"~/.docker/config.json",
	"~/.kube/config",
	/* keys and cloud credentials */
	"~/.ssh/",
	"~/.gnupg/",
	"~/.aws/",
	"~/.azure/",
	"~/.config/gcloud/",
	/* system secrets */
	"/etc/shadow",
	"/etc/gshadow",
	/* browser profiles (cookies, saved passwords, wallet extensions) */
	"~/.mozilla/firefox/",
	"~/.config/google-chrome/",
	"~/.config/chromium/",
	"~/.config/BraveSoftware/",
	"~/.config/microsoft-edge/",
	"~/.config/opera/",
	"~/.config/vivaldi/",
	/* crypto wallets */
	"~/.bitcoin/",
	"~/.electrum/",
	"~/.ethereum/keystore/",
	"~/.config/Exodus/",
	"~/.config/solana/",
};

/* MetaMask's extension directory, wherever a Chromium-based browser keeps it. */
static const char *const wallet_extension_ids[] = {
	"nkbihfbeogaeaoehlefnkodbefgpgknn", /* Chrome Web Store */
	"ejbalbakoplchlghecdalmeeeajnimhm", /* Edge Add-ons */
};

/* `place` ending in '/' is a directory: the directory itself and everything
 * below; otherwise the file itself (or, if it is a directory, below it). */
static bool under(const char *path, const char *place)
{
	size_t pl = strlen(place), n = strlen(path);
	if (pl == 0)
		return false;
	if (place[pl - 1] == '/')
		return strncmp(path, place, pl) == 0 || (n == pl - 1 && strncmp(path, place, n) == 0);
	return strncmp(path, place, pl) == 0 && (path[pl] == '\0' || path[pl] == '/');
}

static bool dotenv(const char *norm)
{
	const char *b = strrchr(norm, '/');
	b = b ? b + 1 : norm;
	return strcmp(b, ".env") == 0 || strncmp(b, ".env.", 5) == 0;
}

static bool has_component(const char *path, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = strstr(path, name); p; p = strstr(p + 1, name)) {
		if ((p == path || p[-1] == '/') && (p[nl] == '\0' || p[nl] == '/'))
			return true;
	}
	return false;
}

static bool builtin_cred(const char *norm)
{
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(builtin_places); i++)
		if (under(norm, builtin_places[i]))
			return true;
	for (size_t i = 0; i < FANGS_ARRAY_SIZE(wallet_extension_ids); i++)
		if (has_component(norm, wallet_extension_ids[i]))
			return true;
	return dotenv(norm);
}

bool fangs__is_cred(const fangs_config *cfg, const char *raw, const char *norm)
{
	char buf[FANGS__FP_BUF];
	if (!norm && raw) {
		fangs__sink o;
		fangs__sink_init(&o, buf, sizeof(buf));
		fangs__norm_path(NULL, raw, strlen(raw), &o);
		fangs__sink_end(&o);
		norm = buf;
	}
	if (!norm)
		return false;
	if ((!cfg || cfg->builtin_cred_paths) && builtin_cred(norm))
		return true;
	for (size_t i = 0; cfg && i < cfg->n_watched_paths; i++) {
		const fangs_watched_path *w = &cfg->watched_paths[i];
		if (!w->cred || !w->prefix)
			continue;
		/* "~/x" is any home; anything else also matches as written */
		if (under(norm, w->prefix) || (raw && under(raw, w->prefix)))
			return true;
	}
	return false;
}

const char *fangs__open_path(const fangs_event *ev)
{
	if (ev->decoy && *ev->decoy)
		return ev->decoy;
	if (ev->real_path && *ev->real_path)
		return ev->real_path;
	return ev->path;
}

bool fangs__open_is_cred(const fangs_config *cfg, const fangs_event *ev, const char *norm)
{
	const char *p = fangs__open_path(ev);
	if (ev->kind != FANGS_EV_FILE_OPEN || !p)
		return false;
	if (ev->decoy && *ev->decoy)
		return true;
	if (fangs__is_cred(cfg, p, norm))
		return true;
	/* a path written as a secret's place is a try at it, whatever it was */
	return ev->path && ev->path != p && fangs__is_cred(cfg, ev->path, NULL);
}

int fangs_differ_is_cred_path(const fangs_differ *d, const char *path)
{
	if (!path)
		return 0;
	return fangs__is_cred(d ? d->config : NULL, path, NULL);
}
