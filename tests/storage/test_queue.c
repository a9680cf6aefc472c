/*
 * tests/storage/test_queue.c - the job queue and runner registry contract,
 * run against every backend of backends.c.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fangs/fangs.h>

#include "fixture.h"

static void enqueue(fangs_storage *st, const char *pkg, const char *ver, const char *target, fangs_job *out)
{
	fangs_job j = {0};
	j.package = (char *)pkg;
	j.version = (char *)ver;
	j.target_runner = (char *)target;
	OK(fangs_storage_job_enqueue(st, &j));
	ck_assert_int_gt(j.id, 0);
	ck_assert_int_gt(strlen(j.run_id), 0);
	if (out)
		*out = j;
}

START_TEST(test_enqueue_claim_finish)
{
	fangs_storage *st = fx_open(_i);
	fangs_job a, b, c = {0};
	fangs_run run = {0};
	fangs_job_list jl = {0};

	enqueue(st, "left-pad", "1.0.0", NULL, &a);
	enqueue(st, "left-pad", "1.1.0", NULL, &b);
	/* the run exists, queued, before any runner */
	OK(fangs_storage_run_get(st, a.run_id, &run));
	ck_assert_int_eq(run.state, FANGS_RUN_QUEUED);
	fangs_run_clear(&run);

	/* oldest first */
	OK(fangs_storage_job_claim(st, "r1", &c));
	ck_assert_str_eq(c.run_id, a.run_id);
	ck_assert_int_eq(c.state, FANGS_JOB_RUNNING);
	ck_assert_int_eq(c.attempts, 1);
	ck_assert_str_eq(c.runner, "r1");
	fangs_job_clear(&c);
	OK(fangs_storage_run_get(st, a.run_id, &run));
	ck_assert_int_eq(run.state, FANGS_RUN_RUNNING);
	ck_assert_str_eq(run.runner, "r1");
	fangs_run_clear(&run);

	OK(fangs_storage_job_claim(st, "r2", &c));
	ck_assert_str_eq(c.run_id, b.run_id);
	fangs_job_clear(&c);
	ck_assert_int_eq(fangs_storage_job_claim(st, "r1", &c), FANGS_ENOTFOUND);

	OK(fangs_storage_job_finish(st, a.run_id, FANGS_JOB_DONE));
	OK(fangs_storage_job_get(st, a.run_id, &c));
	ck_assert_int_eq(c.state, FANGS_JOB_DONE);
	fangs_job_clear(&c);
	ck_assert_int_eq(fangs_storage_job_get(st, "nope", &c), FANGS_ENOTFOUND);
	ck_assert_int_eq(fangs_storage_job_finish(st, "nope", FANGS_JOB_DONE), FANGS_ENOTFOUND);

	OK(fangs_storage_job_list(st, FANGS_JOB_RUNNING, &jl));
	ck_assert_uint_eq(jl.count, 1);
	ck_assert_str_eq(jl.items[0].run_id, b.run_id);
	fangs_job_list_free(&jl);
	OK(fangs_storage_job_list(st, -1, &jl));
	ck_assert_uint_eq(jl.count, 2);
	fangs_job_list_free(&jl);
	{
		int64_t counts[4];
		OK(fangs_storage_job_counts(st, counts));
		ck_assert_int_eq(counts[FANGS_JOB_QUEUED], 0);
		ck_assert_int_eq(counts[FANGS_JOB_RUNNING], 1);
		ck_assert_int_eq(counts[FANGS_JOB_DONE], 1);
		ck_assert_int_eq(counts[FANGS_JOB_FAILED], 0);
	}
	{
		/* only finished jobs older than the cutoff go; their runs stay */
		int64_t n = -1;
		OK(fangs_storage_job_prune(st, 1, &n));
		ck_assert_int_eq(n, 0);
		OK(fangs_storage_job_prune(st, INT64_MAX, &n));
		ck_assert_int_eq(n, 1);
		ck_assert_int_eq(fangs_storage_job_get(st, a.run_id, &c), FANGS_ENOTFOUND);
		OK(fangs_storage_job_get(st, b.run_id, &c));
		fangs_job_clear(&c);
		OK(fangs_storage_run_get(st, a.run_id, &run));
		fangs_run_clear(&run);
	}
	fangs_storage_free(st);
}
END_TEST

