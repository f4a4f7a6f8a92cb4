/*
 * The coordinator core: one Raft node (libraft on its own libuv loop
 * thread), the state machine, the leader's scheduler and health monitor, and
 * the worker endpoint.  The HTTP API and the worker endpoint talk to the
 * rest of the system only through this interface.
 *
 * libraft is not thread-safe: every Raft call happens on the loop thread.
 * Other threads hand their commands to it with coord_propose, which queues
 * the command, wakes the loop with uv_async_send, and blocks until the
 * command is committed and applied, so many proposals from many threads are
 * in flight at once and the log batches them (group commit).
 */
#ifndef SRC_COORD_H
#define SRC_COORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "src/preempt.h"

struct cmd;
struct errbuf;
struct fsm;
struct sched_report;
struct coord;

/* A voter of the cluster's first configuration. */
struct coord_peer {
	uint64_t	 id;
	const char	*address;		/* its Raft HOST:PORT */
};

struct coord_config {
	const char	*data_dir;		/* Raft log, snapshots, state.mdb, secrets */
	const char	*worker_listen;		/* nng URL, e.g. tcp://127.0.0.1:7070 */
	const char	*raft_listen;		/* HOST:PORT */
	uint64_t	 node_id;		/* Raft server id, >= 1 */
	/* The first configuration: every voter, this node included.  None:
	 * a cluster of this node alone.  Used only on the very first start;
	 * later the configuration lives in the Raft log. */
	const struct coord_peer *peers;
	size_t		 n_peers;
	bool		 join;			/* start empty, to be added by the leader */
	/* Where the others reach this node; announced in the node
	 * directory when it leads.  NULL: derived from the listen
	 * addresses. */
	const char	*http_url;		/* http://HOST:PORT of the API */
	const char	*worker_url;		/* nng URL workers dial */
	/* Secret files; NULL: admin.key and join.token in data_dir.  The
	 * first leader reads each one (or creates it) and commits its hash,
	 * so nodes given the same files share the secrets. */
	const char	*admin_key_file;
	const char	*join_token_file;
	unsigned	 election_timeout_ms;
	unsigned	 raft_heartbeat_ms;
	bool		 pre_vote;
	unsigned	 snapshot_threshold;	/* entries between snapshots, */
	uint64_t	 snapshot_bytes;	/* or log bytes (0: no limit) */
	unsigned	 snapshot_trailing;	/* entries kept after a snapshot */
	uint64_t	 lmdb_map_size;		/* bytes */
	unsigned	 worker_heartbeat_ms;	/* interval workers are told to use */
	unsigned	 worker_dead_ms;	/* silence after which a worker is dead */
	unsigned	 sched_interval_ms;	/* fallback scheduling tick */
	unsigned	 sched_batch;		/* max placements per ASSIGN entry */
	unsigned	 poll_wait_ms;		/* longest a worker's poll is held */
	unsigned	 worker_threads;	/* worker endpoint request threads */
	unsigned	 propose_timeout_ms;	/* coord_propose gives up after this */
	uint64_t	 checkpoint_max;	/* largest checkpoint, bytes uncompressed */
	unsigned	 checkpoint_keep;	/* committed checkpoints kept per workload */
	int		 placement_strategy;	/* enum sched_strategy */
	struct preempt_policy preempt;		/* which tiers make room for which */
};

/* Fills cfg with the documented defaults (paths left NULL). */
void	coord_config_defaults(struct coord_config *cfg);

/* Opens the data directory (creating it), the state machine and the Raft
 * node, creates the admin key and join token files on first start, and
 * starts the loop thread and the worker endpoint.  0 or an ERR_* with eb. */
int	coord_open(struct coord **out, const struct coord_config *cfg, struct errbuf *eb);
/* Stops accepting proposals, fails the ones still waiting with
 * ERR_SHUTDOWN, stops the worker endpoint and the loop, closes Raft and the
 * store.  Accepts NULL and a half-built coord. */
void	coord_close(struct coord *c);

/* Proposes c through the log and waits until it is applied or the propose
 * timeout passes.  Returns 0 if it was applied and took effect; the FSM's
 * rejection code (ERR_CONFLICT, ERR_NOTFOUND, ERR_STALE, ...) if it was
 * applied but rejected; ERR_NOTLEADER, ERR_UNAVAIL, ERR_TIMEOUT or
 * ERR_SHUTDOWN if its fate is not known to be applied.  Any thread but the
 * loop thread. */
