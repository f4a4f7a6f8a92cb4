/*
 * The bus client following the Raft leader (net/bus_client.c against
 * net/bus_server.c), in-process on 127.0.0.1: three bus servers answer
 * WMSG_ERROR/ERR_NOTLEADER unless a shared mark names them the leader, and
 * the leader says who it is in its reply (REGISTERED, generation 100 + its
 * index), or holds a POLL when told to.  Checked: calls reach the leader
 * and stay there; with no leader a call ends in ERR_NOTLEADER after its
 * timeout, without spinning; a leader elected while a call waits answers
 * that call; a closed leader's calls fail over, also a long poll it held,
 * also when the leader is a separate process killed with SIGKILL; a
 * coordinator down at the start is used once it comes up; one URL behaves
 * as before (NOTLEADER is handed back as a reply, nobody listening is
 * ERR_UNAVAIL).
 *
 * Run with "serve URL" it is that separate process instead: a leader that
 * holds every POLL, printing "ready" once it listens and "held" per held
 * poll on stdout.
 */
#include "net/bus.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net/wire_worker.h"
#include "src/clock.h"
#include "src/err.h"
#include "src/log.h"
#include "t/tap.h"

extern char **environ;

#define NSRV		3
#define NOBODY		(-1)
#define CHILD_GEN	200		/* the separate process's generation */
#define WAIT_MS		20000		/* longest wait for any condition */

struct srv {
	int			 idx;
	struct bus_server	*bs;
	char			 url[64];
	atomic_int		 hits;		/* requests it received */
};

static struct srv	 srvs[NSRV];
static atomic_int	 leader = NOBODY;	/* index of the leader */
static atomic_int	 holder = NOBODY;	/* the leader holding POLLs */

/* A POLL held by the leader, as a long poll is. */
static pthread_mutex_t	 held_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 held_cv = PTHREAD_COND_INITIALIZER;
static struct bus_call	*held;

/* Signalled on every request a server receives. */
static pthread_mutex_t	 hits_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 hits_cv = PTHREAD_COND_INITIALIZER;

static unsigned		 port_seed;

static void
reply_error(struct bus_call *call, int err)
{
	struct wmsg	 r;

	memset(&r, 0, sizeof r);
	r.type = WMSG_ERROR;
	r.err = err;
	r.message = (char *)"not the leader";
	bus_call_reply(call, &r);
}

static void
reply_who(struct bus_call *call, uint64_t gen)
{
	struct wmsg	 r;

	memset(&r, 0, sizeof r);
	r.type = WMSG_REGISTERED;
	r.generation = gen;
	r.heartbeat_ms = 1000;
	bus_call_reply(call, &r);
}

static void
srv_cb(void *arg, struct bus_call *call, const struct wmsg *req)
{
	struct srv	*s = arg;

	pthread_mutex_lock(&hits_mu);
	atomic_fetch_add(&s->hits, 1);
	pthread_cond_broadcast(&hits_cv);
	pthread_mutex_unlock(&hits_mu);
	if (atomic_load(&leader) != s->idx) {
		reply_error(call, ERR_NOTLEADER);
		return;
	}
	if (req->type == WMSG_POLL && atomic_load(&holder) == s->idx) {
		pthread_mutex_lock(&held_mu);
		held = call;
		pthread_cond_broadcast(&held_cv);
		pthread_mutex_unlock(&held_mu);
		return;
	}
	reply_who(call, 100 + (uint64_t)s->idx);
}

/* A loopback port outside the ephemeral range (as t/integ/lib.sh picks). */
static int
port_pick(void)
{
	FILE	*f;
	int	 lo = 32768, hi = 60999, p;

	if ((f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) != NULL) {
		if (fscanf(f, "%d %d", &lo, &hi) != 2) {
			lo = 32768;
			hi = 60999;
		}
		fclose(f);
	}
	do
		p = 20000 + rand_r(&port_seed) % 12000;
	while (p >= lo && p <= hi);
	return p;
}

/* Opens srvs[i] on a free port: the listen itself reserves it. */
static int
srv_open(int i)
{
	struct errbuf	 eb;
	int		 tries, rc = ERR_IO;

	srvs[i].idx = i;
	atomic_store(&srvs[i].hits, 0);
	for (tries = 0; tries < 200 && rc == ERR_IO; tries++) {
		snprintf(srvs[i].url, sizeof srvs[i].url, "tcp://127.0.0.1:%d",
		    port_pick());
		rc = bus_server_open(&srvs[i].bs, srvs[i].url, 2, srv_cb, &srvs[i],
		    &eb);
	}
	if (rc != 0)
		tap_diag("server %d: %s", i, eb.msg);
	return rc;
}

static void
srv_close(int i)
{
	bus_server_close(srvs[i].bs);
	srvs[i].bs = NULL;
}

