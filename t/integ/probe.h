/*
 * A hand-driven worker for the process-level tests: the calls a probe
 * makes to a real coordinator, one request at a time.
 */
#ifndef NIYANTA_T_PROBE_H
#define NIYANTA_T_PROBE_H

#include <stdint.h>

#include "net/bus.h"
#include "net/wire_worker.h"

#define PROBE_CALL_MS	5000

struct probe {
	struct bus_client	*bus;
	char			*id;
	uint64_t		 generation;
	char			 workload_id[WMSG_ID_LEN + 1];
	uint32_t		 attempt;
};

/* Opens p for worker id against url, the join token read from
 * token_file into token (SECRET_TEXT_MAX bytes); 0 or -1, said on stderr. */
int		 probe_open(struct probe *p, const char *name, const char *url,
		    const char *token_file, char *token, char *id);
void		 probe_close(struct probe *p);
/* Sends req with p's id and generation; the reply into *reply (the
 * caller finis it).  0, or -1 with the failure on stderr. */
int		 probe_call(struct probe *p, struct wmsg *req, struct wmsg *reply);
/* "ACK", or the ERROR's code name, or "?". */
const char	*probe_reply_name(const struct wmsg *reply);
/* REGISTER with one slot of capability sleep; 0 or -1. */
int		 probe_register(struct probe *p, const char *token);
/* One POLL held up to wait_ms: 1 and the first assignment's id and
 * attempt into p if one came, 0 if none, -1 on failure. */
int		 probe_poll(struct probe *p, unsigned wait_ms);
/* Sends a START or COMPLETE (SUCCEEDED) of p's attempt; the reply's name
 * into *name.  0 or -1. */
int		 probe_report(struct probe *p, enum wmsg_type type,
		    const char **name);

#endif
