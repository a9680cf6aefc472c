/*
 * sandbox/decoy.c - a lived-in developer's home, new on every run: a person
 * (login, name, host name), dotfiles, shell history, a few projects, and
 * credentials in the formats of the real ones (npm and GitHub tokens with
 * their checksum, AWS keys, OpenSSH private keys that parse, a Docker Hub
 * token, a project .env). None of them is valid anywhere and none carries a
 * marker word: a stealer cannot tell them from real ones, and the scan knows
 * every secret (fangs_sandbox_decoys) to find it in what leaves.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "sandbox/decoy.h"
#include "core/fsutil.h"
#include "sandbox/internal.h"

static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void rnd(void *buf, size_t n)
{
	/* getrandom does not fail on a running system; a weak fallback beats no run */
	if (fangs__random(buf, n) < 0) {
		unsigned char *p = buf;
		for (size_t i = 0; i < n; i++)
			p[i] = (unsigned char)(rand() ^ (int)(fangs__monotonic_ns() >> (i % 16)));
	}
}

static uint32_t rnd_below(uint32_t n)
{
	uint32_t v, lim = UINT32_MAX - UINT32_MAX % n;
	do
		rnd(&v, sizeof(v));
	while (v >= lim);
	return v % n;
}

#define PICK(arr) ((arr)[rnd_below((uint32_t)(sizeof(arr) / sizeof((arr)[0])))])

/* Words a package could grep for to tell a planted secret; random text
 * spells one now and then. */
static int has_marker(const char *s)
{
	static const char *const words[] = {"fake", "test", "example", "sandbox", "dummy", "fangs", "decoy", "honey"};
	for (const char *p = s; *p; p++)
		for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++)
			if (strncasecmp(p, words[w], strlen(words[w])) == 0)
				return 1;
	return 0;
}

/* n characters of `alphabet`, uniformly, NUL-terminated (out has n+1). */
static void rnd_chars(char *out, size_t n, const char *alphabet)
{
	uint32_t k = (uint32_t)strlen(alphabet);
	do {
		for (size_t i = 0; i < n; i++)
			out[i] = alphabet[rnd_below(k)];
		out[n] = '\0';
	} while (has_marker(out));
}

static uint32_t crc32(const char *s, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= (unsigned char)s[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
	}
	return ~c;
}

/* GitHub's token layout, which npm's granular tokens share: a prefix, 30
 * random base62 characters, and their CRC32 in 6 base62 digits. */
static void checksummed_token(char *out, size_t cap, const char *prefix)
{
	char body[31], sum[7];
	uint32_t c;
	rnd_chars(body, 30, B62);
	c = crc32(body, 30);
	for (int i = 5; i >= 0; i--) {
		sum[i] = B62[c % 62];
		c /= 62;
	}
	sum[6] = '\0';
	snprintf(out, cap, "%s%s%s", prefix, body, sum);
}

/* ---- OpenSSH private keys ------------------------------------------------- */

typedef struct blob {
	unsigned char *p;
	size_t n, cap;
	int oom;
} blob;

static void put(blob *b, const void *data, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		while (cap < b->n + n)
			cap *= 2;
		unsigned char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, data, n);
	b->n += n;
}

static void put_u32(blob *b, uint32_t v)
{
	unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
			      (unsigned char)v};
	put(b, x, 4);
}

static void put_str(blob *b, const void *s, size_t n)
{
	put_u32(b, (uint32_t)n);
	put(b, s, n);
}

/* A random positive integer of `bits` bits (top bit set), as an mpint;
 * *at gets the offset of its random bytes in the blob. */
static void put_rnd_mpint(blob *b, size_t bits, int odd, size_t *at)
{
	unsigned char v[513];
	size_t n = bits / 8;
	rnd(v + 1, n);
	v[1] |= 0x80;
	if (odd)
		v[n] |= 1;
	v[0] = 0;
	/* a set top bit needs a leading zero byte to stay positive */
	put_str(b, v, n + 1);
	if (at)
		*at = b->n - n;
}