START_TEST(test_target_runner)
{
	fangs_storage *st = fx_open(_i);
	fangs_job a, c = {0};

	enqueue(st, "p", "1.0.0", "r2", &a);
	ck_assert_int_eq(fangs_storage_job_claim(st, "r1", &c), FANGS_ENOTFOUND);
	OK(fangs_storage_job_claim(st, "r2", &c));
	ck_assert_str_eq(c.run_id, a.run_id);
	ck_assert_str_eq(c.target_runner, "r2");
	fangs_job_clear(&c);
	fangs_storage_free(st);
}
END_TEST

START_TEST(test_requeue_then_fail)
{
	fangs_storage *st = fx_open(_i);
	fangs_job a, c = {0};
	fangs_run run = {0};
	fangs_event ev = {0};
	fangs_event_list evs = {0};
	int64_t rq, fl;

	enqueue(st, "p", "1.0.0", NULL, &a);
	OK(fangs_storage_job_claim(st, "r1", &c));
	fangs_job_clear(&c);
	ev.kind = FANGS_EV_EXEC;
	ev.ts_ns = 1;
	OK(fangs_storage_events_append(st, a.run_id, &ev, 1));

	OK(fangs_storage_job_requeue_runner(st, "r1", 2, &rq, &fl));
	ck_assert_int_eq(rq, 1);
	ck_assert_int_eq(fl, 0);
	OK(fangs_storage_run_get(st, a.run_id, &run));
	ck_assert_int_eq(run.state, FANGS_RUN_QUEUED);
	ck_assert_ptr_null(run.runner);
	fangs_run_clear(&run);
	/* the lost attempt's events are gone */
	OK(fangs_storage_events_list(st, a.run_id, &evs));
	ck_assert_uint_eq(evs.count, 0);
	fangs_event_list_free(&evs);

	OK(fangs_storage_job_claim(st, "r2", &c));
	ck_assert_int_eq(c.attempts, 2);
	fangs_job_clear(&c);
	/* another runner's loss does not touch it */
	OK(fangs_storage_job_requeue_runner(st, "r1", 2, &rq, &fl));
	ck_assert_int_eq(rq + fl, 0);

	OK(fangs_storage_job_requeue_runner(st, "r2", 2, &rq, &fl));
	ck_assert_int_eq(rq, 0);
	ck_assert_int_eq(fl, 1);
	OK(fangs_storage_job_get(st, a.run_id, &c));
	ck_assert_int_eq(c.state, FANGS_JOB_FAILED);
	fangs_job_clear(&c);
	OK(fangs_storage_run_get(st, a.run_id, &run));
	ck_assert_int_eq(run.state, FANGS_RUN_FAILED);
	ck_assert_ptr_nonnull(strstr(run.error, "r2"));
	fangs_run_clear(&run);
	ck_assert_int_eq(fangs_storage_job_claim(st, "r1", &c), FANGS_ENOTFOUND);
	fangs_storage_free(st);
}
END_TEST

/* Several processes claim from one queue: every job goes out exactly once. */
START_TEST(test_concurrent_claims)
{
	enum {
		JOBS = 40,
		WORKERS = 4
	};
	fangs_storage *st = fx_open(_i);
	fangs_job_list jl = {0};
	pid_t pids[WORKERS];
	char ver[16];

	for (int i = 0; i < JOBS; i++) {
		snprintf(ver, sizeof(ver), "1.0.%d", i);
		enqueue(st, "p", ver, NULL, NULL);
	}
	for (int w = 0; w < WORKERS; w++) {
		pids[w] = fork();
		ck_assert_int_ge(pids[w], 0);
		if (pids[w] == 0) {
			fangs_storage *mine = NULL;
			fangs_job c;
			char name[16];
			snprintf(name, sizeof(name), "w%d", w);
			if (fangs_storage_open(&mine, &fx_opts))
				_exit(2);
			while (fangs_storage_job_claim(mine, name, &c) == 0)
				fangs_job_clear(&c);
			fangs_storage_free(mine);
			_exit(0);
		}
	}
	for (int w = 0; w < WORKERS; w++) {
		int stt;
		ck_assert_int_eq(waitpid(pids[w], &stt, 0), pids[w]);
		ck_assert(WIFEXITED(stt) && WEXITSTATUS(stt) == 0);
	}
	OK(fangs_storage_job_list(st, -1, &jl));
	ck_assert_uint_eq(jl.count, JOBS);
	for (size_t i = 0; i < jl.count; i++) {
		ck_assert_int_eq(jl.items[i].state, FANGS_JOB_RUNNING);
		ck_assert_int_eq(jl.items[i].attempts, 1);
	}
	fangs_job_list_free(&jl);
	fangs_storage_free(st);
}
END_TEST

