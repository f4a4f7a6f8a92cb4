/*
 * The apply micro-benchmark: builds SUBMIT commands of --batch workloads,
 * encodes them, applies them to a state machine in a temporary directory
 * and commits after each, as the coordinator's loop does.  It prints the
 * time per workload of each step; the apply loop is the one serial stage
 * of a coordinator, so its workloads/s is the ceiling of submissions.
 *
 * With --lifecycle it then registers --workers workers of --slots slots and
 * takes every workload through the rest of its life in waves of the
 * fleet's slots, with the commands the coordinator proposes: ASSIGN in
 * batches of 4,096 placements, and REPORT_BATCH of START, then of COMPLETE,
 * --reports per message (the worker combines them); a commit after every
 * --commit-every entries, as the apply thread commits a batch of entries.
 * The time per workload of each kind of entry, and of the commits, is the
 * apply thread's cost of one workload's life: its ceiling of assignments
 * per second end to end.
 */
#include "tools/bench_apply.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "src/clock.h"
#include "src/cmd.h"
#include "src/err.h"
#include "src/fsm.h"
#include "src/strs.h"

#define BA_ASSIGN_BATCH	4096	/* the coordinator's default --sched-batch */

/* The lifecycle run: a state machine, its next index, and the clocks. */
struct bench_life {
	struct fsm	*f;
	uint64_t	 index;
	size_t		 since_flush;	/* entries applied, not committed */
	size_t		 commit_every;
	uint64_t	 flush_us;
	size_t		 flushes;
};

/* A SUBMIT of n sleep workloads, encoded into *buf. */
static int
bench_apply_command(size_t n, void **buf, size_t *len)
{
	struct cmd	 c;
	size_t		 i;
	int		 rc;

	memset(&c, 0, sizeof c);
	c.type = CMD_SUBMIT;
	c.now_ms = clock_wall_ms();
	c.actor = xstrdup("bench");
	c.workloads = xcalloc(n, sizeof *c.workloads);
	c.n_workloads = n;
	for (i = 0; i < n; i++) {
		model_id_generate(c.workloads[i].id);
		c.workloads[i].customer_id = xstrdup(MODEL_CUSTOMER_ADMIN);
		c.workloads[i].type = xstrdup("sleep");
		c.workloads[i].params_json = xstrdup("{\"duration_ms\":0}");
		c.workloads[i].priority = 100;
		c.workloads[i].tier = TIER_STANDARD;
		c.workloads[i].max_retries = 3;
	}
	rc = cmd_encode(&c, buf, len);
	cmd_fini(&c);
	return rc;
}

/* Commits the entries applied since the last commit.  0, or 1 with the
 * failure printed. */
static int
bench_life_flush(struct bench_life *l)
{
	struct errbuf	 eb = { 0 };
	uint64_t	 t0 = clock_mono_us();

	if (fsm_flush(l->f, &eb) != 0) {
		fprintf(stderr, "niyanta-bench apply: commit: %s\n", eb.msg);
		return 1;
	}
	l->flush_us += clock_mono_us() - t0;
	l->flushes++;
	l->since_flush = 0;
	return 0;
}

/* Applies one command, committing every commit_every entries; the apply
 * time goes to *us.  0, or 1 with the failure printed. */
static int
bench_life_apply(struct bench_life *l, const struct cmd *c, uint64_t *us)
{
	struct fsm_event	*ev;
	void			*buf;
	size_t			 len, n_ev;
	uint64_t		 t0, t1;
	int			 rc, result = 0;

	if ((rc = cmd_encode(c, &buf, &len)) != 0) {
		fprintf(stderr, "niyanta-bench apply: encode: %s\n", err_code_name(rc));
		return 1;
	}
	t0 = clock_mono_us();
	rc = fsm_apply(l->f, l->index++, buf, len, &result);
	t1 = clock_mono_us();
	free(buf);
	*us += t1 - t0;
	if (rc != 0 || result != 0) {
		fprintf(stderr, "niyanta-bench apply: %s refused: %s\n",
		    cmd_type_name(c->type), err_code_name(rc != 0 ? rc : result));
		return 1;
	}
	n_ev = fsm_events_take(l->f, &ev);
	fsm_events_free(ev, n_ev);
	if (++l->since_flush >= l->commit_every)
		return bench_life_flush(l);
	return 0;
}

