/*
 * niyanta-bench recovery: starts a real cluster (one niyantad, N
 * niyanta-worker processes), kills the worker that holds the most running
 * workloads with SIGKILL, and measures how long its work takes to run again
 * on the survivors.
 *
 * The cluster helpers (bench_cluster_*) are separate from the mode so other
 * process-level benchmarks can reuse them: they own a private temporary
 * directory, free loopback ports, the child processes and their logs, and
 * an HTTP client holding the admin key.  The coordinator is one niyantad,
 * or a Raft cluster of several (nodes > 1, for bench_failover.c), whose
 * nodes can be killed and started again.  Children get their own process
 * group, so a terminal's Ctrl-C reaches only niyanta-bench, which then
 * stops them in order; a second signal SIGKILLs them at once.  Nothing
 * survives a SIGKILL of niyanta-bench itself: that cannot be caught.
 */
#ifndef TOOLS_BENCH_RECOVERY_H
#define TOOLS_BENCH_RECOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct bench_cluster;
struct errbuf;
struct http_client;
struct json_t;

#define BENCH_CLUSTER_WORKERS_MAX	64
#define BENCH_CLUSTER_NODES_MAX		5

/* What to start.  The argument lists are NULL-terminated (NULL: none) and
 * are added after the options the cluster sets itself. */
struct bench_cluster_opts {
	const char		*niyantad;	/* path of niyantad */
	const char		*worker;	/* path of niyanta-worker */
	size_t			 nodes;		/* niyantad nodes: 0 or 1 for one
						 * (as before), up to
						 * BENCH_CLUSTER_NODES_MAX for a
						 * Raft cluster */
	size_t			 nworkers;	/* 0..BENCH_CLUSTER_WORKERS_MAX */
	long long		 capacity;	/* --capacity of each worker, 1..1024 */
	long long		 timeout_ms;	/* longest wait for readiness */
	const char *const	*coord_args;	/* more niyantad arguments */
	const char *const	*worker_args;	/* more niyanta-worker arguments */
};

/* Catches SIGINT, SIGTERM and SIGHUP (and ignores SIGPIPE) for the rest of
 * the process: the first sets the flag bench_cluster_interrupted() reads,
 * so waits return ERR_SHUTDOWN and the caller stops the cluster; the
 * second also SIGKILLs every child still running. */
void		 bench_cluster_signals_install(void);
bool		 bench_cluster_interrupted(void);

/* Starts niyantad in a new temporary directory, waits until it answers
 * GET /ready and has written admin.key and join.token, starts the workers
 * (ids "bench-w1" ...) and waits until GET /v1/workers shows each ALIVE.
 * With o->nodes > 1 it first writes the secrets (niyantad
 * --generate-secrets), starts nodes 1..nodes with the same --peers and
 * waits until one of them answers GET /ready; each worker is given every
 * node's endpoint.  http_global_init must have run.  *out is set even on failure (NULL only
 * if nothing was started), so the caller can print the logs; the caller
 * always calls bench_cluster_stop.  Returns 0, ERR_INVAL (a program is
 * missing), ERR_IO (a process exited, a file could not be made),
 * ERR_TIMEOUT, ERR_SHUTDOWN (interrupted), ERR_PROTO (an unexpected
 * answer), ERR_UNAVAIL (no connection) or ERR_NOMEM. */
int		 bench_cluster_start(struct bench_cluster **out,
		     const struct bench_cluster_opts *o, struct errbuf *eb);

/* Stops the workers, then niyantad's nodes (SIGTERM, SIGKILL after a deadline),
 * reaps them, removes the directory and frees the cluster.  Accepts NULL.
 * Returns 0, or ERR_TIMEOUT if a process needed SIGKILL, or ERR_IO if the
 * directory could not be removed; the cluster is freed either way. */
int		 bench_cluster_stop(struct bench_cluster *cl, struct errbuf *eb);

/* ERR_IO if a process that should be running has exited (eb names it and
 * its status), ERR_SHUTDOWN if interrupted, else 0. */
int		 bench_cluster_check(struct bench_cluster *cl, struct errbuf *eb);

/* Prints the last lines of the log of each process that exited when it
 * should not have, or of niyantad's if none did. */