/* Two connections claim in a loop while jobs keep coming: each job is
 * handed out once (every claimed id is reported through a pipe). */
START_TEST(test_claims_race)
{
	enum {
		JOBS = 60,
		WORKERS = 2
	};
	fangs_storage *st = fx_open(_i);
	int fds[2], seen[JOBS + 1] = {0}, total = 0;
	pid_t pids[WORKERS];
	int64_t id, first = 0;
	char ver[16];

	ck_assert_int_eq(pipe(fds), 0);
	for (int w = 0; w < WORKERS; w++) {
		pids[w] = fork();
		ck_assert_int_ge(pids[w], 0);
		if (pids[w] == 0) {
			fangs_storage *mine = NULL;
			fangs_job c;
			char name[16];
			int idle = 0;
			close(fds[0]);
			snprintf(name, sizeof(name), "c%d", w);
			if (fangs_storage_open(&mine, &fx_opts))
				_exit(2);
			/* until the queue stays empty for a while */
			while (idle < 400) {
				int rc = fangs_storage_job_claim(mine, name, &c);
				if (rc == 0) {
					if (write(fds[1], &c.id, sizeof(c.id)) != sizeof(c.id))
						_exit(3);
					fangs_job_clear(&c);
					idle = 0;
				} else if (rc == FANGS_ENOTFOUND || rc == FANGS_EBUSY) {
					idle++;
					usleep(2000);
				} else {
					_exit(4);
				}
			}
			fangs_storage_free(mine);
			/* how the jobs split depends on timing; only their uniqueness counts */
			_exit(0);
		}
	}
	close(fds[1]);
	for (int i = 0; i < JOBS; i++) {
		fangs_job j;
		snprintf(ver, sizeof(ver), "2.0.%d", i);
		enqueue(st, "race", ver, NULL, &j);
		if (!first)
			first = j.id;
		if (i % 10 == 9)
			usleep(20000);
	}
	while (read(fds[0], &id, sizeof(id)) == sizeof(id)) {
		ck_assert_int_ge(id, first);
		ck_assert_int_lt(id, first + JOBS);
		ck_assert_msg(!seen[id - first], "job %lld handed out twice", (long long)id);
		seen[id - first] = 1;
		total++;
	}
	close(fds[0]);
	for (int w = 0; w < WORKERS; w++) {
		int stt;
		ck_assert_int_eq(waitpid(pids[w], &stt, 0), pids[w]);
		ck_assert_msg(WIFEXITED(stt) && WEXITSTATUS(stt) == 0, "claimer %d: status %d", w, stt);
	}
	ck_assert_int_eq(total, JOBS);
	fangs_storage_free(st);
}
END_TEST

/* SKIP LOCKED: a claim does not wait for another's open claim, it takes
 * the next job (PostgreSQL; SQLite has one writer at a time). */
START_TEST(test_claim_skips_locked)
{
	fangs_storage *st = fx_open(_i), *other;
	fangs_job a, b, c1 = {0}, c2 = {0};

	if (strcmp(fangs_storage_backend_name(st), "postgres") != 0) {
		fangs_storage_free(st);
		return;
	}
	enqueue(st, "skip", "1.0.0", NULL, &a);
	enqueue(st, "skip", "1.0.1", NULL, &b);
	other = fx_reopen();
	OK(fangs_storage_begin(st));
	OK(fangs_storage_job_claim(st, "r1", &c1));
	ck_assert_str_eq(c1.run_id, a.run_id);
	/* the first claim is not committed: the row is locked, skipped */
	OK(fangs_storage_job_claim(other, "r2", &c2));
	ck_assert_str_eq(c2.run_id, b.run_id);
	fangs_job_clear(&c2);
	ck_assert_int_eq(fangs_storage_job_claim(other, "r2", &c2), FANGS_ENOTFOUND);
	/* rolled back: the job is there again for the next claim */
	OK(fangs_storage_rollback(st));
	fangs_job_clear(&c1);
	OK(fangs_storage_job_claim(other, "r2", &c2));
	ck_assert_str_eq(c2.run_id, a.run_id);
	ck_assert_int_eq(c2.attempts, 1);
	fangs_job_clear(&c2);
	fangs_storage_free(other);
	fangs_storage_free(st);
}
END_TEST