static void
bench_life_worker_id(char *buf, size_t size, size_t i)
{
	snprintf(buf, size, "bench-w%04zu", i);
}

/* Registers n workers of slots slots, able to run sleep. */
static int
bench_life_register(struct bench_life *l, size_t n, uint32_t slots)
{
	struct cmd	 c;
	char		 id[32];
	uint64_t	 us = 0;
	size_t		 i;
	int		 rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		bench_life_worker_id(id, sizeof id, i);
		memset(&c, 0, sizeof c);
		c.type = CMD_WORKER_REGISTER;
		c.now_ms = clock_wall_ms();
		c.actor = "bench";
		c.worker.id = id;
		c.worker.capacity = slots;
		(void)strlist_add(&c.worker.capabilities, "sleep");
		rc = bench_life_apply(l, &c, &us);
		strlist_fini(&c.worker.capabilities);
	}
	return rc;
}

/* The ids of every PENDING workload, in queue order. */
static char (*bench_life_pending(struct fsm *f, size_t *n))[MODEL_ID_LEN + 1]
{
	struct workload	*v = NULL;
	char		(*ids)[MODEL_ID_LEN + 1];
	size_t		 i;

	if (fsm_pending_scan(f, SIZE_MAX, NULL, NULL, &v, n) != 0) {
		*n = 0;
		return NULL;
	}
	ids = xcalloc(*n + 1, sizeof *ids);
	for (i = 0; i < *n; i++) {
		memcpy(ids[i], v[i].id, sizeof ids[i]);
		workload_fini(&v[i]);
	}
	free(v);
	return ids;
}

/* One kind of report for ids[0..n), placed round robin on the workers,
 * per_msg reports to a REPORT_BATCH of one worker. */
static int
bench_life_report(struct bench_life *l, char (*ids)[MODEL_ID_LEN + 1], size_t n,
    size_t workers, size_t per_msg, enum cmd_type type, uint64_t *us)
{
	struct cmd	 c;
	char		 wid[32];
	size_t		 w, i, k;
	int		 rc = 0;

	for (w = 0; w < workers && rc == 0; w++) {
		bench_life_worker_id(wid, sizeof wid, w);
		for (i = w; i < n && rc == 0;) {
			memset(&c, 0, sizeof c);
			c.type = CMD_REPORT_BATCH;
			c.now_ms = clock_wall_ms();
			c.actor = "bench";
			c.worker_id = wid;
			c.reports = xcalloc(per_msg, sizeof *c.reports);
			for (k = 0; k < per_msg && i < n; k++, i += workers) {
				c.reports[k].type = type;
				memcpy(c.reports[k].workload_id, ids[i],
				    sizeof c.reports[k].workload_id);
				c.reports[k].attempt = 1;
				c.reports[k].outcome = OUTCOME_SUCCEEDED;
			}
			c.n_reports = k;
			rc = bench_life_apply(l, &c, us);
			free(c.reports);
		}
	}
	return rc;
}

/*
 * Takes every PENDING workload through ASSIGN, START and COMPLETE in waves
 * of workers * slots, and prints the apply time per workload of each.
 */
