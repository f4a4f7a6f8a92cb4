/*
 * niyanta/plugin.h: the C interface of Niyanta workload types.
 *
 * A workload type is a struct niyanta_plugin.  The worker daemon has two
 * built in ("sleep" and "exec") and loads more from shared objects in its
 * plugin directory: each such object exports
 *
 *	const struct niyanta_plugin *niyanta_plugin_entry(void);
 *
 * which returns a pointer to a static description (it is never freed).
 *
 * Running one attempt of a workload:
 *
 *	init(task, &state, err, errlen)	  parse parameters, load the checkpoint
 *	execute(state, ctx, host)	  do the work, on a worker thread
 *	close(state)			  release everything (always called
 *					  after a successful init)
 *
 * execute runs on one of the worker's executor threads; several attempts of
 * the same type may run at once on different threads, so a plugin keeps its
 * per-attempt data in *state and its globals (if any) thread-safe.  It
 * calls back into the worker only through the host table, and only from
 * the thread running execute.  A plugin must never fork(): the worker's
 * networking library is not fork-safe; start processes with posix_spawn.
 *
 * Compatibility: the worker refuses an object whose abi_version differs
 * from the NIYANTA_PLUGIN_ABI_VERSION it was built with.  Any change to the
 * layout or meaning of these structures bumps the version.
 *
 * This header is installed with Niyanta and is plain C11; it does not
 * depend on anything else from Niyanta.
 */
#ifndef NIYANTA_PLUGIN_H
#define NIYANTA_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this interface; struct niyanta_plugin.abi_version. */
#define NIYANTA_PLUGIN_ABI_VERSION	2

/* The name of the function a plugin shared object exports. */
#define NIYANTA_PLUGIN_ENTRY		"niyanta_plugin_entry"

/* What execute returns. */
enum niyanta_outcome {
	NIYANTA_SUCCEEDED = 0,	/* done; the result (set_result) is final */
	NIYANTA_FAILED = 1,	/* failed; set_error says why (retried by policy) */
	NIYANTA_STOPPED = 2,	/* returned early because should_stop said so;
				 * the worker reports why it asked */
};

/* One attempt of one workload, as given to init.  Everything is borrowed:
 * valid until close returns, so init may keep pointers into it. */
struct niyanta_task {
	const char	*workload_id;		/* 36-character id */
	uint32_t	 attempt;		/* 1 for the first attempt */
	const char	*type_name;		/* the workload's type */
	const char	*params_json;		/* input parameters, JSON text ("{}" if none) */
	const void	*checkpoint;		/* last checkpoint's bytes, or NULL to start fresh */
	size_t		 checkpoint_len;
	uint32_t	 timeout_seconds;	/* 0: no limit; the host also enforces it
						 * through should_stop */
};

/* Opaque: the worker's handle for one running attempt.  Pass it back to
 * every host function. */
struct niyanta_ctx;

/* What the worker offers a running plugin.  Every function is called from
 * the thread running execute, with the ctx execute was given. */
struct niyanta_host {
	/* Reports progress: percent in [0, 100] (clamped) and an optional
	 * short message (copied; may be NULL).  Cheap: the worker forwards
	 * at most one report every 500 ms, plus the last one. */
	void	(*progress)(struct niyanta_ctx *ctx, double percent,
		    const char *message);
	/* Stores a checkpoint: len bytes (copied) from which init can resume a
	 * later attempt.  Blocks until the coordinator has it.  Returns 0, or
	 * -1 if it was not stored (too large, coordinator unreachable, attempt
	 * fenced); a plugin may carry on and checkpoint again later. */
	int	(*checkpoint)(struct niyanta_ctx *ctx, const void *data, size_t len);
	/* True once the attempt should end early: cancel, pause, drain of
	 * the worker, or timeout.  Poll it at least every second or so and
	 * return NIYANTA_STOPPED soon after it turns true (checkpointing
	 * first if that is quick). */
	bool	(*should_stop)(struct niyanta_ctx *ctx);
	/* Sets the result as JSON text (copied; must be valid JSON, or it is
	 * reported as an error).  The last call wins. */
	void	(*set_result)(struct niyanta_ctx *ctx, const char *json_text);
	/* Sets the error text shown for a failure (copied).  The last call
	 * wins. */
	void	(*set_error)(struct niyanta_ctx *ctx, const char *message);
	/* Writes a line to the worker's log, tagged with the workload id. */
	void	(*log)(struct niyanta_ctx *ctx, const char *message);
	/* True when the workload's checkpoint policy asks for a checkpoint
	 * now: interval_seconds have passed since the attempt started or last
	 * checkpointed, or progress has crossed the next on_progress_percent
	 * step.  Cheap; poll it with should_stop and call checkpoint when it
	 * turns true (it turns false again once a checkpoint is stored).
	 * Version 2 of this interface. */
	bool	(*checkpoint_due)(struct niyanta_ctx *ctx);
};

/* A workload type. */
struct niyanta_plugin {
	/* NIYANTA_PLUGIN_ABI_VERSION at the plugin's build time. */
	uint32_t	 abi_version;
	/* The workload type it runs, e.g. "count": 1 to 128 characters from
	 * [A-Za-z0-9._:/-], unique among the worker's types. */
	const char	*type_name;
	/* Prepares one attempt from task (parameters, checkpoint) and stores
	 * the plugin's own per-attempt data in *state.  Returns 0, or -1 with
	 * a NUL-terminated reason in err[0..errlen) (bad parameters, corrupt
	 * checkpoint): the attempt then fails without execute or close. */
	int		(*init)(const struct niyanta_task *task, void **state,
			    char *err, size_t errlen);
	/* Runs the attempt; returns an enum niyanta_outcome.  host and ctx
	 * are valid until execute returns. */
	int		(*execute)(void *state, struct niyanta_ctx *ctx,
			    const struct niyanta_host *host);
	/* Frees state; called once after every successful init, whether
	 * execute ran or not. */
	void		(*close)(void *state);
};

/* The symbol a plugin shared object exports (see NIYANTA_PLUGIN_ENTRY). */
typedef const struct niyanta_plugin *(*niyanta_plugin_entry_cb)(void);

#ifdef __cplusplus
}
#endif

#endif /* NIYANTA_PLUGIN_H */