void		 bench_cluster_logs_print(const struct bench_cluster *cl, FILE *fp);

/* Borrowed; valid until the cluster is stopped.  The URL and the client
 * are node 1's (the only node's, with one); the key file holds the admin
 * key. */
const char	*bench_cluster_dir(const struct bench_cluster *cl);
const char	*bench_cluster_url(const struct bench_cluster *cl);
const char	*bench_cluster_key_file(const struct bench_cluster *cl);
struct http_client *bench_cluster_http(struct bench_cluster *cl);
size_t		 bench_cluster_nworkers(const struct bench_cluster *cl);
const char	*bench_cluster_worker_id(const struct bench_cluster *cl, size_t i);
long		 bench_cluster_worker_pid(const struct bench_cluster *cl, size_t i);

/* Index of the worker called id, or -1. */
long		 bench_cluster_worker_find(const struct bench_cluster *cl,
		     const char *id);

/* Sends SIGKILL to worker i and reaps it; the cluster expects it gone from
 * then on.  ERR_INVAL if it is not running. */
int		 bench_cluster_worker_kill(struct bench_cluster *cl, size_t i,
		     struct errbuf *eb);

/* niyantad's nodes: how many, node i's (0-based) HTTP URL (borrowed, NULL
 * if there is no node i), whether it runs, and its pid (-1 if none). */
size_t		 bench_cluster_nnodes(const struct bench_cluster *cl);
const char	*bench_cluster_node_url(const struct bench_cluster *cl, size_t i);
bool		 bench_cluster_node_running(struct bench_cluster *cl, size_t i);
long		 bench_cluster_node_pid(const struct bench_cluster *cl, size_t i);

/* Sends SIGKILL to node i and reaps it; the cluster expects it gone until
 * bench_cluster_node_restart.  ERR_INVAL if it is not running. */
int		 bench_cluster_node_kill(struct bench_cluster *cl, size_t i,
		     struct errbuf *eb);

/* Starts node i again, on its data directory and ports, without --peers
 * (its log holds the configuration); its output is appended to its log.
 * Does not wait for it.  ERR_INVAL if it is still running. */
int		 bench_cluster_node_restart(struct bench_cluster *cl, size_t i,
		     struct errbuf *eb);

/* Calls the API with the admin key (5 s deadline).  A non-NULL body is
 * sent as JSON.  A reply whose status is not want is ERR_PROTO, with the
 * API's error code and message in eb; transport failures keep their
 * http_client_request code.  On 0, *out (if out is not NULL) is the parsed
 * reply, owned by the caller.  With several nodes, a call that reached no
 * node (ERR_UNAVAIL), or a GET answered 503 (no leader known), is tried on
 * the next running node; the node that answered is tried first next time. */
int		 bench_cluster_api(struct bench_cluster *cl, const char *method,
		     const char *path, const char *body, long want,
		     struct json_t **out, struct errbuf *eb);

/* The program called name in the directory of this executable, for the
 * default --niyantad and --worker.  Caller frees; NULL if unknown. */
char		*bench_cluster_sibling(const char *name);

/* The programs a process-level mode runs: each of *niyantad and *worker
 * (worker may be NULL: the mode starts no workers) that is NULL becomes
 * this executable's sibling, a copy the caller frees from *own_niyantad or
 * *own_worker (set to NULL otherwise).  Returns 0; -1 having printed, for
 * mode, that this executable's directory is unknown; or 1 with *bad naming
 * a program that cannot be run (errno says why), for the mode's usage
 * error.  On failure nothing is left to free. */
int		 bench_cluster_programs(const char *mode, const char **niyantad,
		     const char **worker, char **own_niyantad, char **own_worker,
		     const char **bad);

/* Runs run(arg) with libcurl initialised and the signals caught
 * (bench_cluster_signals_install), and returns what it returns, or
 * fail_code having printed why libcurl could not start. */
int		 bench_cluster_run(const char *mode, int (*run)(void *), void *arg,
		     int fail_code);

/* Runs the mode with argv[0] = "recovery"; returns the exit status. */
int		 bench_recovery_main(int argc, char **argv);

#endif /* TOOLS_BENCH_RECOVERY_H */
