/*
 * Raft glue: one libraft node on the uv I/O backend, driven from the
 * caller's libuv loop.  Everything here must be called on that loop's
 * thread (libraft is not thread-safe).  The state machine is reached only
 * through the callbacks, so the consensus engine can be swapped without
 * touching the domain code.
 */
#ifndef NET_CLUSTER_H
#define NET_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct errbuf;
struct uv_loop_s;
struct cluster;

/* The state machine, as the cluster sees it. */
struct cluster_fsm {
	void	*arg;
	/* Takes the committed entry at index (buf is borrowed for the call).
	 * Nonzero return is fatal for the node. */
	int	(*apply)(void *arg, uint64_t index, const void *buf, size_t len);
	/* A snapshot is taken in two steps so that the loop never waits for
	 * it.  snapshot_mark runs on the loop thread when libraft decides to
	 * take one, after every entry up to `index` has been handed to apply;
	 * snapshot then runs on a libuv pool thread, beside apply, and must
	 * return, in a new malloc'd buffer, a state that holds at least every
	 * entry up to that index (holding later ones too is allowed: the
	 * state machine must skip entries it already holds when the log is
	 * replayed over a restored snapshot). */
	void	(*snapshot_mark)(void *arg, uint64_t index);
	int	(*snapshot)(void *arg, void **buf, size_t *len);
	/* Replaces the whole state with a snapshot; buf is borrowed. */
	int	(*restore)(void *arg, const void *buf, size_t len);
};

struct cluster_peer {
	uint64_t	 id;
	const char	*address;	/* HOST:PORT */
};

struct cluster_config {
	uint64_t			 id;		/* this node, >= 1 */
	const char			*address;	/* HOST:PORT to listen on */
	const char			*dir;		/* Raft log and snapshots */
	const struct cluster_peer	*peers;		/* initial voters (incl. this node); */
	size_t				 n_peers;	/*   none: a one-voter cluster */
	unsigned			 election_timeout_ms;
	unsigned			 heartbeat_ms;
	bool				 pre_vote;
	unsigned			 snapshot_threshold; /* entries between snapshots */
	uint64_t			 snapshot_bytes;	/* or log bytes (0: no limit) */
	unsigned			 snapshot_trailing;
	bool				 trace;		/* libraft's own trace to the log */
	bool				 join;		/* no bootstrap: wait to be added */
};

/* status 0: the entry at `index` is committed and has been handed to the
 * FSM's apply callback (which may apply it later, on a thread of its own);
 * otherwise an ERR_* (ERR_NOTLEADER: leadership was lost before commit,
 * and the entry may or may not be applied later). */
typedef void (*cluster_done_cb)(void *arg, int status, uint64_t index);
typedef void (*cluster_closed_cb)(void *arg);

/* Initialises the uv backend and the node, bootstraps the configuration on
 * first start, and starts it (restoring the last snapshot and replaying the
 * log).  0 or ERR_IO with eb. */
int	cluster_open(struct cluster **out, struct uv_loop_s *loop,
	    const struct cluster_config *cfg, const struct cluster_fsm *fsm,
	    struct errbuf *eb);
/* Closes the node; closed_cb runs on the loop when it is safe to free. The
 * cluster frees itself after calling it.  Proposals still in flight get
 * ERR_SHUTDOWN. */
void	cluster_close(struct cluster *c, cluster_closed_cb closed_cb, void *arg);

/* Appends buf (ownership taken, malloc'd) to the log; done runs once.
 * Returns 0, or ERR_NOTLEADER/ERR_NOMEM/ERR_UNAVAIL, in which case done is
 * not called and buf is freed. */
int	cluster_propose(struct cluster *c, void *buf, size_t len, cluster_done_cb done,
	    void *arg);
/* Completes once every entry before it has been handed to the FSM; done
 * gets the barrier's own index. */
int	cluster_barrier(struct cluster *c, cluster_done_cb done, void *arg);

struct cluster_state {
	bool		 leader;
	uint64_t	 term;
	uint64_t	 commit_index;
	uint64_t	 applied_index;
	uint64_t	 last_index;
	uint64_t	 leader_id;
	char		 leader_address[128];
	const char	*role;		/* "leader", "follower", "candidate", "unavailable" */
	uint64_t	 last_contact_ms; /* follower: since the leader was heard */
};

void	cluster_state_get(struct cluster *c, struct cluster_state *out);

/* One server of the current configuration, as this node sees it. */
struct cluster_member {
	uint64_t	 id;
	char		 address[128];
	const char	*role;		/* "voter", "standby" or "spare" */
	bool		 voter;
	/* Known on the leader only, for the other servers: */
	bool		 progress_known;
	uint64_t	 match_index;	/* last entry known to be on it */
	bool		 recent_contact; /* answered within an election timeout */
	uint64_t	 since_send_ms;	/* since the leader last sent to it */
};

/* Fills out with up to max servers of the configuration; returns how many. */
size_t	cluster_members(struct cluster *c, struct cluster_member *out, size_t max);

enum cluster_change_op { CLUSTER_ADD, CLUSTER_REMOVE };

/* Leader only.  CLUSTER_ADD adds server id at address and makes it a
 * voter once it has caught up (libraft sends it a snapshot and the log
 * tail); CLUSTER_REMOVE takes it out.  done runs once with 0 or an ERR_*
 * when the change is committed or failed (its index argument is 0).
 * Returns 0, or ERR_NOTLEADER, ERR_INVAL, ERR_EXISTS (id or address in
 * use), ERR_NOTFOUND, ERR_CONFLICT (a change is already under way),
 * ERR_NOMEM, in which case done is not called. */
int	cluster_change(struct cluster *c, enum cluster_change_op op, uint64_t id,
	    const char *address, cluster_done_cb done, void *arg);
/* Leader only: hands leadership to voter id (0: whichever voter is most
 * up to date).  done gets 0 once it leads, ERR_TIMEOUT if no other node
 * did within an election timeout, and the leader's id (0: unknown) in
 * place of an index.  Returns 0, or
 * ERR_NOTLEADER, ERR_NOTFOUND (not a voter, or this node), ERR_NOMEM. */
int	cluster_transfer(struct cluster *c, uint64_t id, cluster_done_cb done,
	    void *arg);

#endif /* NET_CLUSTER_H */