static char *b64_encode(const unsigned char *in, size_t n)
{
	char *out = malloc((n + 2) / 3 * 4 + 1);
	size_t k = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);
		out[k++] = B64[v >> 18 & 63];
		out[k++] = B64[v >> 12 & 63];
		out[k++] = i + 1 < n ? B64[v >> 6 & 63] : '=';
		out[k++] = i + 2 < n ? B64[v & 63] : '=';
	}
	out[k] = '\0';
	return out;
}

#define KEY_LINE 70
#define KEY_SECRET 64

/* The file text of an OpenSSH private key whose private section is `priv`
 * (after the check ints), and in *secret KEY_SECRET characters of one of
 * its lines that encode only the random bytes [a, b) of the blob. */
static char *openssh_file(const blob *pub, const blob *priv, size_t a, size_t b, char **secret)
{
	blob k = {0}, sec = {0};
	unsigned char check[4];
	char *body = NULL, *text = NULL;
	size_t lo, hi, s, off;

	*secret = NULL;
	rnd(check, sizeof(check));
	put(&sec, check, 4);
	put(&sec, check, 4);
	off = 8;
	put(&sec, priv->p, priv->n);
	for (unsigned char pad = 1; sec.n % 8; pad++)
		put(&sec, &pad, 1);
	put(&k, "openssh-key-v1", 15);
	put_str(&k, "none", 4);
	put_str(&k, "none", 4);
	put_str(&k, "", 0);
	put_u32(&k, 1);
	put_str(&k, pub->p, pub->n);
	put_u32(&k, (uint32_t)sec.n);
	/* where the private section's random bytes land in the whole blob */
	a += k.n + off;
	b += k.n + off;
	put(&k, sec.p, sec.n);
	free(sec.p);
	if (k.oom || sec.oom || !(body = b64_encode(k.p, k.n)))
		goto out;
	lo = (a + 2) / 3 * 4;
	hi = b / 3 * 4;
	for (s = lo; s + KEY_SECRET <= hi; s++)
		if (s % KEY_LINE + KEY_SECRET <= KEY_LINE)
			break;
	if (s + KEY_SECRET > hi || !(*secret = malloc(KEY_SECRET + 1)))
		goto out;
	memcpy(*secret, body + s, KEY_SECRET);
	(*secret)[KEY_SECRET] = '\0';
	{
		size_t n = strlen(body), cap = n + n / KEY_LINE + 128, at = 0;
		if (!(text = malloc(cap)))
			goto out;
		at += (size_t)snprintf(text, cap, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
		for (size_t i = 0; i < n; i += KEY_LINE)
			at += (size_t)snprintf(text + at, cap - at, "%.*s\n", KEY_LINE, body + i);
		snprintf(text + at, cap - at, "-----END OPENSSH PRIVATE KEY-----\n");
	}
out:
	if (!text) {
		free(*secret);
		*secret = NULL;
	}
	free(body);
	free(k.p);
	return text;
}

/* An ed25519 key: the file, its .pub line, the secret to look for. */
static int ed25519_key(const char *comment, char **file, char **publine, char **secret)
{
	unsigned char seed[32], pk[32];
	blob pub = {0}, priv = {0};
	size_t a;
	char *pub64 = NULL;

	*file = *publine = NULL;
	rnd(seed, sizeof(seed));
	rnd(pk, sizeof(pk));
	put_str(&pub, "ssh-ed25519", 11);
	put_str(&pub, pk, 32);
	put_str(&priv, "ssh-ed25519", 11);
	put_str(&priv, pk, 32);
	put_u32(&priv, 64);
	a = priv.n;
	put(&priv, seed, 32);
	put(&priv, pk, 32);
	put_str(&priv, comment, strlen(comment));
	if (!pub.oom && !priv.oom)
		*file = openssh_file(&pub, &priv, a, a + 64, secret);
	if (*file && (pub64 = b64_encode(pub.p, pub.n)))
		*publine = fangs__asprintf("ssh-ed25519 %s %s\n", pub64, comment);
	free(pub64);
	free(pub.p);
	free(priv.p);
	return *file && *publine ? 0 : fangs__error_oom();
}

/* An RSA-3072 key of the right shape (random numbers of the right sizes). */
static int rsa_key(const char *comment, char **file, char **publine, char **secret)
{
	blob pub = {0}, priv = {0}, n = {0};
	static const unsigned char e[3] = {0x01, 0x00, 0x01};
	size_t d_at;
	char *pub64 = NULL;

	*file = *publine = NULL;
	put_rnd_mpint(&n, 3072, 1, NULL);
	put_str(&pub, "ssh-rsa", 7);
	put_str(&pub, e, 3);
	put(&pub, n.p, n.n);
	put_str(&priv, "ssh-rsa", 7);
	put(&priv, n.p, n.n);
	put_str(&priv, e, 3);
	put_rnd_mpint(&priv, 3064, 0, &d_at); /* d */
	put_rnd_mpint(&priv, 1536, 0, NULL);  /* iqmp */
	put_rnd_mpint(&priv, 1536, 1, NULL);  /* p */
	put_rnd_mpint(&priv, 1536, 1, NULL);  /* q */
	put_str(&priv, comment, strlen(comment));
	if (!pub.oom && !priv.oom && !n.oom)
		*file = openssh_file(&pub, &priv, d_at, d_at + 3064 / 8, secret);
	if (*file && (pub64 = b64_encode(pub.p, pub.n)))
		*publine = fangs__asprintf("ssh-rsa %s %s\n", pub64, comment);
	free(pub64);
	free(pub.p);
	free(priv.p);
	free(n.p);
	return *file && *publine ? 0 : fangs__error_oom();
}

/* ---- the person ------------------------------------------------------------ */

static const char *const first_names[] = {
	"alex", "sam",   "jordan", "taylor", "morgan", "casey", "jamie", "riley", "chris", "dana",  "max",   "nina",
	"omar", "priya", "tomas",  "yuki",   "elena",  "marco", "sara",  "david", "anna",  "ivan",  "kate",  "ben",
	"zoe",  "raj",   "emma",   "noah",   "lucas",  "mia",   "leo",   "hana",  "felix", "julia", "oscar", "ines",
};
static const char *const surnames[] = {
	"miller", "novak", "chen",   "garcia", "kowalski", "schmidt", "okafor", "patel",  "rossi", "larsen",
	"dubois", "silva", "nguyen", "becker", "murphy",   "fischer", "tanaka", "moreau", "berg",  "costa",
};
static const char *const machines[] = {
	"thinkpad",  "xps",     "laptop", "desktop",  "workstation", "t14",    "x1",    "framework",
	"precision", "zenbook", "pc",     "latitude", "nuc",         "devbox", "tower",
};
static const char *const projects[] = {
	"api-server",   "web-dashboard", "billing-service", "cli-tools", "data-pipeline",
	"auth-service", "landing-page",  "mobile-backend",  "infra",     "dotfiles",
	"scratch",      "admin-panel",   "notifications",
};
static const char *const companies[] = {
	"northwind", "brightpath", "lumentech", "cobaltworks", "fernhill", "bluecrane", "quillstack", "harborline",
};

static void capitalize(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s);
	if (dst[0] >= 'a' && dst[0] <= 'z')
		dst[0] = (char)(dst[0] - 'a' + 'A');
}

