/*
 * A hand-driven worker for t/integ/delivery.sh: it takes an assignment and
 * does not acknowledge it, to see when the coordinator sends it again.
 *
 *	deliver_probe URL JOIN_TOKEN_FILE WORKER_ID
 *
 * It registers (capability "sleep", one slot) and polls (1 s each) until
 * an assignment comes, printing "first=ID:ATTEMPT".  Without starting it,
 * it polls on until the same assignment comes again (20 s at most),
 * printing "resend=ID:ATTEMPT" and "resend_after_ms=N" (from the first
 * copy's arrival), and "between=N", the assignments that came in between.
 * Then it STARTs it ("start=REPLY"), polls for longer than the re-send
 * interval printing "after_start=N" (assignments that came), and
 * COMPLETEs it ("complete=REPLY").  Exit status 0 if the protocol went as
 * far as that.
 */
#include <stdio.h>
#include <string.h>

#include "src/clock.h"
#include "src/secret.h"
#include "t/integ/probe.h"

#define DELIVER_POLL_MS		1000
#define DELIVER_FIRST_MS	30000	/* longest wait for the first copy */
#define DELIVER_RESEND_MS	20000	/* and for the second */
#define DELIVER_QUIET_MS	5000	/* longer than the coordinator's 3 s */

int
main(int argc, char **argv)
{
	struct probe	 p;
	char		 token[SECRET_TEXT_MAX], first[WMSG_ID_LEN + 1];
	const char	*name;
	uint64_t	 t0, deadline;
	uint32_t	 attempt;
	unsigned	 between = 0, after = 0;
	int		 got = 0, rc = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: deliver_probe URL JOIN_TOKEN_FILE "
		    "WORKER_ID\n");
		return 2;
	}
	if (probe_open(&p, "deliver_probe", argv[1], argv[2], token,
	    argv[3]) != 0)
		return 1;
	if (probe_register(&p, token) != 0)
		goto out;
	deadline = clock_mono_ms() + DELIVER_FIRST_MS;
	while (got == 0 && clock_mono_ms() < deadline)
		if ((got = probe_poll(&p, DELIVER_POLL_MS)) < 0)
			goto out;
	if (got == 0) {
		fprintf(stderr, "deliver_probe: no assignment in time\n");
		goto out;
	}
	t0 = clock_mono_ms();
	memcpy(first, p.workload_id, sizeof first);
	attempt = p.attempt;
	printf("first=%s:%u\n", first, attempt);

	deadline = t0 + DELIVER_RESEND_MS;
	for (;;) {
		if (clock_mono_ms() >= deadline) {
			fprintf(stderr, "deliver_probe: not sent again in time\n");
			goto out;
		}
		if ((got = probe_poll(&p, DELIVER_POLL_MS)) < 0)
			goto out;
		if (got == 0)
			continue;
		if (strcmp(p.workload_id, first) == 0 && p.attempt == attempt)
			break;
		between++;
	}
	printf("resend=%s:%u\nresend_after_ms=%llu\nbetween=%u\n",
	    p.workload_id, p.attempt,
	    (unsigned long long)(clock_mono_ms() - t0), between);

	if (probe_report(&p, WMSG_START, &name) != 0)
		goto out;
	printf("start=%s\n", name);
	deadline = clock_mono_ms() + DELIVER_QUIET_MS;
	while (clock_mono_ms() < deadline) {
		if ((got = probe_poll(&p, DELIVER_POLL_MS)) < 0)
			goto out;
		after += (unsigned)got;
	}
	printf("after_start=%u\n", after);
	/* A copy that came after START must not have changed the attempt. */
	memcpy(p.workload_id, first, sizeof p.workload_id);
	p.attempt = attempt;
	if (probe_report(&p, WMSG_COMPLETE, &name) != 0)
		goto out;
	printf("complete=%s\n", name);
	rc = 0;
out:
	fflush(stdout);
	probe_close(&p);
	return rc;
}