static void
hits_reset(void)
{
	int	 i;

	for (i = 0; i < NSRV; i++)
		atomic_store(&srvs[i].hits, 0);
}

static int
hits_total(void)
{
	int	 i, n = 0;

	for (i = 0; i < NSRV; i++)
		n += atomic_load(&srvs[i].hits);
	return n;
}

/* One call of type t; *gen gets the answering server's generation (0 if
 * the reply was not REGISTERED), *err the reply's error code if any. */
struct call {
	struct bus_client	*cli;
	enum wmsg_type		 type;
	unsigned		 timeout_ms;
	int			 rc;
	uint64_t		 gen;
	int			 err;		/* WMSG_ERROR's code */
	uint64_t		 elapsed_ms;
	struct errbuf		 eb;
};

static void *
call_main(void *arg)
{
	struct call	*k = arg;
	struct wmsg	 req, reply;
	uint64_t	 t0;

	memset(&req, 0, sizeof req);
	req.type = k->type;
	req.worker_id = (char *)"w1";
	req.wait_ms = 5000;
	k->gen = 0;
	k->err = 0;
	errbuf_clear(&k->eb);
	t0 = clock_mono_ms();
	k->rc = bus_client_call(k->cli, &req, &reply, k->timeout_ms, &k->eb);
	k->elapsed_ms = clock_mono_ms() - t0;
	if (k->rc == 0) {
		if (reply.type == WMSG_REGISTERED)
			k->gen = reply.generation;
		else if (reply.type == WMSG_ERROR)
			k->err = reply.err;
		wmsg_fini(&reply);
	}
	return NULL;
}

static struct call
call_now(struct bus_client *cli, enum wmsg_type t, unsigned timeout_ms)
{
	struct call	 k;

	memset(&k, 0, sizeof k);
	k.cli = cli;
	k.type = t;
	k.timeout_ms = timeout_ms;
	call_main(&k);
	if (k.rc != 0)
		tap_diag("call: %s", k.eb.msg);
	return k;
}

/* Waits until the leader holds a POLL; takes it.  NULL after WAIT_MS. */
static struct bus_call *
held_take(void)
{
	struct bus_call	*c;
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&held_mu);
	while (held == NULL &&
	    pthread_cond_timedwait(&held_cv, &held_mu, &ts) == 0)
		;
	c = held;
	held = NULL;
	pthread_mutex_unlock(&held_mu);
	return c;
}

/* Waits until the servers together received at least n requests. */
static int
hits_wait(int n)
{
	struct timespec	 ts;
	int		 got;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&hits_mu);
	while ((got = hits_total()) < n &&
	    pthread_cond_timedwait(&hits_cv, &hits_mu, &ts) == 0)
		;
	got = hits_total();
	pthread_mutex_unlock(&hits_mu);
	return got >= n;
}

/* ---- the separate process ---- */

static void
child_cb(void *arg, struct bus_call *call, const struct wmsg *req)
{
	if (req->type == WMSG_POLL) {
		/* Never answered: the process is killed with it held. */
		if (write(1, "held\n", 5) != 5)
			_exit(4);
		return;
	}
	reply_who(call, CHILD_GEN);
}

static int
child_main(const char *url)
{
	struct bus_server	*bs;
	struct errbuf		 eb;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		return 5;
	if (bus_server_open(&bs, url, 2, child_cb, NULL, &eb) != 0) {
		if (write(1, "busy\n", 5) != 5)
			return 4;
		return 3;
	}
	if (write(1, "ready\n", 6) != 6)
		return 4;
	for (;;)
		pause();
}

struct child {
	pid_t	 pid;
	int	 fd;			/* its stdout */
	char	 url[64];
};

/* Reads the child's next line into buf; 0 on timeout or EOF. */
static int
child_line(struct child *ch, char *buf, size_t len)
{
	uint64_t	 until = clock_mono_ms() + WAIT_MS, now;
	struct pollfd	 pfd;
	size_t		 n = 0;
	char		 c;

	while (n + 1 < len) {
		now = clock_mono_ms();
		if (now >= until)
			return 0;
		pfd.fd = ch->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(until - now)) <= 0)
			continue;
		if (read(ch->fd, &c, 1) != 1)
			return 0;
		if (c == '\n')
			break;
		buf[n++] = c;
	}
	buf[n] = '\0';
	return 1;
}