void fangs__persona_pick(fangs__persona *p, const char *hostname, int root_home)
{
	const char *first = PICK(first_names), *last = PICK(surnames), *machine = PICK(machines);
	char F[32], L[32];

	memset(p, 0, sizeof(*p));
	capitalize(F, sizeof(F), first);
	capitalize(L, sizeof(L), last);
	snprintf(p->full_name, sizeof(p->full_name), "%s %s", F, L);
	switch (rnd_below(3)) {
	case 0:
		snprintf(p->user, sizeof(p->user), "%s", first);
		break;
	case 1:
		snprintf(p->user, sizeof(p->user), "%c%s", first[0], last);
		break;
	default:
		snprintf(p->user, sizeof(p->user), "%s%c", first, last[0]);
		break;
	}
	snprintf(p->email, sizeof(p->email), "%s.%s@%s", first, last, rnd_below(2) ? "gmail.com" : "proton.me");
	snprintf(p->company, sizeof(p->company), "%s", PICK(companies));
	if (hostname)
		snprintf(p->hostname, sizeof(p->hostname), "%s", hostname);
	else if (rnd_below(2))
		snprintf(p->hostname, sizeof(p->hostname), "%s-%s", p->user, machine);
	else
		snprintf(p->hostname, sizeof(p->hostname), "%s-%s%u", machine, first, rnd_below(10));
	if (root_home) {
		snprintf(p->login, sizeof(p->login), "root");
		snprintf(p->home, sizeof(p->home), "/root");
	} else {
		snprintf(p->login, sizeof(p->login), "%s", p->user);
		snprintf(p->home, sizeof(p->home), "/home/%s", p->user);
	}
}