/* A session that ended frees its locks as its server process exits, a
 * moment after the client closed it: tries for up to 5 s. */
static int leader_soon(fangs_storage *st)
{
	int l = 0;
	for (int i = 0; i < 500 && !l; i++) {
		OK(fangs_storage_leader_try(st, &l));
		if (!l)
			usleep(10000);
	}
	return l;
}

/* One leader among the handles on a database (PostgreSQL); SQLite serves
 * one process, which always leads. */
START_TEST(test_leader)
{
	fangs_storage *st = fx_open(_i), *other = fx_reopen(), *third;
	int pg = strcmp(fangs_storage_backend_name(st), "postgres") == 0, l1 = -1, l2 = -1;

	OK(fangs_storage_leader_try(st, &l1));
	ck_assert_int_eq(l1, 1);
	OK(fangs_storage_leader_try(other, &l2));
	ck_assert_int_eq(l2, !pg);
	/* trying again while holding it keeps it, and does not stack it */
	OK(fangs_storage_leader_try(st, &l1));
	OK(fangs_storage_leader_try(st, &l1));
	ck_assert_int_eq(l1, 1);
	OK(fangs_storage_leader_release(st));
	OK(fangs_storage_leader_try(other, &l2));
	ck_assert_int_eq(l2, 1);
	OK(fangs_storage_leader_try(st, &l1));
	ck_assert_int_eq(l1, !pg);
	/* the holder goes away (its session ends): the next try takes it */
	fangs_storage_free(other);
	third = fx_reopen();
	ck_assert_int_eq(leader_soon(third), 1);
	OK(fangs_storage_leader_try(st, &l1));
	ck_assert_int_eq(l1, !pg);
	OK(fangs_storage_leader_release(st)); /* not held: nothing happens */
	fangs_storage_free(third);
	ck_assert_int_eq(leader_soon(st), 1);
	ck_assert_int_eq(fangs_storage_leader_try(st, NULL), FANGS_EINVAL);
	fangs_storage_free(st);
}
END_TEST

/* A feed's position moves only from where it is (compare and set), and
 * with the transaction it is in. */
START_TEST(test_feed_position)
{
	fangs_storage *st = fx_open(_i), *other = fx_reopen();
	const char *feed = "http://registry.invalid/feed";
	char *seq = (char *)1;

	OK(fangs_storage_feed_get(st, feed, &seq));
	ck_assert_ptr_null(seq);
	OK(fangs_storage_feed_advance(st, feed, NULL, "5"));
	FAILS(FANGS_EBUSY, fangs_storage_feed_advance(other, feed, NULL, "6"));
	FAILS(FANGS_EBUSY, fangs_storage_feed_advance(other, feed, "4", "6"));
	OK(fangs_storage_feed_get(other, feed, &seq));
	ck_assert_str_eq(seq, "5");
	free(seq);
	OK(fangs_storage_feed_advance(other, feed, "5", "6-g1AAAA"));
	FAILS(FANGS_EBUSY, fangs_storage_feed_advance(st, feed, "5", "7"));
	/* with the jobs it brought, or not at all */
	OK(fangs_storage_begin(st));
	OK(fangs_storage_feed_advance(st, feed, "6-g1AAAA", "9"));
	enqueue(st, "fed", "1.0.0", NULL, NULL);
	OK(fangs_storage_rollback(st));
	OK(fangs_storage_feed_get(st, feed, &seq));
	ck_assert_str_eq(seq, "6-g1AAAA");
	free(seq);
	OK(fangs_storage_feed_get(st, "http://other.invalid", &seq));
	ck_assert_ptr_null(seq);
	FAILS(FANGS_EINVAL, fangs_storage_feed_advance(st, feed, "6", ""));
	FAILS(FANGS_EINVAL, fangs_storage_feed_get(st, "", &seq));
	fangs_storage_free(other);
	fangs_storage_free(st);
}
END_TEST