static int
bench_life_run(struct bench_life *l, size_t workers, uint32_t slots,
    size_t per_msg, bool json)
{
	struct cmd	 c;
	char		(*ids)[MODEL_ID_LEN + 1], wid[32];
	uint64_t	 assign_us = 0, start_us = 0, complete_us = 0;
	uint64_t	 counts[WL__COUNT];
	size_t		 n, wave, done = 0, i, j, k;
	double		 per;
	int		 rc;

	if ((rc = bench_life_register(l, workers, slots)) != 0)
		return rc;
	l->flush_us = 0;
	l->flushes = 0;
	if ((ids = bench_life_pending(l->f, &n)) == NULL)
		return 1;
	while (done < n) {
		wave = n - done < workers * slots ? n - done : workers * slots;
		for (i = 0; i < wave && rc == 0; i += k) {
			memset(&c, 0, sizeof c);
			c.type = CMD_ASSIGN;
			c.now_ms = clock_wall_ms();
			c.actor = "coordinator";
			k = wave - i < BA_ASSIGN_BATCH ? wave - i : BA_ASSIGN_BATCH;
			c.placements = xcalloc(k, sizeof *c.placements);
			c.n_placements = k;
			for (j = 0; j < k; j++) {
				/* Round robin: ids[done + m] goes to worker m % workers,
				 * which is where its reports come from. */
				bench_life_worker_id(wid, sizeof wid, (i + j) % workers);
				memcpy(c.placements[j].workload_id, ids[done + i + j],
				    sizeof c.placements[j].workload_id);
				c.placements[j].worker_id = xstrdup(wid);
				c.placements[j].attempt = 1;
			}
			rc = bench_life_apply(l, &c, &assign_us);
			for (j = 0; j < k; j++)
				free(c.placements[j].worker_id);
			free(c.placements);
		}
		if (rc == 0)
			rc = bench_life_report(l, ids + done, wave, workers, per_msg,
			    CMD_START, &start_us);
		if (rc == 0)
			rc = bench_life_report(l, ids + done, wave, workers, per_msg,
			    CMD_COMPLETE, &complete_us);
		if (rc != 0)
			break;
		done += wave;
	}
	free(ids);
	if (rc == 0 && l->since_flush > 0)
		rc = bench_life_flush(l);
	if (rc != 0)
		return rc;
	/* A report the state machine passes by (fenced, stale) is no error
	 * of the batch: check that every workload really went through. */
	if (fsm_status_counts(l->f, counts) != 0 || counts[WL_COMPLETED] != n) {
		fprintf(stderr, "niyanta-bench apply: %" PRIu64 " of %zu workloads "
		    "COMPLETED\n", counts[WL_COMPLETED], n);
		return 1;
	}
	per = (double)(assign_us + start_us + complete_us + l->flush_us) /
	    (double)done;
	if (json)
		printf("{\"mode\":\"apply-lifecycle\",\"workloads\":%zu,"
		    "\"workers\":%zu,\"slots\":%u,\"reports_per_message\":%zu,"
		    "\"commit_every\":%zu,\"assign_us\":%.2f,\"start_us\":%.2f,"
		    "\"complete_us\":%.2f,\"commit_us\":%.2f,\"total_us\":%.2f,"
		    "\"lifecycles_per_s\":%.0f}\n", done, workers, slots, per_msg,
		    l->commit_every, (double)assign_us / done,
		    (double)start_us / done, (double)complete_us / done,
		    (double)l->flush_us / done, per, 1e6 / per);
	else
		printf("apply: lifecycle of %zu workloads on %zu workers x %u "
		    "slots, %zu reports a message, a commit every %zu entries: "
		    "ASSIGN %.2f us, START %.2f us, COMPLETE %.2f us, commits "
		    "%.2f us per workload; %.2f us in all: %.0f workloads/s "
		    "through the state machine\n", done, workers, slots, per_msg,
		    l->commit_every, (double)assign_us / done,
		    (double)start_us / done, (double)complete_us / done,
		    (double)l->flush_us / done, per, 1e6 / per);
	return 0;
}