int	coord_propose(struct coord *c, const struct cmd *cmd, struct errbuf *eb);

/* How an asynchronous proposal ended: rc as coord_propose would have
 * returned it, eb its message.  Called exactly once, on the coordinator's
 * callback thread; it may reply on the network but must not wait for
 * another proposal. */
typedef void (*coord_propose_cb)(void *arg, int rc, const struct errbuf *eb);

/* Proposes cmd and returns at once: 0 if cb will be called, or the error
 * (ERR_SHUTDOWN, ERR_NOMEM, an encoding error) with cb never called.
 * There is no timeout: every proposal ends, applied, refused by libraft
 * (lost leadership), or failed at shutdown. */
int	coord_propose_async(struct coord *c, const struct cmd *cmd,
	    coord_propose_cb cb, void *arg, struct errbuf *eb);

/* The state machine, for reads (thread-safe). Borrowed. */
struct fsm *coord_fsm(struct coord *c);
/* What the scheduler did (src/sched_report.h; thread-safe). Borrowed. */
struct sched_report *coord_sched_report(struct coord *c);

/* True when this node leads and has applied everything committed before its
 * term began, so its reads include every acknowledged write. */
bool	coord_ready(struct coord *c);

struct coord_status {
	uint64_t	 node_id;
	bool		 leader;
	bool		 ready;
	uint64_t	 term;
	uint64_t	 commit_index;
	uint64_t	 applied_index;
	uint64_t	 leader_id;		/* 0 if unknown */
	char		 leader_address[128];	/* "" if unknown */
	char		 role[12];		/* "leader", "follower", "candidate", ... */
	uint64_t	 last_contact_ms;	/* follower: since the leader was heard */
};

void	coord_status_get(struct coord *c, struct coord_status *out);

/* The HTTP base URL ("http://HOST:PORT") the current leader announced,
 * into buf.  0, or ERR_NOTFOUND when no leader is known, this node is the
 * leader, or the leader has not announced its address yet. */
int	coord_leader_http(struct coord *c, char *buf, size_t len);

/* This node's own addresses, as it announces them.  Borrowed. */
const char *coord_http_url(struct coord *c);
const char *coord_worker_url(struct coord *c);
const char *coord_raft_address(struct coord *c);

#define COORD_MEMBERS_MAX	16

/* One server of the Raft configuration, as this node last saw it (the
 * replication figures only on the leader). */
struct coord_member {
	uint64_t	 id;
	char		 raft_address[128];
	char		 role[8];		/* "voter", "standby", "spare" */
	bool		 leader;
	bool		 progress_known;	/* this node leads: the rest is set */
	uint64_t	 match_index;
	bool		 recent_contact;
	uint64_t	 since_send_ms;
};

/* Up to max servers of the configuration into out; returns how many. */
size_t	coord_members(struct coord *c, struct coord_member *out, size_t max);

/* Membership changes and leadership transfer, on the leader; each waits
 * until libraft is done or timeout_ms passes.
 * coord_member_add: server id at raft_address joins as a voter once it has
 * caught up (it must run with --join).  coord_member_remove: id leaves the
 * configuration and the node directory.  coord_leader_transfer: voter id
 * (0: any) takes over; *new_leader gets the leader seen at the end.  0, or ERR_NOTLEADER, ERR_INVAL, ERR_EXISTS,
 * ERR_NOTFOUND, ERR_CONFLICT (another change under way), ERR_TIMEOUT,
 * ERR_SHUTDOWN, ERR_NOMEM, with eb saying why. */
int	coord_member_add(struct coord *c, uint64_t id, const char *raft_address,
	    unsigned timeout_ms, struct errbuf *eb);
int	coord_member_remove(struct coord *c, uint64_t id, unsigned timeout_ms,
	    struct errbuf *eb);
int	coord_leader_transfer(struct coord *c, uint64_t id, unsigned timeout_ms,
	    uint64_t *new_leader, struct errbuf *eb);

/* Path of a file in the data directory into buf. Returns buf. */
char	*coord_data_path(struct coord *c, const char *name, char *buf, size_t len);

#endif /* SRC_COORD_H */