static int
child_start(struct child *ch, const char *self)
{
	posix_spawn_file_actions_t	 fa;
	char				*argv[4], line[32];
	int				 fds[2], tries, rv;

	for (tries = 0; tries < 50; tries++) {
		snprintf(ch->url, sizeof ch->url, "tcp://127.0.0.1:%d", port_pick());
		if (pipe2(fds, O_CLOEXEC) != 0)
			return -1;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
		posix_spawn_file_actions_addclose(&fa, fds[0]);
		posix_spawn_file_actions_addclose(&fa, fds[1]);
		argv[0] = (char *)self;
		argv[1] = (char *)"serve";
		argv[2] = ch->url;
		argv[3] = NULL;
		rv = posix_spawn(&ch->pid, "/proc/self/exe", &fa, NULL, argv,
		    environ);
		posix_spawn_file_actions_destroy(&fa);
		close(fds[1]);
		ch->fd = fds[0];
		if (rv != 0) {
			close(ch->fd);
			tap_diag("posix_spawn: %s", strerror(rv));
			return -1;
		}
		if (child_line(ch, line, sizeof line) && strcmp(line, "ready") == 0)
			return 0;
		kill(ch->pid, SIGKILL);
		waitpid(ch->pid, NULL, 0);
		close(ch->fd);
		if (strcmp(line, "busy") != 0)
			return -1;
	}
	return -1;
}

/* ---- the tests ---- */

