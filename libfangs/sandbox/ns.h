/*
 * sandbox/ns.h - the namespace backend's two sides: the host side (ns.c)
 * and the sandbox's init (ns_child.c).
 */
#ifndef FANGS_SANDBOX_NS_H
#define FANGS_SANDBOX_NS_H

#include <stdint.h>

#include "fangs/sys/sandbox_backend.h"

/* Everything the child needs, computed before clone: the child must not
 * allocate (another thread of the scanner may hold the malloc lock). */
typedef struct fangs__ns_child_args {
	const fangs_sandbox_job *job;
	const char *rootfs; /* empty directory for the new root (host path) */
	int sync_fd;        /* read: one byte once the parent has mapped ids and joined cgroups */
	int err_fd;         /* write: a setup error message; closes at exec */
	int status_fd;      /* write: the command's wait status (int) */
	int out_fd;         /* write: the command's stdout and stderr */
	/* what the sandbox shows of itself (ns_child.c's look_real_*) */
	const char *title;  /* pid 1's command line ("/sbin/init") */
	const char *comm;   /* pid 1's name ("systemd") */
	long long uptime_s; /* added to the boot and monotonic clocks inside */
	int user_uid;       /* uid (and gid) the command runs as inside; 0 = root */
	int tree_fd;        /* read: before the release, the host's /usr and /etc as idmapped
			         mounts (SCM_RIGHTS), or none when the kernel cannot */
} fangs__ns_child_args;

/* uid and gid of the sandbox's user inside, when it is not root */
#define FANGS__USER_UID 1000

/* Runs in the new namespaces as their pid 1; never returns. */
void fangs__ns_child(const fangs__ns_child_args *a) __attribute__((noreturn));

/* Bridge network of a run: a veth pair and NAT. */
typedef struct fangs__ns_net {
	int active;
	char host_if[16];
	char subnet[32]; /* a.b.c.d/30 */
	char host_ip[20];
	char sandbox_ip[20];
	char comment[80]; /* "fangs:<run_id>" on its iptables rules */
	char masquerade;  /* the iptables rule is in place */
} fangs__ns_net;

/* Sets up the veth pair for the sandbox whose init is `pid`. */
int fangs__ns_net_up(fangs__ns_net *net, const char *run_id, int pid);
/* Removes the veth and the NAT rule. */
void fangs__ns_net_down(fangs__ns_net *net);
/* Removes the veth and NAT rules of a run whose scanner was killed. */
int fangs__ns_net_gc(const char *run_id, int *removed);

#endif
