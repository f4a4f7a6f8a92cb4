/*
 * niyanta-bench: load generator for the REST API.
 *
 *   submit  N threads, each with its own keep-alive connection, POST M
 *           workloads as fast as the server acknowledges them.  A 201 means
 *           the submission is committed (durable), so the rate printed is
 *           durable submissions per second; the latency is the client-side
 *           round trip of each POST.  With --batch K each POST carries K
 *           workloads to /v1/workloads/batch (one command, one commit), and
 *           the figure is workloads per second, with requests per second
 *           and the latency of each request beside it.
 *   e2e     submits M sleep workloads of duration 0, then polls each one
 *           until it is terminal, and reports submit-to-RUNNING and
 *           submit-to-COMPLETED latency from the records' own timestamps
 *           (created_at, started_at, finished_at: the coordinator's clock,
 *           so client-side polling delay does not inflate them).
 *   apply   in-process state machine cost per workload (bench_apply.c).
 *   recovery starts its own cluster of real processes, kills a worker and
 *           times how fast its workloads run again elsewhere
 *           (bench_recovery.c).
 *   checkpoint  in-process cost of a checkpoint's path, MB/s and the
 *           compression ratio (bench_checkpoint.c).
 *   sched   in-process placement decision over a generated fleet and
 *           queue: placements/s, time per call and per placement, every
 *           placement checked against the rules (bench_sched.c).
 *   assign  starts its own niyantad, simulates W workers in-process over
 *           the worker protocol, submits N workloads in batches and times
 *           assignments per second end to end through the log: first
 *           submission to last START acknowledged (bench_assign.c).
 *   failover starts its own three-node coordinator cluster with workers,
 *           SIGKILLs the leader K times under a submission load, and times
 *           each kill to the first write the new leader acknowledges;
 *           counts acknowledged workloads lost or completed twice, and
 *           compares submissions/s with one node (bench_failover.c).
 *
 * Exit status: 0 if every request succeeded (and, for e2e, every workload
 * COMPLETED; for recovery, the target was met; for sched, no placement
 * broke a rule; for assign, every workload was STARTed; for failover,
 * nothing acknowledged was lost, unfinished or completed twice, and the
 * target was met), 1 otherwise, 2 for usage errors.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/http_client.h"
#include "src/err.h"
#include "src/strs.h"
#include "tools/bench_util.h"
#include "tools/bench_apply.h"
#include "tools/bench_assign.h"
#include "tools/bench_checkpoint.h"
#include "tools/bench_failover.h"
#include "tools/bench_recovery.h"
#include "tools/bench_sched.h"

#ifndef NIYANTA_VERSION
#define NIYANTA_VERSION		"dev"
#endif

#define BENCH_PROG		"niyanta-bench"
#define BENCH_DEFAULT_SERVER	"http://127.0.0.1:8080"
#define BENCH_COUNT_MAX		10000000
#define BENCH_CONN_MAX		1024
#define BENCH_BATCH_MAX		1000	/* the server's limit per batch */

enum { BENCH_EXIT_OK = 0, BENCH_EXIT_FAIL = 1, BENCH_EXIT_USAGE = 2 };

struct bench_opts {
	const char	*server;
	const char	*key_file;
	const char	*type;		/* workload_type to submit */
	const char	*params;	/* input_params JSON text, or NULL */
	long long	 duration_ms;	/* sleep's duration_ms when params is NULL */
	long long	 priority;	/* -1: not sent */
	long long	 count;
	long long	 conns;
	long long	 timeout_s;	/* e2e: give up polling after this */
	long long	 batch;		/* workloads per request; 0: no batching */
	bool		 json;
};

/* One submission request (one workload, or one batch of them). */
struct bench_item {
	double		 lat_ms;	/* POST round trip */
	bool		 submitted;	/* got 201 (and, for a batch, all of it) */
	size_t		 n;		/* workloads in the request */
	bool		 terminal;	/* e2e: seen in a terminal status */
	char		 status[16];	/* e2e: terminal status */
	char		 id[64];	/* e2e: the workload id */
	int64_t		 created_ms, started_ms, finished_ms;	/* -1 if absent */
};

/* Shared by the threads of one phase. */
struct bench_run {
	const struct bench_opts	*o;
	struct http_client	**clients;	/* one per thread */
	struct bench_item	*items;		/* one per request */
	size_t			 nreq;		/* requests to send */
	const char		*path;		/* where to POST */
	const char		*body;		/* the POST body */
	const char		*last_body;	/* a smaller last batch, or NULL */
	size_t			 last_n;	/* workloads in last_body */
	bool			 keep_ids;	/* e2e: parse the reply's id */
	size_t			*todo;		/* poll phase: indexes to fetch */
	size_t			 ntodo;
	atomic_size_t		 next;		/* next index to take */
	atomic_long		 errors;
	pthread_mutex_t		 lock;		/* guards first_error */
	char			 first_error[ERRBUF_LEN + 64];
};

struct bench_thread {
	struct bench_run	*run;
	size_t			 n;		/* thread number */
	pthread_t		 tid;
};

#define BENCH_SYNOPSIS							\
"SYNOPSIS\n"								\
"    niyanta-bench submit [--server URL] [--key-file FILE] [--connections N]\n" \
"                         [--count M] [--batch K] [--type T]\n"	\
"                         [--duration-ms D] [--params JSON] [--priority P]\n" \
"                         [--json]\n"					\
"    niyanta-bench e2e    [--server URL] [--key-file FILE] [--connections N]\n" \
"                         [--count M] [--timeout S] [--json]\n"		\
"    niyanta-bench apply  [--count N] [--batch K] [--lifecycle [--workers W]\n" \
"                         [--slots S] [--reports R] [--commit-every E]]\n" \
"                         [--json]\n"					\
"    niyanta-bench recovery [--workers N] [--workloads M] [--niyantad PATH]\n" \
"                           [--worker PATH] [--timeout S] [--json]\n" \
"    niyanta-bench checkpoint [--size-mb S] [--count N] [--json]\n"	\
"    niyanta-bench sched  [--workers N] [--pending M] [--batch K]\n"	\
"                         [--window W|coord] [--seed S] [--json]\n"	\
"    niyanta-bench assign [--workers W] [--workloads N] [--slots S]\n"	\
"                         [--threads T] [--connections C] [--work-ms D]\n" \
"                         [--niyantad PATH] [--coord-arg ARG]...\n"	\
"                         [--timeout S] [--stream] [--plain] [--json]\n" \
"    niyanta-bench failover [--kills K] [--connections C] [--rate R]\n"	\
"                           [--seconds S] [--workers N] [--niyantad PATH]\n" \
"                           [--worker PATH] [--timeout S] [--json]\n"