static void
test_follow(const char *self)
{
	struct bus_client	*cli = NULL, *one = NULL, *two = NULL;
	struct bus_call		*bc;
	struct errbuf		 eb;
	struct child		 ch;
	struct call		 k, bg;
	const char		*urls[NSRV];
	pthread_t		 th;
	char			 line[32];
	int			 i, h, n, rc;

	for (i = 0; i < NSRV; i++) {
		if (!is_int(srv_open(i), 0, "server listens"))
			return;
		urls[i] = srvs[i].url;
	}
	rc = bus_client_open(&cli, urls, NSRV, &eb);
	if (!is_int(rc, 0, "client with three URLs opens"))
		return;

	/* The leader answers, and calls stay with it. */
	atomic_store(&leader, 1);
	k = call_now(cli, WMSG_HEARTBEAT, WAIT_MS);
	ok(k.rc == 0 && k.gen == 101, "first call reaches the leader (server 1)");
	hits_reset();
	for (i = 0, n = 0; i < 5; i++) {
		k = call_now(cli, WMSG_HEARTBEAT, WAIT_MS);
		n += k.rc == 0 && k.gen == 101;
	}
	is_int(n, 5, "five more calls answered by the leader");
	ok(atomic_load(&srvs[0].hits) == 0 && atomic_load(&srvs[2].hits) == 0 &&
	    atomic_load(&srvs[1].hits) == 5,
	    "and sent to it directly: no round trip to a follower");

	/* Leadership moves. */
	atomic_store(&leader, 2);
	k = call_now(cli, WMSG_HEARTBEAT, 5000);
	ok(k.rc == 0 && k.gen == 102 && k.elapsed_ms < 5000,
	    "after the leader moves, the next call reaches the new leader");
	hits_reset();
	k = call_now(cli, WMSG_HEARTBEAT, 5000);
	ok(k.rc == 0 && k.gen == 102 && atomic_load(&srvs[2].hits) == 1 &&
	    hits_total() == 1, "and the one after goes straight to it");

	/* No leader at all: NOTLEADER after the timeout, without spinning. */
	atomic_store(&leader, NOBODY);
	hits_reset();
	k = call_now(cli, WMSG_HEARTBEAT, 1000);
	is_int(k.rc, ERR_NOTLEADER, "no leader: ERR_NOTLEADER");
	ok(k.elapsed_ms >= 990 && k.elapsed_ms < 6000,
	    "after the call's timeout (%llu ms)", (unsigned long long)k.elapsed_ms);
	h = hits_total();
	ok(h >= NSRV && h <= 150, "every coordinator asked, in paced rounds "
	    "(%d requests in 1 s)", h);

	/* A leader elected while a call waits answers that call. */
	hits_reset();
	memset(&bg, 0, sizeof bg);
	bg.cli = cli;
	bg.type = WMSG_HEARTBEAT;
	bg.timeout_ms = WAIT_MS;
	pthread_create(&th, NULL, call_main, &bg);
	ok(hits_wait(2 * NSRV), "a waiting call keeps asking");
	atomic_store(&leader, 0);
	pthread_join(th, NULL);
	ok(bg.rc == 0 && bg.gen == 100 && bg.elapsed_ms < WAIT_MS,
	    "the leader elected meanwhile answers it");
	hits_reset();
	k = call_now(cli, WMSG_HEARTBEAT, 5000);
	ok(k.rc == 0 && k.gen == 100 && atomic_load(&srvs[0].hits) == 1 &&
	    hits_total() == 1, "later calls go straight to the new leader");

	/* The leader's server closes; another is marked leader. */
	atomic_store(&leader, 2);
	srv_close(0);
	k = call_now(cli, WMSG_HEARTBEAT, 5000);
	ok(k.rc == 0 && k.gen == 102 && k.elapsed_ms < 5000,
	    "with the leader closed, calls fail over to the new one");

	/* A long poll held by a leader that goes away fails over at once. */
	memset(&bg, 0, sizeof bg);
	bg.cli = cli;
	bg.type = WMSG_POLL;
	bg.timeout_ms = 15000;
	atomic_store(&holder, 2);
	pthread_create(&th, NULL, call_main, &bg);
	bc = held_take();
	ok(bc != NULL, "the leader holds the poll");
	atomic_store(&holder, NOBODY);
	atomic_store(&leader, 1);
	if (bc != NULL)
		bus_call_drop(bc);
	srv_close(2);
	pthread_join(th, NULL);
	ok(bg.rc == 0 && bg.gen == 101,
	    "the poll is answered by the new leader");
	ok(bg.elapsed_ms < 7500, "well before its timeout (%llu of 15000 ms)",
	    (unsigned long long)bg.elapsed_ms);

	/* The same with a leader process killed by SIGKILL. */
	if (child_start(&ch, self) != 0) {
		ok(0, "leader process starts");
	} else {
		urls[0] = ch.url;
		urls[1] = srvs[1].url;
		atomic_store(&leader, NOBODY);
		rc = bus_client_open(&two, urls, 2, &eb);
		k = call_now(two, WMSG_HEARTBEAT, WAIT_MS);
		ok(rc == 0 && k.rc == 0 && k.gen == CHILD_GEN,
		    "calls reach the leader process");
		memset(&bg, 0, sizeof bg);
		bg.cli = two;
		bg.type = WMSG_POLL;
		bg.timeout_ms = 15000;
		pthread_create(&th, NULL, call_main, &bg);
		ok(child_line(&ch, line, sizeof line) && strcmp(line, "held") == 0,
		    "the leader process holds the poll");
		atomic_store(&leader, 1);
		kill(ch.pid, SIGKILL);
		waitpid(ch.pid, NULL, 0);
		close(ch.fd);
		pthread_join(th, NULL);
		ok(bg.rc == 0 && bg.gen == 101 && bg.elapsed_ms < 7500,
		    "after kill -9 the poll fails over (%llu ms)",
		    (unsigned long long)bg.elapsed_ms);
		bus_client_close(two);
		two = NULL;
	}

	/* A coordinator down at the start is used once it is up. */
	urls[0] = srvs[0].url;			/* closed above */
	urls[1] = srvs[1].url;
	rc = bus_client_open(&two, urls, 2, &eb);
	is_int(rc, 0, "client opens with a coordinator down");
	atomic_store(&leader, 0);
	memset(&bg, 0, sizeof bg);
	bg.cli = two;
	bg.type = WMSG_HEARTBEAT;
	bg.timeout_ms = WAIT_MS;
	pthread_create(&th, NULL, call_main, &bg);
	rc = bus_server_open(&srvs[0].bs, srvs[0].url, 2, srv_cb, &srvs[0], &eb);
	if (!is_int(rc, 0, "the coordinator comes back on its port"))
		tap_diag("%s", eb.msg);
	pthread_join(th, NULL);
	ok(bg.rc == 0 && bg.gen == 100, "and answers as the leader");

	/* One URL: as before. */
	urls[0] = srvs[1].url;
	rc = bus_client_open(&one, urls, 1, &eb);
	atomic_store(&leader, 1);
	k = call_now(one, WMSG_HEARTBEAT, 5000);
	ok(rc == 0 && k.rc == 0 && k.gen == 101, "one URL: the leader answers");
	atomic_store(&leader, NOBODY);
	k = call_now(one, WMSG_HEARTBEAT, 5000);
	ok(k.rc == 0 && k.err == ERR_NOTLEADER && k.elapsed_ms < 5000,
	    "one URL: a follower's NOTLEADER comes back as the reply");
	bus_client_close(one);
	urls[0] = srvs[2].url;			/* closed above */
	rc = bus_client_open(&one, urls, 1, &eb);
	is_int(rc, 0, "one URL: opens with nobody listening");
	k = call_now(one, WMSG_HEARTBEAT, 300);
	is_int(k.rc, ERR_UNAVAIL, "one URL: nobody listening is ERR_UNAVAIL");
	ok(k.elapsed_ms >= 290 && k.elapsed_ms < 5000, "after the timeout");
	bus_client_close(one);

	bus_client_close(two);
	bus_client_close(cli);
	for (i = 0; i < NSRV; i++)
		srv_close(i);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "serve") == 0)
		return child_main(argv[2]);
	log_init("bus_test", LOG_LEVEL_ERROR);
	signal(SIGPIPE, SIG_IGN);
	port_seed = (unsigned)getpid() ^ (unsigned)clock_mono_us();
	test_follow(argv[0]);
	return tap_done();
}