START_TEST(test_runners)
{
	fangs_storage *st = fx_open(_i);
	fangs_runner r = {0};
	fangs_runner_list rl = {0};
	fangs_job c = {0};

	r.id = "r1";
	r.hostname = "host-a";
	r.max_scans = 2;
	ck_assert_int_eq(fangs_storage_runner_heartbeat(st, "r1", 0), FANGS_ENOTFOUND);
	OK(fangs_storage_runner_register(st, &r));
	r.id = "r2";
	r.cn = "r2";
	r.max_scans = 1;
	OK(fangs_storage_runner_register(st, &r));
	OK(fangs_storage_runner_heartbeat(st, "r1", 12345));
	enqueue(st, "p", "1.0.0", NULL, NULL);
	OK(fangs_storage_job_claim(st, "r1", &c));
	fangs_job_clear(&c);

	OK(fangs_storage_runner_list(st, &rl));
	ck_assert_uint_eq(rl.count, 2);
	ck_assert_str_eq(rl.items[0].id, "r1");
	ck_assert_str_eq(rl.items[0].hostname, "host-a");
	ck_assert_int_eq(rl.items[0].max_scans, 2);
	ck_assert_int_eq(rl.items[0].last_heartbeat_ns, 12345);
	ck_assert_int_eq(rl.items[0].running, 1);
	ck_assert_str_eq(rl.items[0].state, "up");
	ck_assert_ptr_null(rl.items[0].cn);
	ck_assert_str_eq(rl.items[1].cn, "r2");
	ck_assert_int_eq(rl.items[1].running, 0);
	fangs_runner_list_free(&rl);

	OK(fangs_storage_runner_evict(st, "r1"));
	ck_assert_int_eq(fangs_storage_runner_heartbeat(st, "r1", 0), FANGS_ENOTFOUND);
	ck_assert_int_eq(fangs_storage_runner_evict(st, "zz"), FANGS_ENOTFOUND);
	/* registering again brings it back */
	r.id = "r1";
	OK(fangs_storage_runner_register(st, &r));
	OK(fangs_storage_runner_heartbeat(st, "r1", 0));
	fangs_storage_free(st);
}
END_TEST

/* How many jobs the release has (every state). */
static size_t jobs_of(fangs_storage *st, const char *pkg, const char *ver)
{
	fangs_job_list jl = {0};
	size_t n = 0;
	OK(fangs_storage_job_list(st, -1, &jl));
	for (size_t i = 0; i < jl.count; i++)
		n += !strcmp(jl.items[i].package, pkg) && !strcmp(jl.items[i].version, ver);
	fangs_job_list_free(&jl);
	return n;
}

/* A release is queued once: a second call, on the same handle or another,
 * finds its run (whatever made it) and changes nothing. */
START_TEST(test_enqueue_release_once)
{
	fangs_storage *st = fx_open(_i), *other = fx_reopen();
	fangs_job j = {0}, k = {0};
	fangs_run run = {0};

	j.package = "once";
	j.version = "1.0.0";
	OK(fangs_storage_job_enqueue_release(st, &j));
	ck_assert_int_gt(j.id, 0);
	OK(fangs_storage_run_get(st, j.run_id, &run));
	ck_assert_int_eq(run.state, FANGS_RUN_QUEUED);
	fangs_run_clear(&run);
	k.package = "once";
	k.version = "1.0.0";
	ck_assert_int_eq(fangs_storage_job_enqueue_release(other, &k), FANGS_EEXISTS);
	ck_assert_int_eq(fangs_storage_job_enqueue_release(st, &k), FANGS_EEXISTS);
	ck_assert_uint_eq(jobs_of(st, "once", "1.0.0"), 1);
	/* a run of any origin counts: an imported one */
	memset(&run, 0, sizeof(run));
	run.package = "once";
	run.version = "2.0.0";
	run.state = FANGS_RUN_SUCCEEDED;
	OK(fangs_storage_run_create(st, &run));
	memset(&k, 0, sizeof(k));
	k.package = "once";
	k.version = "2.0.0";
	ck_assert_int_eq(fangs_storage_job_enqueue_release(other, &k), FANGS_EEXISTS);
	ck_assert_uint_eq(jobs_of(st, "once", "2.0.0"), 0);
	/* inside a transaction that goes on after it */
	memset(&k, 0, sizeof(k));
	k.package = "once";
	k.version = "3.0.0";
	OK(fangs_storage_begin(st));
	ck_assert_int_eq(fangs_storage_job_enqueue_release(st, &j), FANGS_EEXISTS);
	OK(fangs_storage_job_enqueue_release(st, &k));
	OK(fangs_storage_commit(st));
	ck_assert_uint_eq(jobs_of(other, "once", "3.0.0"), 1);
	memset(&k, 0, sizeof(k));
	ck_assert_int_eq(fangs_storage_job_enqueue_release(st, &k), FANGS_EINVAL);
	fangs_storage_free(other);
	fangs_storage_free(st);
}
END_TEST

