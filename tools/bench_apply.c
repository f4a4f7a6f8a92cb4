/*
 * The apply micro-benchmark: builds SUBMIT commands of --batch workloads,
 * encodes them, applies them to a state machine in a temporary directory
 * and commits after each, as the coordinator's loop does.  It prints the
 * time per workload of each step; the apply loop is the one serial stage
 * of a coordinator, so its workloads/s is the ceiling of submissions.
 */
#include "tools/bench_apply.h"

#include <getopt.h>
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

int
bench_apply_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "batch", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct errbuf		 eb = { 0 };
	struct fsm		*f = NULL;
	struct fsm_event	*ev;
	long long		 count = 200000, batch = 1000;
	uint64_t		 t0, t1, t2, t3, enc = 0, app = 0, fl = 0, index = 1;
	char			 dir[] = "/tmp/niyanta-bench-apply.XXXXXX", cmdline[128];
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
		case 'j':
			json = true;
			break;
		case 'h':
			printf("usage: niyanta-bench apply [--count N] [--batch K] [--json]\n");
			return 0;
		default:
			goto usage;
		}
	}
	if (optind < argc)
		goto usage;
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
	    "[--batch K (1..%d)] [--json]\n", CMD_MAX_ITEMS);
	return 2;
}