static const char bench_usage_text[] =
"NAME\n"
"    niyanta-bench - load generator for the Niyanta REST API\n"
"\n"
BENCH_SYNOPSIS
"\n"
"MODES\n"
"    submit   POST M workloads over N keep-alive connections (one thread\n"
"             each); report durable submissions per second and the latency\n"
"             of each POST (p50, p90, p99, max).  With --batch K, each POST\n"
"             carries K of them to /v1/workloads/batch (the last one the\n"
"             rest); report workloads per second (the figure to compare),\n"
"             requests per second, and the latency of each request.\n"
"    e2e      submit M sleep workloads with duration_ms 0, poll until all are\n"
"             terminal, and report submit-to-RUNNING and submit-to-COMPLETED\n"
"             latency (p50, p99) from each record's created_at, started_at\n"
"             and finished_at, plus the total wall time.  Needs workers.\n"
"    apply    in-process, no server: apply SUBMIT commands of K workloads\n"
"             (default 1000) to a state machine in a temporary directory,\n"
"             N workloads in all (default 200000); report the encode, apply\n"
"             and commit time per workload and the workloads/s the apply\n"
"             loop (a coordinator's one serial stage) can take.  With\n"
"             --lifecycle, then register W workers (default 1000) of S\n"
"             slots (20) and take every workload through ASSIGN (4096 a\n"
"             command), START and COMPLETE (REPORT_BATCH of R reports, 6),\n"
"             in waves of the fleet's slots, committing every E entries\n"
"             (500); fail unless all end COMPLETED, and report the time\n"
"             per workload of each: the apply thread's cost of one life,\n"
"             the ceiling of assignments/s end to end.\n"
"    recovery no server needed: start a private cluster of real processes\n"
"             on loopback ports in a temporary directory (one niyantad with\n"
"             its default 2 s heartbeat and 10 s dead timeout, N workers of\n"
"             ceil(M / (N - 1)) slots each), submit M sleep workloads of\n"
"             600 s that checkpoint every second, wait until all RUNNING\n"
"             with a checkpoint, SIGKILL the worker running the most, and\n"
"             poll every 50 ms.  Report the time from the kill until the\n"
"             worker is DEAD, until the first and the last of its workloads\n"
"             RUNNING on another worker (also by the records' started_at),\n"
"             how many came back as a new attempt from a checkpoint, and\n"
"             \"target: all running again within 12 s: met\" or \"NOT met\".\n"
"             Everything is stopped and removed at the end, on errors and\n"
"             on Ctrl-C (press it twice to kill the processes at once).\n"
"    checkpoint  in-process, no server: make a workload RUNNING in a state\n"
"             machine in a temporary directory and send it N checkpoints of\n"
"             S MiB (default 8 of 16) of record-shaped state, as a worker\n"
"             and a coordinator do: compress and hash (worker), cut into\n"
"             1 MiB chunks, check each chunk's hash, apply the CHECKPOINT\n"
"             commands and commit (coordinator).  Report the compression\n"
"             ratio and MB/s of checkpoint for each side and the whole path\n"
"             (no network or Raft log write in it).\n"
"    sched    in-process, no server: build from the seed a fleet of N\n"
"             workers (default 1000; a tenth gpu=true, five regions, three\n"
"             compliance classes, 4..32 slots) and a queue of M workloads\n"
"             (default 100000; 30% hard affinity, 40% soft, 10%\n"
"             anti-affinity, the rest none; 3% in retry backoff; 300\n"
"             customers, a fifth with max_concurrent), and call the\n"
"             scheduler as the coordinator does: the still-pending\n"
"             workloads in queue order, at most K placements a call\n"
"             (default 1024), until a call places nothing.  Then a steady\n"
"             state: a random tenth of the running workloads finish, as\n"
"             many new ones are queued, and the calls run again.  Report\n"
"             for each phase the placements, placements per second of\n"
"             time inside the scheduler, the time per call (p50, p99, max)\n"
"             and per placement, and why the rest are not placed; the peak\n"
"             RSS; and \"target: 100,000 placements/s in-process: met\" or\n"
"             \"NOT met\" (first phase).  Every placement is checked (hard\n"
"             affinity, capacity, anti-affinity, quota, backoff); each\n"
"             violation is printed on stderr.\n"
"    assign   no server needed: start a private niyantad on loopback ports\n"
"             in a temporary directory, and simulate W workers in this\n"
"             process (default 1000), each with its own nng connection:\n"
"             REGISTER with the join token (capabilities sleep and exec, a\n"
"             tenth gpu=true, five regions, three compliance classes, S\n"
"             slots, default 20), one long POLL always in flight, START for\n"
"             each assignment (the acknowledgement), COMPLETE (SUCCEEDED)\n"
"             at once or after D ms, the STARTs and COMPLETEs of a worker\n"
"             combined in REPORTS messages as niyanta-worker combines them,\n"
"             HEARTBEAT at the interval the coordinator gives; T driver\n"
"             threads (default 8) run them all.  N workloads (default\n"
"             100000) go to /v1/workloads/batch, 1000 a request over C\n"
"             connections (default 2), as fast as the API takes them (429\n"
"             and 503 are waited out and retried): of every ten, one hard\n"
"             gpu=true, one a hard region, one a hard compliance class,\n"
"             four preferring a region (soft), one exec workload anti-\n"
"             affine to exec, two plain sleeps; with --plain, all plain\n"
"             sleeps.  By default the whole queue is submitted before any\n"
"             worker registers, and the clock runs from the first\n"
"             registration to the last START acknowledged (placing a\n"
"             backlog); with --stream the workers register first and the\n"
"             clock runs from the first submission.  Each worker checks\n"
"             what it is given against the hard and anti-affinity rules.\n"
"             Report the submit rate; the clock's time and the assignments\n"
"             (STARTs acknowledged) per second over it and in its steady\n"
"             middle 80%; where the rules' workloads went; submit-to-START\n"
"             latency (p50, p99, max) from each workload's created_at to\n"
"             its START's acknowledgement; the protocol's counts (polls,\n"
"             WORK replies, duplicates, fenced, failed and timed-out\n"
"             calls); the CPU of this program and of niyantad's threads by\n"
"             name over the clock's time; and \"target: 20,000\n"
"             assignments/s end to end: met\" or \"NOT met\" (the overall\n"
"             rate).  Everything is stopped and removed at the end, on\n"
"             errors and on Ctrl-C.\n"
"    failover no server needed: start a private cluster of three niyantad\n"
"             nodes (shared secrets, --peers, default election timeout) on\n"
"             loopback ports in a temporary directory, and N workers (16\n"
"             slots each) given all three.  Measure submissions per second\n"
"             for S seconds (default 5), C connections each POSTing one\n"
"             sleep workload of 10 ms at a time with an Idempotency-Key:\n"
"             through the leader, then to the three nodes in turn.  Then,\n"
"             under a load of R submissions/s (default 200; 0: as fast as\n"
"             they are acknowledged) to the nodes in turn, K times\n"
"             (default 20): find the leader (GET /ready), SIGKILL it, wait\n"
"             for the first 201 to a request sent after it died, restart it\n"
"             on its data directory and wait until it has caught up (its\n"
"             /health applied_index at the leader's commit_index).  A\n"
"             request that fails is sent again with its key to the next\n"
"             node; a 200 replay counts as its acknowledgement.  Then stop\n"
"             the load, wait until nothing is pending or running, and check\n"
"             every acknowledged workload: it exists and is terminal, and\n"
"             its audit trail shows at most one COMPLETED.  Last, start one\n"
"             niyantad with the same workers and measure it the same way.\n"
"             Report each kill's time to the first acknowledged write, their\n"
"             p50, p90 and max, \"target: p50 under 2 s: met\" or \"NOT\n"
"             met\", the acknowledged-but-lost count (must be 0), those\n"
"             completed more than once, both rates and the ratio three-node /\n"
"             single-node.  Everything is stopped and removed at the end, on\n"
"             errors and on Ctrl-C.\n"
"\n"
"OPTIONS\n"
"    --server URL        API base URL (default $NIYANTA_SERVER, else\n"
"                        " BENCH_DEFAULT_SERVER ")\n"
"    --key-file FILE     API key file (default $NIYANTA_KEY_FILE)\n"
"    --connections N     concurrent connections, 1..1024 (default 4)\n"
"    --count M           workloads to submit, 1..10000000 (default 1000)\n"
"    --batch K           submit: K workloads per request, 1..1000, through\n"
"                        POST /v1/workloads/batch (default: one per POST\n"
"                        to /v1/workloads)\n"
"    --type T            submit: workload type (default sleep)\n"
"    --duration-ms D     submit: sleep's duration_ms (default 0)\n"
"    --params JSON       submit: input_params object (replaces --duration-ms)\n"
"    --priority P        submit: priority 0..1000 (default: server's)\n"
"    --timeout S         e2e: stop polling after S seconds (default 600);\n"
"                        recovery: longest wait of each phase, 1..3600\n"
"                        (default 120)\n"
"    --workers N         recovery: workers to start, 2..64 (default 5)\n"
"    --workloads M       recovery: workloads to run, 1..10000 (default 50)\n"
"    --niyantad PATH     recovery: the coordinator program (default: the\n"
"                        niyantad beside this program)\n"
"    --worker PATH       recovery: the worker program (default: the\n"
"                        niyanta-worker beside this program)\n"
"    --size-mb S         checkpoint: size of each checkpoint, 1..64\n"
"    --count N           checkpoint: how many, 1..1000\n"
"    --workers N         sched: workers in the fleet, 1..100000 (default 1000)\n"
"    --pending M         sched: workloads queued, 1..5000000 (default 100000)\n"
"    --batch K           sched: most placements per call, 1..1000000\n"
"                        (default 1024, the coordinator's sched_batch)\n"
"    --window W|coord    sched: give each call only the first W pending\n"
"                        workloads; coord: as many as the coordinator reads\n"
"                        (4 x free slots + 256, at most 4 x K); default 0,\n"
"                        the whole queue\n"
"    --seed S            sched: seed of the generated fleet and queue,\n"
"                        0..2^63-1 (default 1); the same seed, the same run\n"
"    --workers W         assign: simulated workers, 1..10000 (default 1000)\n"
"    --workloads N       assign: workloads to submit, 1..2000000 (default\n"
"                        100000)\n"
"    --slots S           assign: slots of each worker, 1..1000 (default 20)\n"
"    --threads T         assign: threads driving the workers, 1..256\n"
"                        (default 8)\n"
"    --connections C     assign: submission connections, 1..64 (default 2)\n"
"    --work-ms D         assign: START to COMPLETE, 0..600000 (default 0)\n"
"    --niyantad PATH     assign: the coordinator program (default: the\n"
"                        niyantad beside this program)\n"
"    --coord-arg ARG     assign: one more niyantad argument (repeat it:\n"
"                        --coord-arg --worker-threads --coord-arg 32)\n"
"    --timeout S         assign: longest wait of each phase, 1..86400\n"
"                        (default 300)\n"
"    --stream            assign: register the workers first, then submit\n"
"                        while they run; the clock starts at the first\n"
"                        submission\n"
"    --plain             assign: submit plain sleeps, no affinity rules\n"
"    --kills K           failover: leader kills, 1..1000 (default 20)\n"
"    --connections C     failover: submitting connections, 1..64 (default 4)\n"
"    --rate R            failover: submissions/s during the kills, 0..100000\n"
"                        (default 200; 0: as fast as acknowledged)\n"
"    --seconds S         failover: each throughput measurement, 1..600\n"
"                        (default 5)\n"
"    --workers N         failover: workers to start, 1..64 (default 2)\n"
"    --niyantad PATH     failover: the coordinator program (default: the\n"
"                        niyantad beside this program)\n"
"    --worker PATH       failover: the worker program (default: the\n"
"                        niyanta-worker beside this program)\n"
"    --timeout S         failover: longest wait of each phase, 1..3600\n"
"                        (default 60)\n"
"    --json              print the summary as one JSON object\n"
"    -h, --help          print this help and exit\n"
"\n"
"EXIT STATUS\n"
"    0 every request succeeded (e2e: and every workload COMPLETED;\n"
"    recovery: and the target was met; sched: and no placement broke a\n"
"    rule, whether or not the target was met; assign: and every workload\n"
"    was STARTed and no worker was given one that breaks its hard or\n"
"    anti-affinity, whether or not the target was met; failover: and no\n"
"    acknowledged workload was lost, unfinished or completed twice, and the\n"
"    target was met); 1 otherwise; 2 usage error.\n";