/* The change of leader: one handle queues a release in a transaction it has
 * not committed yet (the watcher's: new versions and last_seen_version
 * together) while another queues the same release. The second waits for
 * the first and finds its run: one job. Checking for a run before queueing,
 * each on its own, would have let both through on PostgreSQL. */
START_TEST(test_enqueue_release_waits_for_open_transaction)
{
	fangs_storage *st = fx_open(_i), *other;
	fangs_job j = {0};
	int ready[2], go[2], stt;
	char got;
	pid_t pid;

	j.package = "leader";
	j.version = "1.0.0";
	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(go), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fangs_storage *mine = NULL;
		fangs_job k = {0};
		char c;
		int rc;
		close(ready[0]);
		close(go[1]);
		/* opened (which may write) before the other's transaction */
		if (fangs_storage_open(&mine, &fx_opts))
			_exit(2);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(3);
		k.package = "leader";
		k.version = "1.0.0";
		do
			rc = fangs_storage_job_enqueue_release(mine, &k);
		while (rc == FANGS_EBUSY);
		fangs_storage_free(mine);
		_exit(rc == FANGS_EEXISTS ? 0 : rc == 0 ? 10 : 11);
	}
	close(ready[1]);
	close(go[0]);
	ck_assert_int_eq(read(ready[0], &got, 1), 1);
	close(ready[0]);
	OK(fangs_storage_begin(st));
	OK(fangs_storage_job_enqueue_release(st, &j));
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	close(go[1]);
	/* the other one is on its way in (and waits) while this is open */
	usleep(300000);
	OK(fangs_storage_commit(st));
	ck_assert_int_eq(waitpid(pid, &stt, 0), pid);
	ck_assert_msg(WIFEXITED(stt) && WEXITSTATUS(stt) == 0,
		      "the second handle: exit %d (10: it queued the release a second time)",
		      WIFEXITED(stt) ? WEXITSTATUS(stt) : -1);
	other = fx_reopen();
	ck_assert_uint_eq(jobs_of(other, "leader", "1.0.0"), 1);
	fangs_storage_free(other);
	fangs_storage_free(st);
}
END_TEST

/* Several handles queue the same releases at once, as the watcher does (a
 * transaction per package): each release gets one job, and every other
 * attempt is told it exists. */
