/*
 * proxy/attrib.c - which process of the sandbox made a request: the
 * accepted connection's peer port names the client's socket in the
 * sandbox's /proc/net/tcp, whose inode names the process holding it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "proxy/internal.h"

/* The inode of the socket whose local port is `lport` and remote port
 * `rport`, from a /proc/<pid>/net/tcp table; 0 when none. */
static unsigned long socket_inode(int netns_pid, uint16_t lport, uint16_t rport)
{
	static const char *const tables[] = {"tcp", "tcp6"};
	unsigned long found = 0;
	for (size_t t = 0; t < FANGS_ARRAY_SIZE(tables) && !found; t++) {
		char path[64], line[512];
		FILE *f;
		if (netns_pid > 0)
			snprintf(path, sizeof(path), "/proc/%d/net/%s", netns_pid, tables[t]);
		else
			snprintf(path, sizeof(path), "/proc/self/net/%s", tables[t]);
		if (!(f = fopen(path, "re")))
			continue;
		while (fgets(line, sizeof(line), f)) {
			char local[64], remote[64];
			unsigned lp, rp, st;
			unsigned long inode;
			char *c1, *c2;
			/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
			if (sscanf(line, " %*u: %63s %63s %x %*s %*s %*s %*u %*u %lu", local, remote, &st, &inode) != 4)
				continue;
			c1 = strrchr(local, ':');
			c2 = strrchr(remote, ':');
			if (!c1 || !c2 || sscanf(c1 + 1, "%x", &lp) != 1 || sscanf(c2 + 1, "%x", &rp) != 1)
				continue;
			if (lp == lport && rp == rport && inode != 0) {
				found = inode;
				break;
			}
		}
		fclose(f);
	}
	return found;
}

static int holds(pid_t pid, const char *want)
{
	char dir[64], link[96], target[64];
	DIR *d;
	struct dirent *de;
	int yes = 0;
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	if (!(d = opendir(dir)))
		return 0;
	while (!yes && (de = readdir(d))) {
		ssize_t n;
		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%.20s", dir, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		yes = strcmp(target, want) == 0;
	}
	closedir(d);
	return yes;
}

/* Looks in every cgroup.procs under `dir` (the run's cgroup and its children). */
static pid_t search_cgroup(const char *dir, const char *want, int depth)
{
	char path[4096], line[32];
	FILE *f;
	DIR *d;
	struct dirent *de;
	pid_t found = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if ((f = fopen(path, "re"))) {
		while (!found && fgets(line, sizeof(line), f)) {
			pid_t pid = (pid_t)atoi(line);
			if (pid > 0 && holds(pid, want))
				found = pid;
		}
		fclose(f);
	}
	if (found || depth > 16 || !(d = opendir(dir)))
		return found;
	while (!found && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		found = search_cgroup(path, want, depth + 1);
	}
	closedir(d);
	return found;
}

static pid_t search_all(const char *want)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid > 0 && holds(pid, want))
			found = pid;
	}
	closedir(d);
	return found;
}

pid_t fangs__proxy_find_client(int netns_pid, uint16_t client_port, uint16_t proxy_port, const char *cgroup_v2)
{
	char want[48];
	unsigned long inode = socket_inode(netns_pid, client_port, proxy_port);
	if (!inode)
		return 0;
	snprintf(want, sizeof(want), "socket:[%lu]", inode);
	return cgroup_v2 ? search_cgroup(cgroup_v2, want, 0) : search_all(want);
}

int fangs__proxy_proc_info(pid_t pid, char *comm, size_t cap, pid_t *ppid)
{
	char path[64], buf[512], *close_paren;
	FILE *f;
	size_t n;
	comm[0] = '\0';
	*ppid = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* pid (comm) state ppid ...; comm may hold spaces and parentheses */
	close_paren = strrchr(buf, ')');
	if (!close_paren)
		return -1;
	{
		char *open_paren = strchr(buf, '(');
		size_t len = open_paren ? (size_t)(close_paren - open_paren - 1) : 0;
		if (open_paren && len < cap) {
			memcpy(comm, open_paren + 1, len);
			comm[len] = '\0';
		}
	}
	{
		int pp = 0;
		if (sscanf(close_paren + 1, " %*c %d", &pp) == 1)
			*ppid = (pid_t)pp;
	}
	return 0;
}