/* ---- the files --------------------------------------------------------------- */

static int add(fangs__decoys *d, const char *place, const char *what, char *value)
{
	if (!value)
		return fangs__error_oom();
	if (d->count >= FANGS__DECOYS_MAX) {
		free(value);
		return fangs_error_set(FANGS_EINVAL, "too many decoys");
	}
	d->items[d->count].place = place;
	d->items[d->count].what = what;
	d->items[d->count].value = value;
	d->count++;
	return 0;
}

void fangs__decoys_clear(fangs__decoys *d)
{
	for (size_t i = 0; i < d->count; i++)
		free((char *)d->items[i].value);
	memset(d, 0, sizeof(*d));
}

static int write_in(const char *home, const char *rel_dir, const char *name, const char *data, mode_t mode)
{
	char dir[4096];
	int rc;
	snprintf(dir, sizeof(dir), "%s%s%s", home, rel_dir[0] ? "/" : "", rel_dir);
	if (rel_dir[0] &&
	    (rc = fangs__mkdir_p(dir, strncmp(rel_dir, ".ssh", 4) && strncmp(rel_dir, ".aws", 4) ? 0755 : 0700)) < 0)
		return rc;
	return fangs__write_at(dir, name, data, mode);
}

/* "//host[:port]/path/" of a registry URL: npm's key for its credentials. */
static void nerf_dart(const char *url, char *out, size_t cap)
{
	const char *p = strstr(url, "://");
	size_t n;
	p = p ? p + 3 : url;
	n = strcspn(p, "?#");
	snprintf(out, cap, "//%.*s%s", (int)n, p, n && p[n - 1] == '/' ? "" : "/");
}

static int ssh_files(fangs__decoys *d, const fangs__persona *p, const char *home)
{
	char comment[160], *file = NULL, *pub = NULL, *secret = NULL;
	int rc;

	snprintf(comment, sizeof(comment), "%s@%s", p->user, p->hostname);
	if ((rc = ed25519_key(comment, &file, &pub, &secret)) < 0)
		goto out;
	if ((rc = write_in(home, ".ssh", "id_ed25519", file, 0600)) < 0 ||
	    (rc = write_in(home, ".ssh", "id_ed25519.pub", pub, 0644)) < 0)
		goto out;
	/* add() owns the value from here, whether it keeps it or not */
	rc = add(d, "~/.ssh/id_ed25519", "OpenSSH private key", secret);
	secret = NULL;
	if (rc < 0)
		goto out;
	free(file);
	free(pub);
	snprintf(comment, sizeof(comment), "%s", p->email);
	if ((rc = rsa_key(comment, &file, &pub, &secret)) < 0)
		goto out;
	if ((rc = write_in(home, ".ssh", "id_rsa", file, 0600)) < 0 ||
	    (rc = write_in(home, ".ssh", "id_rsa.pub", pub, 0644)) < 0)
		goto out;
	/* add() owns the value from here, whether it keeps it or not */
	rc = add(d, "~/.ssh/id_rsa", "OpenSSH private key", secret);
	secret = NULL;
	if (rc < 0)
		goto out;
	/* GitHub's published host key: public, and what everyone's file has */
	rc = write_in(home, ".ssh", "known_hosts",
		      "github.com ssh-ed25519 "
		      "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n",
		      0644);
	if (rc == 0) {
		char cfg[512];
		snprintf(cfg, sizeof(cfg),
			 "Host github.com\n  IdentityFile ~/.ssh/id_ed25519\n\nHost bastion\n  HostName "
			 "bastion.%s.internal\n"
			 "  User %s\n  IdentityFile ~/.ssh/id_rsa\n",
			 p->company, p->user);
		rc = write_in(home, ".ssh", "config", cfg, 0600);
	}
out:
	free(file);
	free(pub);
	free(secret);
	return rc;
}