START_TEST(test_enqueue_release_race)
{
	enum {
		RELEASES = 25,
		WORKERS = 4
	};
	fangs_storage *st = fx_open(_i);
	int go[2], res[2], queued = 0, existed = 0;
	pid_t pids[WORKERS];
	char ver[16];
	int32_t out[2];

	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(res), 0);
	for (int w = 0; w < WORKERS; w++) {
		pids[w] = fork();
		ck_assert_int_ge(pids[w], 0);
		if (pids[w] == 0) {
			fangs_storage *mine = NULL;
			int32_t mine_out[2] = {0, 0};
			char c;
			close(go[1]);
			close(res[0]);
			if (fangs_storage_open(&mine, &fx_opts))
				_exit(2);
			/* all start together: when the parent closes the pipe */
			if (read(go[0], &c, 1) != 0)
				_exit(3);
			for (int i = 0; i < RELEASES; i++) {
				fangs_job k = {0};
				int rc;
				snprintf(ver, sizeof(ver), "1.0.%d", i);
				k.package = "race-release";
				k.version = ver;
				do {
					rc = fangs_storage_begin(mine);
					if (rc == 0) {
						rc = fangs_storage_job_enqueue_release(mine, &k);
						if (rc == 0)
							rc = fangs_storage_commit(mine);
						else
							fangs_storage_rollback(mine);
					}
				} while (rc == FANGS_EBUSY);
				if (rc == 0)
					mine_out[0]++;
				else if (rc == FANGS_EEXISTS)
					mine_out[1]++;
				else
					_exit(4);
			}
			fangs_storage_free(mine);
			if (write(res[1], mine_out, sizeof(mine_out)) != sizeof(mine_out))
				_exit(5);
			_exit(0);
		}
	}
	close(go[0]);
	close(res[1]);
	close(go[1]);
	while (read(res[0], out, sizeof(out)) == sizeof(out)) {
		queued += out[0];
		existed += out[1];
	}
	close(res[0]);
	for (int w = 0; w < WORKERS; w++) {
		int stt;
		ck_assert_int_eq(waitpid(pids[w], &stt, 0), pids[w]);
		ck_assert_msg(WIFEXITED(stt) && WEXITSTATUS(stt) == 0, "worker %d: status %d", w, stt);
	}
	ck_assert_int_eq(queued, RELEASES);
	ck_assert_int_eq(existed, RELEASES * (WORKERS - 1));
	for (int i = 0; i < RELEASES; i++) {
		snprintf(ver, sizeof(ver), "1.0.%d", i);
		ck_assert_msg(jobs_of(st, "race-release", ver) == 1, "race-release@%s queued more than once", ver);
	}
	fangs_storage_free(st);
}
END_TEST

START_TEST(test_queue_invalid)
{
	fangs_storage *st = fx_open(_i);
	fangs_job j = {0}, c;
	fangs_runner r = {0};
	ck_assert_int_eq(fangs_storage_job_enqueue(st, &j), FANGS_EINVAL);
	j.package = "p";
	ck_assert_int_eq(fangs_storage_job_enqueue(st, &j), FANGS_EINVAL);
	ck_assert_int_eq(fangs_storage_job_claim(st, "", &c), FANGS_EINVAL);
	ck_assert_int_eq(fangs_storage_job_finish(st, "x", FANGS_JOB_RUNNING), FANGS_EINVAL);
	ck_assert_int_eq(fangs_storage_job_requeue_runner(st, "r", 0, NULL, NULL), FANGS_EINVAL);
	ck_assert_int_eq(fangs_storage_runner_register(st, &r), FANGS_EINVAL);
	r.id = "r";
	ck_assert_int_eq(fangs_storage_runner_register(st, &r), FANGS_EINVAL);
	ck_assert_str_eq(fangs_job_state_name(FANGS_JOB_FAILED), "failed");
	fangs_storage_free(st);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("storage-queue");
	TCase *c = tcase_create("contract");
	int n = (int)n_test_backends;

	tcase_set_timeout(c, 120);
	tcase_add_checked_fixture(c, NULL, fx_cleanup);
	tcase_add_loop_test(c, test_enqueue_claim_finish, 0, n);
	tcase_add_loop_test(c, test_target_runner, 0, n);
	tcase_add_loop_test(c, test_requeue_then_fail, 0, n);
	tcase_add_loop_test(c, test_concurrent_claims, 0, n);
	tcase_add_loop_test(c, test_claims_race, 0, n);
	tcase_add_loop_test(c, test_claim_skips_locked, 0, n);
	tcase_add_loop_test(c, test_leader, 0, n);
	tcase_add_loop_test(c, test_feed_position, 0, n);
	tcase_add_loop_test(c, test_runners, 0, n);
	tcase_add_loop_test(c, test_queue_invalid, 0, n);
	tcase_add_loop_test(c, test_enqueue_release_once, 0, n);
	tcase_add_loop_test(c, test_enqueue_release_waits_for_open_transaction, 0, n);
	tcase_add_loop_test(c, test_enqueue_release_race, 0, n);
	suite_add_tcase(s, c);
	return fx_run_suite(s, "storage queue");
}