int
bench_apply_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "batch", required_argument, NULL, 'b' },
		{ "lifecycle", no_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "slots", required_argument, NULL, 's' },
		{ "reports", required_argument, NULL, 'r' },
		{ "commit-every", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct errbuf		 eb = { 0 };
	struct fsm		*f = NULL;
	struct fsm_event	*ev;
	long long		 count = 200000, batch = 1000, workers = 1000;
	long long		 slots = 20, reports = 6, commit_every = 500;
	bool			 lifecycle = false;
	uint64_t		 t0, t1, t2, t3, enc = 0, app = 0, fl = 0, index = 1;
	char			 dir[4096], cmdline[4200];
	const char		*tmp = getenv("TMPDIR");
	void			*buf;
	size_t			 len, done = 0, k, n_ev;
	double			 per;
	bool			 json = false;
	int			 c, rc, result;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!str_parse_ll(optarg, 1, 100000000, &count))
				goto usage;
			break;
		case 'b':
			if (!str_parse_ll(optarg, 1, CMD_MAX_ITEMS, &batch))
				goto usage;
			break;
		case 'l':
			lifecycle = true;
			break;
		case 'w':
			if (!str_parse_ll(optarg, 1, 100000, &workers))
				goto usage;
			break;
		case 's':
			if (!str_parse_ll(optarg, 1, 100000, &slots))
				goto usage;
			break;
		case 'r':
			if (!str_parse_ll(optarg, 1, 1000, &reports))
				goto usage;
			break;
		case 'e':
			if (!str_parse_ll(optarg, 1, 1000000, &commit_every))
				goto usage;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			printf("usage: niyanta-bench apply [--count N] [--batch K] "
			    "[--lifecycle [--workers W] [--slots S] [--reports R] "
			    "[--commit-every E]] [--json]\n");
			return 0;
		default:
			goto usage;
		}
	}
	if (optind < argc)
		goto usage;
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	if ((size_t)snprintf(dir, sizeof dir, "%s/niyanta-bench-apply.XXXXXX",
	    tmp) >= sizeof dir) {
		fprintf(stderr, "niyanta-bench apply: TMPDIR is too long\n");
		return 1;
	}
	if (mkdtemp(dir) == NULL) {
		perror("niyanta-bench apply: mkdtemp");
		return 1;
	}
	if ((rc = fsm_open(&f, dir, (uint64_t)8 << 30, &eb)) != 0) {
		fprintf(stderr, "niyanta-bench apply: %s\n", eb.msg);
		rc = 1;
		goto out;
	}
	while (done < (size_t)count) {
		k = (size_t)count - done < (size_t)batch ? (size_t)count - done : (size_t)batch;
		t0 = clock_mono_us();
		if ((rc = bench_apply_command(k, &buf, &len)) != 0) {
			fprintf(stderr, "niyanta-bench apply: encode: %s\n", err_code_name(rc));
			rc = 1;
			goto out;
		}
		t1 = clock_mono_us();
		rc = fsm_apply(f, index++, buf, len, &result);
		t2 = clock_mono_us();
		free(buf);
		if (rc != 0 || result != 0 || fsm_flush(f, &eb) != 0) {
			fprintf(stderr, "niyanta-bench apply: apply failed: %s %s\n",
			    err_code_name(rc != 0 ? rc : result), eb.msg);
			rc = 1;
			goto out;
		}
		t3 = clock_mono_us();
		/* The coordinator hands these to the scheduler; here they go. */
		n_ev = fsm_events_take(f, &ev);
		fsm_events_free(ev, n_ev);
		enc += t1 - t0;
		app += t2 - t1;
		fl += t3 - t2;
		done += k;
	}
	per = (double)(app + fl) / (double)done;
	if (lifecycle) {
		struct bench_life	 l = { .f = f, .index = index,
		    .commit_every = (size_t)commit_every };

		rc = bench_life_run(&l, (size_t)workers, (uint32_t)slots,
		    (size_t)reports, json);
		goto out;
	}
	if (json)
		printf("{\"mode\":\"apply\",\"workloads\":%zu,\"batch\":%lld,"
		    "\"encode_us\":%.2f,\"apply_us\":%.2f,\"flush_us\":%.2f,"
		    "\"workloads_per_s\":%.0f}\n", done, batch, (double)enc / done,
		    (double)app / done, (double)fl / done, 1e6 / per);
	else
		printf("apply: %zu workloads in batches of %lld: encode %.2f us, "
		    "apply %.2f us, commit %.2f us per workload; %.0f workloads/s "
		    "through the state machine\n", done, batch, (double)enc / done,
		    (double)app / done, (double)fl / done, 1e6 / per);
	rc = 0;
out:
	fsm_close(f);
	snprintf(cmdline, sizeof cmdline, "%s/state.mdb", dir);
	unlink(cmdline);
	snprintf(cmdline, sizeof cmdline, "%s/state.mdb-lock", dir);
	unlink(cmdline);
	rmdir(dir);
	return rc;
usage:
	fprintf(stderr, "usage: niyanta-bench apply [--count N (1..100000000)] "
	    "[--batch K (1..%d)] [--lifecycle [--workers W] [--slots S] "
	    "[--reports R] [--commit-every E]] [--json]\n", CMD_MAX_ITEMS);
	return 2;
}
