/*
 * The worker runtime: joins the cluster through the coordinators' worker
 * endpoint, heartbeats, long-polls for assignments, runs them on a pool of
 * executor threads through the workload-type plugins, and reports their
 * start, progress, checkpoints and outcome.  niyanta-worker.c only parses
 * options and signals; everything else is here.
 *
 * Threads: one control thread (register, re-register when a coordinator
 * asks, heartbeat), one poll thread (POLL -> queue), and `capacity`
 * executor threads.
 */
#ifndef SRC_WORKER_H
#define SRC_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "src/model.h"

struct errbuf;
struct tagset;
struct worker;

/* The checkpoint policy a worker applies to the workloads of one type
 * (type NULL: every type) that bring none of their own. */
struct worker_ckpt_default {
	const char	*type;
	uint32_t	 interval_seconds;	/* 0: not by time */
	uint32_t	 on_progress_percent;	/* 0: not by progress */
};

struct worker_config {
	const char *const	*coordinators;		/* nng URLs, tcp://HOST:PORT */
	unsigned		 n_coordinators;
	const char		*join_token;		/* the cluster's join token text */
	const char		*worker_id;		/* 1..128 of [A-Za-z0-9._:/-] */
	const struct tagset	*tags;			/* may be NULL */
	unsigned		 capacity;		/* concurrent attempts, >= 1 */
	struct resources	 offered;		/* cpu, memory, GPUs; 0: none */
	const char		*plugin_dir;		/* NULL: built-in types only */
	unsigned		 drain_timeout_ms;	/* worker_stop waits this long */
	const char		*version;		/* reported at registration */
	const struct worker_ckpt_default *ckpt_defaults; /* by type; the last */
	unsigned		 n_ckpt_defaults;	/* match wins, may be 0 */
	uint64_t		 checkpoint_max;	/* bytes; 0: 64 MiB */
};

/* Copies cfg, loads the plugins, opens the bus and starts the threads;
 * registration happens in the background (retried while no coordinator
 * answers).  0, or ERR_INVAL/ERR_IO/ERR_EXISTS (plugins), ERR_NOMEM,
 * ERR_INTERNAL with eb. */
int	worker_open(struct worker **out, const struct worker_config *cfg,
	    struct errbuf *eb);

/* 0 while the worker can go on; ERR_AUTH once a coordinator refused the
 * join token (already logged; the worker has stopped polling and the
 * process should exit with status 2). */
int	worker_failure(struct worker *w);

/* Graceful stop: no more polling, every attempt asked to stop (they
 * complete as ABANDONED, so the coordinator requeues them at once), then
 * waits until they are reported or drain_timeout_ms passes.  Idempotent. */
void	worker_stop(struct worker *w);

/* Stops (without draining if worker_stop was not called), joins the
 * threads and frees.  An attempt whose plugin ignored the stop past the
 * drain timeout keeps its thread: then the worker is left to the process
 * exit rather than freed under it.  Accepts NULL and a half-built worker. */
void	worker_close(struct worker *w);

/* Reads a join token file: its content without surrounding whitespace, in
 * a new string (caller frees).  ERR_NOTFOUND, ERR_IO, or ERR_INVAL if it
 * is empty, longer than 1 KiB or contains whitespace or control
 * characters. */
int	worker_token_read(const char *path, char **out, struct errbuf *eb);

/* True if s is 1..128 characters from [A-Za-z0-9._:/-] (worker ids, tag
 * keys and values, workload type names). */
bool	worker_name_valid(const char *s);

#endif /* SRC_WORKER_H */