static int
bench_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
bench_usage_error(const char *fmt, ...)
{
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	rc = bench_usage_fail(NULL, BENCH_SYNOPSIS, BENCH_EXIT_USAGE, fmt, ap);
	va_end(ap);
	return rc;
}




static void
bench_run_error(struct bench_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Counts an error and keeps the text of the first one for the summary. */
static void
bench_run_error(struct bench_run *run, const char *fmt, ...)
{
	va_list	 ap;

	atomic_fetch_add(&run->errors, 1);
	pthread_mutex_lock(&run->lock);
	if (run->first_error[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(run->first_error, sizeof run->first_error, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&run->lock);
}

/* Short description of an API error reply: its code and message. */
static void
bench_reply_error(struct bench_run *run, const char *what,
    const struct http_response *resp)
{
	json_t		*root, *err;
	const char	*code = NULL, *msg = NULL;

	root = json_loadb(resp->body, resp->len, 0, NULL);
	err = json_object_get(root, "error");
	code = json_string_value(json_object_get(err, "code"));
	msg = json_string_value(json_object_get(err, "message"));
	bench_run_error(run, "%s: HTTP %ld %s: %s", what, resp->status,
	    code != NULL ? code : "", msg != NULL ? msg : "");
	json_decref(root);
}

/* How many times needle occurs in the n bytes at hay. */
static size_t
bench_count_occurrences(const char *hay, size_t n, const char *needle)
{
	size_t		 len = strlen(needle), count = 0;
	const char	*p = hay, *end = hay + n, *hit;

	while ((hit = memmem(p, (size_t)(end - p), needle, len)) != NULL) {
		count++;
		p = hit + len;
	}
	return count;
}

/*
 * A batch's 201: the server must have taken every workload of it.  The
 * answer is {"workloads":[{"id":...},...],"count":N}.  It is checked by
 * scanning, not parsed: parsing a thousand summaries with jansson cost the
 * load generator as much CPU as the server spends applying them, and the
 * two share this machine's cores.  The count must equal both the number
 * sent and the number of ids in the answer.  Marks it submitted if so.
 */
static void
bench_batch_check(struct bench_run *run, struct bench_item *it,
    const struct http_response *resp)
{
	static const char	 key[] = "\"count\":";
	const char		*at = NULL, *p = resp->body;
	size_t			 ids;
	long long		 n = -1;
	char			*end;

	while (p != NULL && (p = memmem(p, resp->len - (size_t)(p - resp->body),
	    key, sizeof key - 1)) != NULL) {
		at = p;
		p += sizeof key - 1;
	}
	if (at != NULL) {
		errno = 0;
		n = strtoll(at + sizeof key - 1, &end, 10);
		if (errno != 0 || end == at + sizeof key - 1 || *end != '}')
			n = -1;
	}
	ids = resp->body == NULL ? 0 :
	    bench_count_occurrences(resp->body, resp->len, "{\"id\":\"");
	if (n >= 0 && (size_t)n == it->n && ids == it->n)
		it->submitted = true;
	else if (n < 0)
		bench_run_error(run, "POST %s: the 201 reply has no count", run->path);
	else
		bench_run_error(run, "POST %s: sent %zu workloads, the reply "
		    "counts %lld and lists %zu ids", run->path, it->n, n, ids);
}

static void *
bench_submit_thread(void *arg)
{
	struct bench_thread	*t = arg;
	struct bench_run	*run = t->run;
	struct http_client	*http = run->clients[t->n];
	struct http_response	 resp = { 0 };
	struct bench_item	*it;
	struct errbuf		 eb;
	json_t			*reply;
	const char		*id;
	double			 t0;
	size_t			 i;
	bool			 last;
	int			 rc;

	for (;;) {
		i = atomic_fetch_add(&run->next, 1);
		if (i >= run->nreq)
			break;
		it = &run->items[i];
		last = run->last_body != NULL && i == run->nreq - 1;
		it->n = last ? run->last_n : (size_t)(run->o->batch > 0 ?
		    run->o->batch : 1);
		errbuf_clear(&eb);
		t0 = bench_now_s();
		rc = http_client_request(http, "POST", run->path,
		    last ? run->last_body : run->body, &resp, &eb);
		it->lat_ms = (bench_now_s() - t0) * 1000.0;
		if (rc != 0) {
			bench_run_error(run, "POST %s: %s: %s", run->path,
			    err_code_name(rc), eb.msg);
			continue;
		}
		if (resp.status != 201) {
			bench_reply_error(run, run->path, &resp);
			continue;
		}
		if (run->o->batch > 0) {
			bench_batch_check(run, it, &resp);
			continue;
		}
		it->submitted = true;
		if (!run->keep_ids)
			continue;
		reply = json_loadb(resp.body, resp.len, 0, NULL);
		id = json_string_value(json_object_get(reply, "id"));
		if (id == NULL || strlen(id) >= sizeof it->id) {
			it->submitted = false;
			bench_run_error(run, "POST /v1/workloads: reply has no id");
		} else {
			memcpy(it->id, id, strlen(id) + 1);
		}
		json_decref(reply);
	}
	http_response_fini(&resp);
	return NULL;
}

/* Records the timestamps of a terminal workload; false if it is not. */
static bool
bench_item_take(struct bench_run *run, struct bench_item *it, const json_t *wl)
{
	const char	*st = json_string_value(json_object_get(wl, "status"));

	if (st == NULL) {
		bench_run_error(run, "GET /v1/workloads/%s: reply has no status",
		    it->id);
		return false;
	}
	if (strcmp(st, "COMPLETED") != 0 && strcmp(st, "FAILED") != 0 &&
	    strcmp(st, "CANCELLED") != 0)
		return false;
	snprintf(it->status, sizeof it->status, "%s", st);
	if (!bench_rfc3339_parse(json_string_value(json_object_get(wl,
	    "created_at")), &it->created_ms))
		it->created_ms = -1;
	if (!bench_rfc3339_parse(json_string_value(json_object_get(wl,
	    "started_at")), &it->started_ms))
		it->started_ms = -1;
	if (!bench_rfc3339_parse(json_string_value(json_object_get(wl,
	    "finished_at")), &it->finished_ms))
		it->finished_ms = -1;
	it->terminal = true;
	return true;
}

static void *
bench_poll_thread(void *arg)
{
	struct bench_thread	*t = arg;
	struct bench_run	*run = t->run;
	struct http_client	*http = run->clients[t->n];
	struct http_response	 resp = { 0 };
	struct bench_item	*it;
	struct errbuf		 eb;
	json_t			*reply;
	char			*path;
	size_t			 k;
	int			 rc;

	for (;;) {
		k = atomic_fetch_add(&run->next, 1);
		if (k >= run->ntodo)
			break;
		it = &run->items[run->todo[k]];
		if (asprintf(&path, "/v1/workloads/%s", it->id) < 0) {
			bench_run_error(run, "out of memory");
			continue;
		}
		errbuf_clear(&eb);
		rc = http_client_request(http, "GET", path, NULL, &resp, &eb);
		if (rc != 0) {
			bench_run_error(run, "GET %s: %s: %s", path,
			    err_code_name(rc), eb.msg);
		} else if (resp.status != 200) {
			bench_reply_error(run, path, &resp);
		} else if ((reply = json_loadb(resp.body, resp.len, 0, NULL)) == NULL) {
			bench_run_error(run, "GET %s: reply is not JSON", path);
		} else {
			bench_item_take(run, it, reply);
			json_decref(reply);
		}
		free(path);
	}
	http_response_fini(&resp);
	return NULL;
}

/* Runs fn on every connection's thread and waits for all of them. */
static int
bench_run_threads(struct bench_run *run, void *(*fn)(void *))
{
	struct bench_thread	*th;
	size_t			 i, started;
	int			 rc = 0;

	if ((th = calloc((size_t)run->o->conns, sizeof *th)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", BENCH_PROG);
		return BENCH_EXIT_FAIL;
	}
	atomic_store(&run->next, 0);
	for (started = 0; started < (size_t)run->o->conns; started++) {
		th[started].run = run;
		th[started].n = started;
		if ((errno = pthread_create(&th[started].tid, NULL, fn,
		    &th[started])) != 0) {
			fprintf(stderr, "%s: cannot start a thread: %s\n",
			    BENCH_PROG, strerror(errno));
			rc = BENCH_EXIT_FAIL;
			break;
		}
	}
	for (i = 0; i < started; i++)
		pthread_join(th[i].tid, NULL);
	free(th);
	return rc;
}



/* The POST body for every submission. */
static char *
bench_body_build(const struct bench_opts *o)
{
	json_error_t	 jerr;
	json_t		*body, *params;
	char		*text;

	if (o->params != NULL) {
		params = json_loads(o->params, 0, &jerr);
		if (!json_is_object(params)) {
			json_decref(params);
			bench_usage_error("--params must be a JSON object");
			return NULL;
		}
	} else {
		params = json_pack("{s:I}", "duration_ms", (json_int_t)o->duration_ms);
	}
	body = json_pack("{s:s,s:o,s:i}", "workload_type", o->type,
	    "input_params", params, "max_retries", 0);
	if (body != NULL && o->priority >= 0)
		json_object_set_new(body, "priority", json_integer(o->priority));
	text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (text == NULL)
		fprintf(stderr, "%s: cannot build the request body\n", BENCH_PROG);
	return text;
}

/* bench_batch_body, saying so on OOM. */
static char *
bench_batch_body_build(const char *one, size_t n)
{
	char	*text;

	if ((text = bench_batch_body(one, n)) == NULL)
		fprintf(stderr, "%s: out of memory\n", BENCH_PROG);
	return text;
}

/* Creates run->clients, one per connection. */
static int
bench_clients_open(struct bench_run *run)
{
	struct errbuf	 eb;
	char		*key = NULL;
	long long	 i;
	int		 rc;

	errbuf_clear(&eb);
	if ((rc = http_key_file_read(run->o->key_file, &key, &eb)) != 0) {
		fprintf(stderr, "%s: %s: %s\n", BENCH_PROG, err_code_name(rc), eb.msg);
		return BENCH_EXIT_FAIL;
	}
	run->clients = calloc((size_t)run->o->conns, sizeof *run->clients);
	rc = run->clients == NULL ? ERR_NOMEM : 0;
	for (i = 0; rc == 0 && i < run->o->conns; i++)
		rc = http_client_new(&run->clients[i], run->o->server, key, &eb);
	explicit_bzero(key, strlen(key));
	free(key);
	if (rc == ERR_INVAL)
		return bench_usage_error("%s", eb.msg);
	if (rc != 0) {
		fprintf(stderr, "%s: %s: %s\n", BENCH_PROG, err_code_name(rc),
		    rc == ERR_NOMEM ? "out of memory" : eb.msg);
		return BENCH_EXIT_FAIL;
	}
	return 0;
}

static void
bench_clients_close(struct bench_run *run)
{
	long long	 i;

	if (run->clients == NULL)
		return;
	for (i = 0; i < run->o->conns; i++)
		http_client_free(run->clients[i]);
	free(run->clients);
	run->clients = NULL;
}

/* Submits o->count workloads; fills items and *secs. */
static int
bench_submit_phase(struct bench_run *run, double *secs)
{
	double	 t0;
	int	 rc;

	t0 = bench_now_s();
	rc = bench_run_threads(run, bench_submit_thread);
	*secs = bench_now_s() - t0;
	return rc;
}

static int
bench_cmd_submit(const struct bench_opts *o)
{
	struct bench_run	 run;
	double			*lat = NULL, secs = 0, rate;
	size_t			 n = 0, i, nwl = 0, k;
	char			*one = NULL;
	long			 errors;
	int			 rc;

	memset(&run, 0, sizeof run);
	run.o = o;
	run.path = "/v1/workloads";
	run.nreq = (size_t)o->count;
	pthread_mutex_init(&run.lock, NULL);
	if ((one = bench_body_build(o)) == NULL) {
		rc = BENCH_EXIT_USAGE;
		goto out;
	}
	if (o->batch > 0) {
		k = (size_t)o->batch;
		run.path = "/v1/workloads/batch";
		run.nreq = ((size_t)o->count + k - 1) / k;
		run.last_n = (size_t)o->count % k;
		if ((run.body = bench_batch_body_build(one, k)) == NULL ||
		    (run.last_n > 0 && (run.last_body =
		    bench_batch_body_build(one, run.last_n)) == NULL)) {
			rc = BENCH_EXIT_FAIL;
			goto out;
		}
	} else {
		run.body = one;
		one = NULL;
	}
	if ((rc = bench_clients_open(&run)) != 0)
		goto out;
	run.items = calloc(run.nreq, sizeof *run.items);
	lat = calloc(run.nreq, sizeof *lat);
	if (run.items == NULL || lat == NULL) {
		fprintf(stderr, "%s: out of memory\n", BENCH_PROG);
		rc = BENCH_EXIT_FAIL;
		goto out;
	}
	if ((rc = bench_submit_phase(&run, &secs)) != 0)
		goto out;
	for (i = 0; i < run.nreq; i++) {
		if (run.items[i].submitted) {
			lat[n++] = run.items[i].lat_ms;
			nwl += run.items[i].n;
		}
	}
	bench_sort_doubles(lat, n);
	errors = atomic_load(&run.errors);
	rate = secs > 0 ? (double)nwl / secs : 0;
	if (o->batch > 0 && o->json) {
		printf("{\"mode\":\"submit\",\"count\":%lld,\"batch\":%lld,"
		    "\"connections\":%lld,\"seconds\":%.3f,\"requests\":%zu,"
		    "\"durable\":%zu,\"workloads_per_s\":%.1f,\"rate_per_s\":%.1f,"
		    "\"requests_per_s\":%.1f,\"latency_ms\":{\"p50\":%.3f,"
		    "\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f},\"errors\":%ld}\n",
		    o->count, o->batch, o->conns, secs, run.nreq, nwl, rate, rate,
		    secs > 0 ? (double)n / secs : 0, bench_percentile(lat, n, 50),
		    bench_percentile(lat, n, 90), bench_percentile(lat, n, 99),
		    n ? lat[n - 1] : 0, errors);
	} else if (o->batch > 0) {
		printf("submit: %lld workloads in %zu requests of up to %lld, "
		    "%lld connections, %.2f s\n", o->count, run.nreq, o->batch,
		    o->conns, secs);
		printf("submit: %.0f workloads/s durable, %.1f requests/s, "
		    "request latency p50 %.2f ms p90 %.2f ms p99 %.2f ms max "
		    "%.2f ms, errors %ld\n", rate, secs > 0 ? (double)n / secs : 0,
		    bench_percentile(lat, n, 50), bench_percentile(lat, n, 90),
		    bench_percentile(lat, n, 99), n ? lat[n - 1] : 0, errors);
	} else if (o->json) {
		printf("{\"mode\":\"submit\",\"count\":%lld,\"connections\":%lld,"
		    "\"seconds\":%.3f,\"durable\":%zu,\"rate_per_s\":%.1f,"
		    "\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
		    "\"max\":%.3f},\"errors\":%ld}\n", o->count, o->conns, secs, n,
		    rate, bench_percentile(lat, n, 50), bench_percentile(lat, n, 90),
		    bench_percentile(lat, n, 99), n ? lat[n - 1] : 0, errors);
	} else {
		printf("submit: %lld workloads, %lld connections, %.2f s, %.0f/s "
		    "durable, latency p50 %.2f ms p90 %.2f ms p99 %.2f ms max "
		    "%.2f ms, errors %ld\n", o->count, o->conns, secs, rate,
		    bench_percentile(lat, n, 50), bench_percentile(lat, n, 90),
		    bench_percentile(lat, n, 99), n ? lat[n - 1] : 0, errors);
	}
	if (errors > 0)
		fprintf(stderr, "%s: first error: %s\n", BENCH_PROG, run.first_error);
	rc = errors > 0 ? BENCH_EXIT_FAIL : BENCH_EXIT_OK;
out:
	bench_clients_close(&run);
	free(one);
	free((char *)run.body);
	free((char *)run.last_body);
	free(run.items);
	free(lat);
	pthread_mutex_destroy(&run.lock);
	return rc;
}

static int
bench_cmd_e2e(const struct bench_opts *o)
{
	struct bench_run	 run;
	struct bench_item	*it;
	double			 t0, sub_secs = 0, wall, deadline, *to_run = NULL,
				*to_done = NULL;
	size_t			 i, nrun = 0, ndone = 0, ncompleted = 0,
				 nfailed = 0, ncancelled = 0, nsubmitted = 0;
	long			 submit_errors, errors;
	bool			 timed_out = false;
	int			 rc;

	memset(&run, 0, sizeof run);
	run.o = o;
	run.keep_ids = true;
	run.path = "/v1/workloads";
	run.nreq = (size_t)o->count;
	pthread_mutex_init(&run.lock, NULL);
	if ((run.body = bench_body_build(o)) == NULL) {
		rc = BENCH_EXIT_USAGE;
		goto out;
	}
	if ((rc = bench_clients_open(&run)) != 0)
		goto out;
	run.items = calloc((size_t)o->count, sizeof *run.items);
	run.todo = calloc((size_t)o->count, sizeof *run.todo);
	to_run = calloc((size_t)o->count, sizeof *to_run);
	to_done = calloc((size_t)o->count, sizeof *to_done);
	if (run.items == NULL || run.todo == NULL || to_run == NULL ||
	    to_done == NULL) {
		fprintf(stderr, "%s: out of memory\n", BENCH_PROG);
		rc = BENCH_EXIT_FAIL;
		goto out;
	}

	t0 = bench_now_s();
	if ((rc = bench_submit_phase(&run, &sub_secs)) != 0)
		goto out;
	submit_errors = atomic_load(&run.errors);
	deadline = t0 + (double)o->timeout_s;

	/* Poll in rounds; each round fetches only what is not terminal yet. */
	for (;;) {
		run.ntodo = 0;
		for (i = 0; i < (size_t)o->count; i++)
			if (run.items[i].submitted && !run.items[i].terminal)
				run.todo[run.ntodo++] = i;
		if (run.ntodo == 0)
			break;
		if (bench_now_s() >= deadline) {
			timed_out = true;
			break;
		}
		if ((rc = bench_run_threads(&run, bench_poll_thread)) != 0)
			goto out;
		bench_sleep_ms(run.ntodo > 1000 ? 20 : 50);
	}
	wall = bench_now_s() - t0;

	for (i = 0; i < (size_t)o->count; i++) {
		it = &run.items[i];
		if (it->submitted)
			nsubmitted++;
		if (!it->terminal)
			continue;
		if (strcmp(it->status, "COMPLETED") == 0)
			ncompleted++;
		else if (strcmp(it->status, "FAILED") == 0)
			nfailed++;
		else
			ncancelled++;
		if (it->created_ms >= 0 && it->started_ms >= 0)
			to_run[nrun++] = (double)(it->started_ms - it->created_ms);
		if (strcmp(it->status, "COMPLETED") == 0 && it->created_ms >= 0 &&
		    it->finished_ms >= 0)
			to_done[ndone++] = (double)(it->finished_ms - it->created_ms);
	}
	bench_sort_doubles(to_run, nrun);
	bench_sort_doubles(to_done, ndone);
	errors = atomic_load(&run.errors);
	if (o->json) {
		printf("{\"mode\":\"e2e\",\"count\":%lld,\"connections\":%lld,"
		    "\"submit_seconds\":%.3f,\"wall_seconds\":%.3f,"
		    "\"submitted\":%zu,\"completed\":%zu,\"failed\":%zu,"
		    "\"cancelled\":%zu,\"unfinished\":%zu,"
		    "\"submit_to_running_ms\":{\"p50\":%.0f,\"p99\":%.0f},"
		    "\"submit_to_completed_ms\":{\"p50\":%.0f,\"p99\":%.0f},"
		    "\"submit_errors\":%ld,\"errors\":%ld}\n", o->count, o->conns,
		    sub_secs, wall, nsubmitted, ncompleted, nfailed, ncancelled,
		    nsubmitted - ncompleted - nfailed - ncancelled,
		    bench_percentile(to_run, nrun, 50), bench_percentile(to_run, nrun, 99),
		    bench_percentile(to_done, ndone, 50), bench_percentile(to_done, ndone, 99),
		    submit_errors, errors);
	} else {
		printf("e2e: %lld workloads, %lld connections, submitted in %.2f s, "
		    "%s in %.2f s wall time\n", o->count, o->conns, sub_secs,
		    timed_out ? "gave up waiting" : "all terminal", wall);
		printf("e2e: submit-to-RUNNING p50 %.0f ms p99 %.0f ms, "
		    "submit-to-COMPLETED p50 %.0f ms p99 %.0f ms\n",
		    bench_percentile(to_run, nrun, 50), bench_percentile(to_run, nrun, 99),
		    bench_percentile(to_done, ndone, 50), bench_percentile(to_done, ndone, 99));
		printf("e2e: completed %zu, failed %zu, cancelled %zu, unfinished "
		    "%zu, submit errors %ld, errors %ld\n", ncompleted, nfailed,
		    ncancelled, nsubmitted - ncompleted - nfailed - ncancelled,
		    submit_errors, errors);
	}
	if (errors > 0)
		fprintf(stderr, "%s: first error: %s\n", BENCH_PROG, run.first_error);
	if (timed_out)
		fprintf(stderr, "%s: timeout: %zu workloads not terminal after %lld s\n",
		    BENCH_PROG, run.ntodo, o->timeout_s);
	rc = errors == 0 && !timed_out && ncompleted == (size_t)o->count ?
	    BENCH_EXIT_OK : BENCH_EXIT_FAIL;
out:
	bench_clients_close(&run);
	free((char *)run.body);
	free(run.items);
	free(run.todo);
	free(to_run);
	free(to_done);
	pthread_mutex_destroy(&run.lock);
	return rc;
}

enum {
	OPT_SERVER = 256, OPT_KEY_FILE, OPT_CONNECTIONS, OPT_COUNT, OPT_TYPE,
	OPT_DURATION, OPT_PARAMS, OPT_PRIORITY, OPT_TIMEOUT, OPT_JSON, OPT_BATCH,
};

int
main(int argc, char **argv)
{
	/* In enum order: an option's name is longopts[code - OPT_SERVER]. */
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "key-file", required_argument, NULL, OPT_KEY_FILE },
		{ "connections", required_argument, NULL, OPT_CONNECTIONS },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "duration-ms", required_argument, NULL, OPT_DURATION },
		{ "params", required_argument, NULL, OPT_PARAMS },
		{ "priority", required_argument, NULL, OPT_PRIORITY },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "batch", required_argument, NULL, OPT_BATCH },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct bench_opts	 o = {
		.type = "sleep", .priority = -1, .count = 1000, .conns = 4,
		.timeout_s = 600,
	};
	struct errbuf		 eb;
	const char		*mode, *env;
	bool			 e2e;
	int			 c, rc;

	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
		fputs(bench_usage_text, stdout);
		return BENCH_EXIT_OK;
	}
	if (argc >= 2 && (strcmp(argv[1], "-V") == 0 ||
	    strcmp(argv[1], "--version") == 0)) {
		printf("%s %s\n", BENCH_PROG, NIYANTA_VERSION);
		return BENCH_EXIT_OK;
	}
	if (argc < 2)
		return bench_usage_error("no mode given (submit, e2e, apply, "
		    "recovery, checkpoint, sched, assign or failover)");
	mode = argv[1];
	if (strcmp(mode, "apply") == 0)
		return bench_apply_main(argc - 1, argv + 1);
	if (strcmp(mode, "recovery") == 0)
		return bench_recovery_main(argc - 1, argv + 1);
	if (strcmp(mode, "checkpoint") == 0)
		return bench_checkpoint_main(argc - 1, argv + 1);
	if (strcmp(mode, "sched") == 0)
		return bench_sched_main(argc - 1, argv + 1);
	if (strcmp(mode, "assign") == 0)
		return bench_assign_main(argc - 1, argv + 1);
	if (strcmp(mode, "failover") == 0)
		return bench_failover_main(argc - 1, argv + 1);
	if (strcmp(mode, "submit") == 0)
		e2e = false;
	else if (strcmp(mode, "e2e") == 0)
		e2e = true;
	else
		return bench_usage_error("unknown mode '%s'", mode);

	o.server = (env = getenv("NIYANTA_SERVER")) != NULL && env[0] != '\0' ?
	    env : BENCH_DEFAULT_SERVER;
	o.key_file = getenv("NIYANTA_KEY_FILE");
	optind = 2;
	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SERVER:
			o.server = optarg;
			break;
		case OPT_KEY_FILE:
			o.key_file = optarg;
			break;
		case OPT_CONNECTIONS:
			if (!str_parse_ll(optarg, 1, BENCH_CONN_MAX, &o.conns))
				return bench_usage_error("--connections wants 1..%d, "
				    "not '%s'", BENCH_CONN_MAX, optarg);
			break;
		case OPT_COUNT:
			if (!str_parse_ll(optarg, 1, BENCH_COUNT_MAX, &o.count))
				return bench_usage_error("--count wants 1..%d, not "
				    "'%s'", BENCH_COUNT_MAX, optarg);
			break;
		case OPT_TYPE:
		case OPT_DURATION:
		case OPT_PARAMS:
		case OPT_PRIORITY:
			if (e2e)
				return bench_usage_error("e2e always submits sleep "
				    "workloads of duration 0; --%s is for submit",
				    longopts[c - OPT_SERVER].name);
			if (c == OPT_TYPE && optarg[0] == '\0')
				return bench_usage_error("--type wants a name");
			if (c == OPT_TYPE)
				o.type = optarg;
			else if (c == OPT_PARAMS)
				o.params = optarg;
			else if (c == OPT_DURATION && !str_parse_ll(optarg, 0,
			    86400000, &o.duration_ms))
				return bench_usage_error("--duration-ms wants "
				    "0..86400000, not '%s'", optarg);
			else if (c == OPT_PRIORITY && !str_parse_ll(optarg, 0,
			    1000, &o.priority))
				return bench_usage_error("--priority wants 0..1000, "
				    "not '%s'", optarg);
			break;
		case OPT_TIMEOUT:
			if (!e2e)
				return bench_usage_error("--timeout is for e2e");
			if (!str_parse_ll(optarg, 1, 86400, &o.timeout_s))
				return bench_usage_error("--timeout wants 1..86400 "
				    "seconds, not '%s'", optarg);
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case OPT_BATCH:
			if (e2e)
				return bench_usage_error("--batch is for submit; e2e "
				    "submits one workload per request");
			if (!str_parse_ll(optarg, 1, BENCH_BATCH_MAX, &o.batch))
				return bench_usage_error("--batch wants 1..%d, not "
				    "'%s'", BENCH_BATCH_MAX, optarg);
			break;
		case 'h':
			fputs(bench_usage_text, stdout);
			return BENCH_EXIT_OK;
		case 'V':
			printf("%s %s\n", BENCH_PROG, NIYANTA_VERSION);
			return BENCH_EXIT_OK;
		default:
			return bench_usage_error("bad option");
		}
	}
	if (optind < argc)
		return bench_usage_error("unexpected argument '%s'", argv[optind]);
	if (o.key_file == NULL || o.key_file[0] == '\0')
		return bench_usage_error("no API key: give --key-file FILE or set "
		    "NIYANTA_KEY_FILE");
	if (o.params != NULL && strcmp(o.type, "sleep") == 0 && o.duration_ms != 0)
		return bench_usage_error("give --params or --duration-ms, not both");
	if (o.params == NULL && strcmp(o.type, "sleep") != 0)
		o.params = "{}";

	errbuf_clear(&eb);
	if ((rc = http_global_init(&eb)) != 0) {
		fprintf(stderr, "%s: %s\n", BENCH_PROG, eb.msg);
		return BENCH_EXIT_FAIL;
	}
	rc = e2e ? bench_cmd_e2e(&o) : bench_cmd_submit(&o);
	http_global_fini();
	return rc;
}