static int credential_files(fangs__decoys *d, const fangs__persona *p, const char *home, const char *registry)
{
	char npm[48], ghp[48], gho[48], akid[24], aws[44], dckr[40], dart[1100], buf[2048], auth_in[128];
	char *auth = NULL;
	int rc;

	checksummed_token(npm, sizeof(npm), "npm_");
	checksummed_token(ghp, sizeof(ghp), "ghp_");
	checksummed_token(gho, sizeof(gho), "gho_");
	memcpy(akid, "AKIA", 4);
	rnd_chars(akid + 4, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
	rnd_chars(aws, 40, B64);
	memcpy(dckr, "dckr_pat_", 9);
	rnd_chars(dckr + 9, 27, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

	/* npm's credentials are keyed by the registry's URL; the older global
	 * form when the registry is not known */
	if (registry)
		nerf_dart(registry, dart, sizeof(dart));
	snprintf(buf, sizeof(buf), "%s%s_authToken=%s\n", registry ? dart : "", registry ? ":" : "", npm);
	if ((rc = write_in(home, "", ".npmrc", buf, 0600)) < 0 ||
	    (rc = add(d, "~/.npmrc", "npm token", fangs__strdup(npm))) < 0)
		return rc;

	snprintf(buf, sizeof(buf), "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", akid, aws);
	if ((rc = write_in(home, ".aws", "credentials", buf, 0600)) < 0 ||
	    (rc = write_in(home, ".aws", "config", "[default]\nregion = eu-central-1\noutput = json\n", 0600)) < 0 ||
	    (rc = add(d, "~/.aws/credentials", "AWS access key id", fangs__strdup(akid))) < 0 ||
	    (rc = add(d, "~/.aws/credentials", "AWS secret access key", fangs__strdup(aws))) < 0)
		return rc;

	snprintf(buf, sizeof(buf), "https://%s:%s@github.com\n", p->user, ghp);
	if ((rc = write_in(home, "", ".git-credentials", buf, 0600)) < 0 ||
	    (rc = add(d, "~/.git-credentials", "GitHub token", fangs__strdup(ghp))) < 0)
		return rc;

	snprintf(buf, sizeof(buf), "github.com:\n    user: %s\n    oauth_token: %s\n    git_protocol: ssh\n", p->user,
		 gho);
	if ((rc = write_in(home, ".config/gh", "hosts.yml", buf, 0600)) < 0 ||
	    (rc = add(d, "~/.config/gh/hosts.yml", "GitHub OAuth token", fangs__strdup(gho))) < 0)
		return rc;

	snprintf(auth_in, sizeof(auth_in), "%s:%s", p->user, dckr);
	if (!(auth = b64_encode((const unsigned char *)auth_in, strlen(auth_in))))
		return fangs__error_oom();
	snprintf(buf, sizeof(buf),
		 "{\n\t\"auths\": {\n\t\t\"https://index.docker.io/v1/\": {\n\t\t\t\"auth\": \"%s\"\n"
		 "\t\t}\n\t}\n}\n",
		 auth);
	free(auth);
	if ((rc = write_in(home, ".docker", "config.json", buf, 0600)) < 0 ||
	    (rc = add(d, "~/.docker/config.json", "Docker Hub access token", fangs__strdup(dckr))) < 0)
		return rc;
	return 0;
}

static int env_file(fangs__decoys *d, const fangs__persona *p, const char *project)
{
	char pw[24], stripe[40], jwt[65], buf[1024];
	int rc;
	rnd_chars(pw, 20, B62);
	memcpy(stripe, "sk_live_", 8);
	rnd_chars(stripe + 8, 24, B62);
	rnd_chars(jwt, 64, "0123456789abcdef");
	snprintf(buf, sizeof(buf),
		 "NODE_ENV=development\nPORT=3000\nDATABASE_URL=postgres://app:%s@db.%s.internal:5432/app\n"
		 "REDIS_URL=redis://localhost:6379/0\nSTRIPE_SECRET_KEY=%s\nJWT_SECRET=%s\nLOG_LEVEL=debug\n",
		 pw, p->company, stripe, jwt);
	if ((rc = fangs__write_at(project, ".env", buf, 0600)) < 0 ||
	    (rc = add(d, "~/app/.env", "database password", fangs__strdup(pw))) < 0 ||
	    (rc = add(d, "~/app/.env", "Stripe secret key", fangs__strdup(stripe))) < 0 ||
	    (rc = add(d, "~/app/.env", "JWT signing secret", fangs__strdup(jwt))) < 0)
		return rc;
	return 0;
}

static int dotfiles(const fangs__persona *p, const char *home, const char *proj1, const char *proj2)
{
	static const char *const skel[] = {".bashrc", ".profile", ".bash_logout"};
	static const char *const history[] = {
		"git status",
		"git pull --rebase",
		"npm install",
		"npm run dev",
		"npm test",
		"code .",
		"git diff",
		"git log --oneline | head",
		"docker compose up -d",
		"docker ps",
		"aws s3 ls",
		"npm run build",
		"git push origin HEAD",
		"ls -la",
		"cat package.json",
		"npm outdated",
		"node -v",
		"htop",
		"git stash pop",
		"npm run lint -- --fix",
		"ssh bastion",
		"kubectl get pods",
		"make",
		"cd ..",
	};
	char buf[4096], path[4096];
	size_t at = 0;
	int rc;

	for (size_t i = 0; i < sizeof(skel) / sizeof(skel[0]); i++) {
		char from[64];
		snprintf(from, sizeof(from), "/etc/skel/%s", skel[i]);
		snprintf(path, sizeof(path), "%s/%s", home, skel[i]);
		if (access(from, R_OK) == 0 && (rc = fangs__copy_file(from, path)) < 0)
			return rc;
	}
	snprintf(buf, sizeof(buf),
		 "[user]\n\tname = %s\n\temail = %s\n[init]\n\tdefaultBranch = main\n[pull]\n\trebase = true\n"
		 "[credential]\n\thelper = store\n[core]\n\teditor = vim\n",
		 p->full_name, p->email);
	if ((rc = write_in(home, "", ".gitconfig", buf, 0644)) < 0)
		return rc;
	for (unsigned i = 0, n = 25 + rnd_below(40); i < n && at < sizeof(buf) - 128; i++) {
		unsigned r = rnd_below(10);
		if (r == 0)
			at += (size_t)snprintf(buf + at, sizeof(buf) - at, "cd ~/projects/%s\n",
					       rnd_below(2) ? proj1 : proj2);
		else if (r == 1)
			at += (size_t)snprintf(buf + at, sizeof(buf) - at, "git checkout -b fix/%s-%u\n",
					       PICK(projects), 100 + rnd_below(900));
		else
			at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s\n", PICK(history));
	}
	if ((rc = write_in(home, "", ".bash_history", buf, 0600)) < 0)
		return rc;
	for (int i = 0; i < 2; i++) {
		const char *name = i ? proj2 : proj1;
		char rel[128];
		snprintf(rel, sizeof(rel), "projects/%s", name);
		snprintf(buf, sizeof(buf),
			 "{\n  \"name\": \"@%s/%s\",\n  \"version\": \"%u.%u.%u\",\n  \"private\": true,\n"
			 "  \"scripts\": {\n    \"dev\": \"node src/index.js\",\n    \"test\": \"node --test\"\n  "
			 "}\n}\n",
			 p->company, name, rnd_below(3), rnd_below(20), rnd_below(10));
		if ((rc = write_in(home, rel, "package.json", buf, 0644)) < 0)
			return rc;
		snprintf(buf, sizeof(buf), "# %s\n\nInternal service of %s. Run `npm run dev`.\n", name, p->company);
		if ((rc = write_in(home, rel, "README.md", buf, 0644)) < 0)
			return rc;
		snprintf(rel, sizeof(rel), "projects/%s/src", name);
		if ((rc = write_in(home, rel, "index.js", "'use strict';\nrequire('./server').start();\n", 0644)) < 0)
			return rc;
		snprintf(rel, sizeof(rel), "projects/%s/.git", name);
		if ((rc = write_in(home, rel, "HEAD", "ref: refs/heads/main\n", 0644)) < 0)
			return rc;
	}
	snprintf(path, sizeof(path), "%s/.cache", home);
	if ((rc = fangs__mkdir_p(path, 0755)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/.local/share", home);
	return fangs__mkdir_p(path, 0755);
}

int fangs__plant_decoys(fangs__decoys *d, const fangs__persona *p, const char *home, const char *project,
			const char *registry)
{
	const char *proj1 = PICK(projects), *proj2;
	int rc;

	memset(d, 0, sizeof(*d));
	do
		proj2 = PICK(projects);
	while (proj2 == proj1);
	if ((rc = credential_files(d, p, home, registry)) < 0 || (rc = ssh_files(d, p, home)) < 0 ||
	    (rc = env_file(d, p, project)) < 0 || (rc = dotfiles(p, home, proj1, proj2)) < 0) {
		fangs__decoys_clear(d);
		return rc;
	}
	return 0;
}

static int add_decoy(fangs__decoy_list *out, const char *place, const struct stat *st)
{
	fangs_sandbox_decoy_file *d;
	if (FANGS_GROW(out))
		return fangs__error_oom();
	d = &out->items[out->count];
	if (!(d->place = fangs__strdup(place)))
		return fangs__error_oom();
	d->dev = (uint64_t)st->st_dev;
	d->ino = (uint64_t)st->st_ino;
	out->count++;
	return 0;
}

int fangs__collect_decoy_files(fangs__decoy_list *out, const fangs__decoys *d, const char *home,
			       const char *home_inside)
{
	int rc = 0;
	for (size_t i = 0; i < d->count && rc == 0; i++) {
		const char *place = d->items[i].place;
		char *path, *inside;
		struct stat st;
		int seen = 0;
		if (strncmp(place, "~/", 2) != 0)
			continue;
		path = fangs__asprintf("%s/%s", home, place + 2);
		inside = fangs__asprintf("%s/%s", home_inside, place + 2);
		if (!path || !inside)
			rc = fangs__error_oom();
		for (size_t j = 0; rc == 0 && j < out->count; j++)
			seen |= !strcmp(out->items[j].place, inside);
		/* a file holding several secrets is one file */
		if (rc == 0 && !seen && lstat(path, &st) == 0 && S_ISREG(st.st_mode))
			rc = add_decoy(out, inside, &st);
		free(path);
		free(inside);
	}
	return rc;
}

void fangs__decoy_list_free(fangs__decoy_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free((char *)l->items[i].place);
	free(l->items);
	memset(l, 0, sizeof(*l));
}
