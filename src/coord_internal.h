/*
 * NB: private to src/coord*.c.  The worker endpoint (coord_worker.c) and
 * the coordinator core (coord.c) share these declarations; nothing else
 * may include this file.
 */
#ifndef SRC_COORD_INTERNAL_H
#define SRC_COORD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "src/cmd.h"
#include "src/coord.h"
#include "src/fsm.h"

struct bus_call;
struct wmsg;
struct coord_workers;

/* The coordinator's configuration (borrowed, valid while c lives). */
const struct coord_config *coord_config_get(struct coord *c);
/* Wakes the leader's duty thread (scheduling, health). Any thread. */
void	coord_duty_wake(struct coord *c);

/* ---- the worker endpoint (coord_worker.c) ---- */

int	coord_workers_open(struct coord_workers **out, struct coord *c, struct errbuf *eb);
/* Answers every held poll (so workers re-poll elsewhere), answers new ones
 * at once from now on, and stops the delivery thread.  Call before
 * bus_server_close.  Accepts NULL. */
void	coord_workers_stop(struct coord_workers *cw);
/* Frees everything; after bus_server_close.  Accepts NULL. */
void	coord_workers_close(struct coord_workers *cw);
/* The bus callback: handles one worker request. */
void	coord_workers_request(void *arg, struct bus_call *call, const struct wmsg *req);
/* An applied command's event: wakes the worker's held poll (loop thread). */
void	coord_workers_event(struct coord_workers *cw, const struct fsm_event *ev);
/* This node became ready as leader: every known live worker gets a fresh
 * dead-timeout window (no worker is declared dead because of a restart or
 * failover). */
void	coord_workers_leader_start(struct coord_workers *cw);
/* Heartbeats heard since the last call, as a HEARTBEAT_BATCH's entries
 * (caller frees each worker_id and the array). Returns the count. */
size_t	coord_workers_heard(struct coord_workers *cw, struct cmd_heartbeat **out);
/* Workers silent for longer than dead_ms, with the registration
 * generation to declare dead (caller frees ids and arrays). */
size_t	coord_workers_expired(struct coord_workers *cw, uint64_t now_mono_ms,
	    uint64_t dead_ms, char ***ids, uint64_t **generations);

#endif /* SRC_COORD_INTERNAL_H */
