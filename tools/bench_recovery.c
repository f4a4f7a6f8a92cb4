/*
 * niyanta-bench recovery: how fast the work of a dead worker runs again.
 *
 * It starts a private cluster of real processes (one niyantad with its
 * default heartbeat interval and dead timeout, N niyanta-worker), submits M
 * long sleep workloads that checkpoint every second, waits until all of
 * them run and hold a checkpoint, then SIGKILLs the worker running the most
 * of them and polls the API every 50 ms until each of its workloads runs on
 * another worker.  It reports the time from the kill to the worker being
 * declared DEAD, to the first and to the last of its workloads running
 * elsewhere (as polled, and by the records' own started_at), and whether
 * each came back as a new attempt resuming from a checkpoint.
 *
 * The first half of this file is the cluster (processes, ports, temporary
 * directory, signals; one niyantad or a Raft cluster of several), kept
 * apart from the mode so other process-level benchmarks can reuse it
 * through bench_recovery.h.
 */
#include "tools/bench_recovery.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net/http_client.h"
#include "src/clock.h"
#include "src/err.h"
#include "src/strs.h"
#include "tools/bench_util.h"

#define BENCH_PROG			"niyanta-bench"

#define BENCH_CLUSTER_PORT_LO		20000	/* as t/integ/lib.sh */
#define BENCH_CLUSTER_PORT_SPAN		12000
#define BENCH_CLUSTER_CAPACITY_MAX	1024	/* niyanta-worker's limit */
#define BENCH_CLUSTER_HTTP_MS		5000	/* deadline of one API call */
#define BENCH_CLUSTER_WORKER_STOP_MS	15000	/* workers drain up to 10 s */
#define BENCH_CLUSTER_COORD_STOP_MS	15000
#define BENCH_CLUSTER_SLOTS		256	/* children the handler tracks */
#define BENCH_CLUSTER_PORTS		3	/* a node's: http, worker, raft */
#define BENCH_CLUSTER_SECRETS_MS	30000	/* --generate-secrets */

/* One child process. */
struct bench_proc {
	char	 name[48];		/* "niyantad", "worker bench-w1" */
	char	 id[32];		/* a worker's id; "" for niyantad */
	char	*log;			/* owned: where its output goes */
	pid_t	 pid;			/* 0 until started */
	int	 slot;			/* in bench_cluster_pids, -1: none */
	int	 status;		/* waitpid status, once reaped */
	bool	 reaped;
	bool	 expect_exit;		/* killed or stopped on purpose */
	bool	 unexpected;		/* exited while it should have run */
};

/* One niyantad node. */
struct bench_node {
	struct bench_proc	 proc;
	char			*url;		/* http://127.0.0.1:PORT */
	struct http_client	*http;		/* with the admin key */
};

struct bench_cluster {
	char			*dir;		/* owned temporary directory */
	char			*key_file;	/* niyantad's admin.key */
	char			*token_file;	/* niyantad's join.token */
	char			*niyantad;	/* owned copy of its path */
	struct strlist		 coord_args;	/* more niyantad arguments */
	char			*peers;		/* --peers; NULL with one node */
	int			 ports[BENCH_CLUSTER_PORTS *
				    BENCH_CLUSTER_NODES_MAX];	/* node i's
						 * at BENCH_CLUSTER_PORTS * i */
	char			*locks[BENCH_CLUSTER_PORTS *
				    BENCH_CLUSTER_NODES_MAX];	/* port lock
						 * directories we own */
	struct bench_node	 nodes[BENCH_CLUSTER_NODES_MAX];
	size_t			 nnodes;
	size_t			 api_node;	/* bench_cluster_api tries first */
	struct bench_proc	*workers;
	size_t			 nworkers;
};

/* Signal state: the handler may only touch these. */
static volatile sig_atomic_t	 bench_cluster_signals;
static volatile sig_atomic_t	 bench_cluster_pids[BENCH_CLUSTER_SLOTS];

static void
bench_cluster_signal_cb(int sig)
{
	int	 saved = errno;
	size_t	 i;

	(void)sig;
	/* The first signal asks for an orderly stop; a second one means the
	 * user will not wait for it. */
	if (bench_cluster_signals++ > 0) {
		for (i = 0; i < BENCH_CLUSTER_SLOTS; i++)
			if (bench_cluster_pids[i] > 0)
				kill((pid_t)bench_cluster_pids[i], SIGKILL);
	}
	errno = saved;
}

void
bench_cluster_signals_install(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = bench_cluster_signal_cb;
	sigfillset(&sa.sa_mask);
	/* No SA_RESTART: a sleep or wait cut short lets the loop see the flag. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

bool
bench_cluster_interrupted(void)
{
	return bench_cluster_signals > 0;
}



static int
bench_cluster_slot_take(pid_t pid)
{
	int	 i;

	for (i = 0; i < BENCH_CLUSTER_SLOTS; i++) {
		if (bench_cluster_pids[i] == 0) {
			bench_cluster_pids[i] = pid;
			return i;
		}
	}
	return -1;
}

/* ---------------------------------------------------------------- processes */

/* Starts argv[0] with its output appended to p->log, stdin /dev/null, in a
 * process group of its own and with default signal handling. */
static int
bench_proc_spawn(struct bench_proc *p, char *const argv[], struct errbuf *eb)
{
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 at;
	sigset_t			 none, dfl;
	pid_t				 pid;
	int				 rc;

	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		return err_setf(eb, ERR_NOMEM, "spawn %s: %s", p->name, strerror(rc));
	if ((rc = posix_spawnattr_init(&at)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return err_setf(eb, ERR_NOMEM, "spawn %s: %s", p->name, strerror(rc));
	}
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGQUIT);
	if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
	    O_RDONLY, 0)) == 0 &&
	    (rc = posix_spawn_file_actions_addopen(&fa, 1, p->log,
	    O_WRONLY | O_CREAT | O_APPEND, 0600)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, 1, 2)) == 0 &&
	    (rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) == 0 &&
	    (rc = posix_spawnattr_setpgroup(&at, 0)) == 0 &&
	    (rc = posix_spawnattr_setsigmask(&at, &none)) == 0 &&
	    (rc = posix_spawnattr_setsigdefault(&at, &dfl)) == 0)
		rc = posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc != 0)
		return err_setf(eb, ERR_IO, "cannot start %s (%s): %s", p->name,
		    argv[0], strerror(rc));
	p->pid = pid;
	p->slot = bench_cluster_slot_take(pid);
	p->reaped = false;
	return 0;
}

static void
bench_proc_reaped(struct bench_proc *p, int status)
{
	if (p->slot >= 0)
		bench_cluster_pids[p->slot] = 0;
	p->slot = -1;
	p->status = status;
	p->reaped = true;
	if (!p->expect_exit)
		p->unexpected = true;
}

/* True if p is not running any more (reaping it if it just exited). */
static bool
bench_proc_gone(struct bench_proc *p, bool block)
{
	pid_t	 r;
	int	 status;

	if (p->pid <= 0 || p->reaped)
		return true;
	do {
		r = waitpid(p->pid, &status, block ? 0 : WNOHANG);
	} while (r == -1 && errno == EINTR);
	if (r == 0)
		return false;
	/* -1 (ECHILD) means someone else reaped it: gone all the same. */
	bench_proc_reaped(p, r == p->pid ? status : 0);
	return true;
}

/* "exited with status 1", "was killed by signal 9". */
static void
bench_proc_describe(const struct bench_proc *p, char *buf, size_t len)
{
	if (WIFEXITED(p->status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(p->status));
	else if (WIFSIGNALED(p->status))
		snprintf(buf, len, "was killed by signal %d", WTERMSIG(p->status));
	else
		snprintf(buf, len, "ended");
}

/* SIGTERM to each running process of ps, then waits up to ms for them all,
 * then SIGKILL.  True if any needed SIGKILL. */
static bool
bench_procs_stop(struct bench_proc **ps, size_t n, long long ms)
{
	double	 deadline;
	bool	 all, killed = false;
	size_t	 i;

	for (i = 0; i < n; i++) {
		ps[i]->expect_exit = true;
		if (!bench_proc_gone(ps[i], false))
			kill(ps[i]->pid, SIGTERM);
	}
	deadline = bench_now_s() + (double)ms / 1000.0;
	for (;;) {
		all = true;
		for (i = 0; i < n; i++)
			if (!bench_proc_gone(ps[i], false))
				all = false;
		if (all || bench_now_s() >= deadline)
			break;
		bench_sleep_ms(20);
	}
	for (i = 0; i < n; i++) {
		if (bench_proc_gone(ps[i], false))
			continue;
		kill(ps[i]->pid, SIGKILL);
		bench_proc_gone(ps[i], true);
		killed = true;
	}
	return killed;
}

/* ---------------------------------------------------------------- ports */

/* True if nothing is bound to 127.0.0.1:port. */
static bool
bench_cluster_port_free(int port)
{
	struct sockaddr_in	 sa;
	int			 fd;
	bool			 ok;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

static void
bench_cluster_lock_drop(const char *lock)
{
	char	 path[PATH_MAX];

	if (snprintf(path, sizeof path, "%s/owner", lock) < (int)sizeof path)
		unlink(path);
	rmdir(lock);
}

/*
 * Picks a free loopback port outside the ephemeral range (where outgoing
 * connections take theirs) for ports[k].  It takes the same lock directory
 * per port as t/integ/lib.sh ($TMPDIR/niyanta-test-ports/PORT holding the
 * owner's pid), so a benchmark and a parallel make check do not collide.
 */
static int
bench_cluster_port_take(struct bench_cluster *cl, int k, struct errbuf *eb)
{
	const char	*tmp = getenv("TMPDIR");
	char		 base[PATH_MAX], lock[PATH_MAX], owner[PATH_MAX], buf[32];
	unsigned	 lo = 32768, hi = 60999, x;
	long long	 pid;
	struct timespec	 ts;
	ssize_t		 got;
	FILE		*fp;
	int		 tries, p, fd, j;

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	if ((fp = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) != NULL) {
		if (fscanf(fp, "%u %u", &lo, &hi) != 2) {
			lo = 32768;
			hi = 60999;
		}
		fclose(fp);
	}
	if (snprintf(base, sizeof base, "%s/niyanta-test-ports", tmp) >=
	    (int)sizeof base - 16)
		return err_setf(eb, ERR_INVAL, "TMPDIR is too long");
	if (mkdir(base, 0777) != 0 && errno != EEXIST)
		return err_setf(eb, ERR_IO, "mkdir %s: %s", base, strerror(errno));
	clock_gettime(CLOCK_REALTIME, &ts);
	x = (unsigned)ts.tv_nsec ^ (unsigned)getpid() << 16 ^ (unsigned)k * 7919u;
	for (tries = 0; tries < 500; tries++) {
		x = x * 1103515245u + 12345u;
		p = BENCH_CLUSTER_PORT_LO + (int)((x >> 8) % BENCH_CLUSTER_PORT_SPAN);
		if ((unsigned)p >= lo && (unsigned)p <= hi)
			continue;
		for (j = 0; j < k; j++)
			if (cl->ports[j] == p)
				break;
		if (j < k)
			continue;
		if (snprintf(lock, sizeof lock, "%s/%d", base, p) >=
		    (int)sizeof lock || snprintf(owner, sizeof owner,
		    "%s/owner", lock) >= (int)sizeof owner)
			return err_setf(eb, ERR_INVAL, "TMPDIR is too long");
		if (mkdir(lock, 0700) != 0) {
			/* Taken; take it over only if its owner is gone. */
			if ((fd = open(owner, O_RDONLY | O_CLOEXEC)) >= 0) {
				got = read(fd, buf, sizeof buf - 1);
				close(fd);
				buf[got > 0 ? got : 0] = '\0';
				buf[strcspn(buf, "\n")] = '\0';
				if (str_parse_ll(buf, 1, INT_MAX, &pid) &&
				    kill((pid_t)pid, 0) == -1 && errno == ESRCH)
					bench_cluster_lock_drop(lock);
			}
			continue;
		}
		if ((fp = fopen(owner, "w")) == NULL) {
			rmdir(lock);
			continue;
		}
		fprintf(fp, "%ld\n", (long)getpid());
		if (fclose(fp) != 0 || !bench_cluster_port_free(p)) {
			bench_cluster_lock_drop(lock);
			continue;
		}
		if ((cl->locks[k] = strdup(lock)) == NULL) {
			bench_cluster_lock_drop(lock);
			return err_setf(eb, ERR_NOMEM, "out of memory");
		}
		cl->ports[k] = p;
		return 0;
	}
	return err_setf(eb, ERR_IO, "no free loopback port found in %d tries",
	    tries);
}

/* ---------------------------------------------------------------- cluster */

static int
bench_cluster_rm_cb(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) != 0 ? -1 : 0;
}

/* A NULL-terminated argv of l's strings (borrowed), for posix_spawn. */
static char **
bench_cluster_argv(const struct strlist *l)
{
	char	**v;
	size_t	  i;

	if ((v = calloc(l->n + 1, sizeof *v)) == NULL)
		return NULL;
	for (i = 0; i < l->n; i++)
		v[i] = l->v[i];
	return v;
}

static int
bench_cluster_args_add(struct strlist *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
bench_cluster_args_add(struct strlist *l, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n, rc;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ERR_NOMEM;
	rc = strlist_add(l, s);
	free(s);
	return rc;
}

static int
bench_cluster_args_extra(struct strlist *l, const char *const *extra)
{
	int	 rc = 0;

	for (; extra != NULL && *extra != NULL && rc == 0; extra++)
		rc = strlist_add(l, *extra);
	return rc;
}

/* Spawns p from the arguments in l. */
static int
bench_cluster_spawn_list(struct bench_proc *p, const struct strlist *l,
    struct errbuf *eb)
{
	char	**argv;
	int	  rc;

	if ((argv = bench_cluster_argv(l)) == NULL)
		return err_setf(eb, ERR_NOMEM, "out of memory");
	rc = bench_proc_spawn(p, argv, eb);
	free(argv);
	return rc;
}

int
bench_cluster_check(struct bench_cluster *cl, struct errbuf *eb)
{
	struct bench_proc	*p;
	char			 how[64];
	size_t			 i;

	if (cl == NULL)
		return 0;
	for (i = 0; i < cl->nnodes; i++) {
		p = &cl->nodes[i].proc;
		if (p->expect_exit || p->pid <= 0 || !bench_proc_gone(p, false))
			continue;
		bench_proc_describe(p, how, sizeof how);
		return err_setf(eb, ERR_IO, "%s %s", p->name, how);
	}
	for (i = 0; i < cl->nworkers; i++) {
		if (cl->workers[i].expect_exit || cl->workers[i].pid <= 0 ||
		    !bench_proc_gone(&cl->workers[i], false))
			continue;
		bench_proc_describe(&cl->workers[i], how, sizeof how);
		return err_setf(eb, ERR_IO, "%s %s", cl->workers[i].name, how);
	}
	if (bench_cluster_interrupted())
		return err_setf(eb, ERR_SHUTDOWN, "interrupted");
	return 0;
}

static bool
bench_cluster_file_ready(const char *path)
{
	struct stat	 st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

/* Waits until niyantad (one of its nodes) answers GET /ready with 200 and
 * both secrets are written. */
static int
bench_cluster_coord_wait(struct bench_cluster *cl, double deadline,
    struct errbuf *eb)
{
	struct http_client	*h[BENCH_CLUSTER_NODES_MAX] = { NULL };
	struct http_response	 resp = { 0 };
	struct errbuf		 reb;
	size_t			 i;
	bool			 ready = false;
	int			 rc = 0;

	for (i = 0; i < cl->nnodes && rc == 0; i++)
		if ((rc = http_client_new(&h[i], cl->nodes[i].url, NULL, eb)) == 0)
			http_client_set_timeout_ms(h[i], 1000);
	while (rc == 0) {
		if ((rc = bench_cluster_check(cl, eb)) != 0)
			break;
		for (i = 0; i < cl->nnodes && !ready; i++) {
			errbuf_clear(&reb);
			ready = http_client_request(h[i], "GET", "/ready", NULL,
			    &resp, &reb) == 0 && resp.status == 200 &&
			    bench_cluster_file_ready(cl->key_file) &&
			    bench_cluster_file_ready(cl->token_file);
			http_response_fini(&resp);
		}
		if (ready)
			break;
		if (bench_now_s() >= deadline && cl->nnodes == 1) {
			rc = err_setf(eb, ERR_TIMEOUT, "niyantad was not ready "
			    "(GET %s/ready, admin.key, join.token) in time",
			    cl->nodes[0].url);
			break;
		}
		if (bench_now_s() >= deadline) {
			rc = err_setf(eb, ERR_TIMEOUT, "none of niyantad's %zu "
			    "nodes became the ready leader (GET /ready) in time",
			    cl->nnodes);
			break;
		}
		bench_sleep_ms(50);
	}
	http_response_fini(&resp);
	for (i = 0; i < cl->nnodes; i++)
		http_client_free(h[i]);
	return rc;
}

/* Waits until GET /v1/workers shows every worker of the cluster ALIVE. */
static int
bench_cluster_workers_wait(struct bench_cluster *cl, double deadline,
    struct errbuf *eb)
{
	json_t		*root, *arr, *w;
	const char	*id, *st;
	size_t		 i, alive;
	int		 rc;

	for (;;) {
		if ((rc = bench_cluster_check(cl, eb)) != 0)
			return rc;
		if ((rc = bench_cluster_api(cl, "GET", "/v1/workers", NULL, 200,
		    &root, eb)) != 0)
			return rc;
		alive = 0;
		arr = json_object_get(root, "workers");
		if (!json_is_array(arr)) {
			json_decref(root);
			return err_setf(eb, ERR_PROTO, "GET /v1/workers: no "
			    "workers array in the reply");
		}
		json_array_foreach(arr, i, w) {
			id = json_string_value(json_object_get(w, "id"));
			st = json_string_value(json_object_get(w, "status"));
			if (id != NULL && st != NULL && strcmp(st, "ALIVE") == 0 &&
			    bench_cluster_worker_find(cl, id) >= 0)
				alive++;
		}
		json_decref(root);
		if (alive == cl->nworkers)
			return 0;
		if (bench_now_s() >= deadline)
			return err_setf(eb, ERR_TIMEOUT, "only %zu of %zu workers "
			    "were ALIVE in time", alive, cl->nworkers);
		bench_sleep_ms(50);
	}
}

/*
 * Starts node i.  One node is "niyantad" in DIR/coord, writing its own
 * secrets there, logging to DIR/niyantad.log; a node of several is
 * "niyantad node N" in DIR/node-N with the shared secrets, logging to
 * DIR/node-N.log, and is given --peers on its first start only.
 */
static int
bench_cluster_node_spawn(struct bench_cluster *cl, size_t i, bool first,
    struct errbuf *eb)
{
	struct bench_node	*n = &cl->nodes[i];
	const int		*port = &cl->ports[BENCH_CLUSTER_PORTS * i];
	struct strlist		 l = { 0 };
	bool			 one = cl->nnodes == 1;
	size_t			 k;
	int			 rc;

	if (n->proc.log == NULL) {
		if (one)
			snprintf(n->proc.name, sizeof n->proc.name, "niyantad");
		else
			snprintf(n->proc.name, sizeof n->proc.name,
			    "niyantad node %zu", i + 1);
		if ((one ? asprintf(&n->proc.log, "%s/niyantad.log", cl->dir) :
		    asprintf(&n->proc.log, "%s/node-%zu.log", cl->dir, i + 1)) < 0) {
			n->proc.log = NULL;
			return err_setf(eb, ERR_NOMEM, "out of memory");
		}
	}
	if ((rc = strlist_add(&l, cl->niyantad)) != 0 ||
	    (!one && ((rc = strlist_add(&l, "--node-id")) != 0 ||
	    (rc = bench_cluster_args_add(&l, "%zu", i + 1)) != 0)) ||
	    (rc = strlist_add(&l, "--data-dir")) != 0 ||
	    (rc = (one ? bench_cluster_args_add(&l, "%s/coord", cl->dir) :
	    bench_cluster_args_add(&l, "%s/node-%zu", cl->dir, i + 1))) != 0 ||
	    (rc = strlist_add(&l, "--http-listen")) != 0 ||
	    (rc = bench_cluster_args_add(&l, "127.0.0.1:%d", port[0])) != 0 ||
	    (rc = strlist_add(&l, "--worker-listen")) != 0 ||
	    (rc = bench_cluster_args_add(&l, "tcp://127.0.0.1:%d",
	    port[1])) != 0 ||
	    (rc = strlist_add(&l, "--raft-listen")) != 0 ||
	    (rc = bench_cluster_args_add(&l, "127.0.0.1:%d", port[2])) != 0 ||
	    (!one && ((rc = strlist_add(&l, "--admin-key-file")) != 0 ||
	    (rc = strlist_add(&l, cl->key_file)) != 0 ||
	    (rc = strlist_add(&l, "--join-token-file")) != 0 ||
	    (rc = strlist_add(&l, cl->token_file)) != 0)) ||
	    (!one && first && ((rc = strlist_add(&l, "--peers")) != 0 ||
	    (rc = strlist_add(&l, cl->peers)) != 0)))
		rc = ERR_NOMEM;
	for (k = 0; rc == 0 && k < cl->coord_args.n; k++)
		rc = strlist_add(&l, cl->coord_args.v[k]);
	if (rc != 0) {
		strlist_fini(&l);
		return err_setf(eb, ERR_NOMEM, "out of memory");
	}
	n->proc.expect_exit = false;
	n->proc.unexpected = false;
	rc = bench_cluster_spawn_list(&n->proc, &l, eb);
	strlist_fini(&l);
	return rc;
}

/* Runs niyantad --generate-secrets to write the key and token files every
 * node of several shares, and waits for it to exit 0. */
static int
bench_cluster_secrets_make(struct bench_cluster *cl, struct errbuf *eb)
{
	struct bench_proc	 p;
	struct strlist		 l = { 0 };
	double			 deadline;
	char			 how[64];
	int			 rc;

	memset(&p, 0, sizeof p);
	p.slot = -1;
	p.expect_exit = true;
	snprintf(p.name, sizeof p.name, "niyantad --generate-secrets");
	if (asprintf(&p.log, "%s/secrets.log", cl->dir) < 0)
		return err_setf(eb, ERR_NOMEM, "out of memory");
	if ((rc = strlist_add(&l, cl->niyantad)) != 0 ||
	    (rc = strlist_add(&l, "--generate-secrets")) != 0 ||
	    (rc = strlist_add(&l, "--admin-key-file")) != 0 ||
	    (rc = strlist_add(&l, cl->key_file)) != 0 ||
	    (rc = strlist_add(&l, "--join-token-file")) != 0 ||
	    (rc = strlist_add(&l, cl->token_file)) != 0)
		rc = err_setf(eb, ERR_NOMEM, "out of memory");
	else
		rc = bench_cluster_spawn_list(&p, &l, eb);
	strlist_fini(&l);
	deadline = bench_now_s() + BENCH_CLUSTER_SECRETS_MS / 1000.0;
	while (rc == 0 && !bench_proc_gone(&p, false)) {
		if (bench_now_s() >= deadline || bench_cluster_interrupted()) {
			kill(p.pid, SIGKILL);
			bench_proc_gone(&p, true);
			rc = bench_cluster_interrupted() ?
			    err_setf(eb, ERR_SHUTDOWN, "interrupted") :
			    err_setf(eb, ERR_TIMEOUT, "%s did not end in time",
			    p.name);
			break;
		}
		bench_sleep_ms(20);
	}
	if (rc == 0 && (!WIFEXITED(p.status) || WEXITSTATUS(p.status) != 0)) {
		bench_proc_describe(&p, how, sizeof how);
		rc = err_setf(eb, ERR_IO, "%s %s (see %s)", p.name, how, p.log);
	} else if (rc == 0 && (!bench_cluster_file_ready(cl->key_file) ||
	    !bench_cluster_file_ready(cl->token_file))) {
		rc = err_setf(eb, ERR_IO, "%s wrote no %s and %s", p.name,
		    cl->key_file, cl->token_file);
	}
	free(p.log);
	return rc;
}

static int
bench_cluster_worker_start(struct bench_cluster *cl,
    const struct bench_cluster_opts *o, size_t i, struct errbuf *eb)
{
	struct bench_proc	*p = &cl->workers[i];
	struct strlist		 l = { 0 };
	size_t			 k;
	int			 rc;

	snprintf(p->id, sizeof p->id, "bench-w%zu", i + 1);
	snprintf(p->name, sizeof p->name, "worker %s", p->id);
	if (asprintf(&p->log, "%s/%s.log", cl->dir, p->id) < 0) {
		p->log = NULL;
		return err_setf(eb, ERR_NOMEM, "out of memory");
	}
	/* An empty plugin directory: only the built-in types, whatever is
	 * installed on this machine. */
	rc = strlist_add(&l, o->worker);
	for (k = 0; rc == 0 && k < cl->nnodes; k++)
		if ((rc = strlist_add(&l, "--coordinator")) == 0)
			rc = bench_cluster_args_add(&l, "tcp://127.0.0.1:%d",
			    cl->ports[BENCH_CLUSTER_PORTS * k + 1]);
	if (rc != 0 ||
	    (rc = strlist_add(&l, "--join-token-file")) != 0 ||
	    (rc = strlist_add(&l, cl->token_file)) != 0 ||
	    (rc = strlist_add(&l, "--id")) != 0 ||
	    (rc = strlist_add(&l, p->id)) != 0 ||
	    (rc = strlist_add(&l, "--capacity")) != 0 ||
	    (rc = bench_cluster_args_add(&l, "%lld", o->capacity)) != 0 ||
	    (rc = strlist_add(&l, "--plugin-dir")) != 0 ||
	    (rc = bench_cluster_args_add(&l, "%s/plugins", cl->dir)) != 0 ||
	    (rc = bench_cluster_args_extra(&l, o->worker_args)) != 0) {
		strlist_fini(&l);
		return err_setf(eb, ERR_NOMEM, "out of memory");
	}
	rc = bench_cluster_spawn_list(p, &l, eb);
	strlist_fini(&l);
	return rc;
}

int
bench_cluster_start(struct bench_cluster **out,
    const struct bench_cluster_opts *o, struct errbuf *eb)
{
	struct bench_cluster	*cl;
	const char		*tmp = getenv("TMPDIR");
	const char *const	*a;
	double			 deadline;
	char			*key = NULL, *plugins = NULL, *peer;
	size_t			 i, nnodes = o->nodes > 0 ? o->nodes : 1;
	int			 rc, k;

	*out = NULL;
	if (nnodes > BENCH_CLUSTER_NODES_MAX)
		return err_setf(eb, ERR_INVAL, "at most %d niyantad nodes",
		    BENCH_CLUSTER_NODES_MAX);
	if (o->nworkers > BENCH_CLUSTER_WORKERS_MAX)
		return err_setf(eb, ERR_INVAL, "at most %d workers",
		    BENCH_CLUSTER_WORKERS_MAX);
	if (o->capacity < 1 || o->capacity > BENCH_CLUSTER_CAPACITY_MAX)
		return err_setf(eb, ERR_INVAL, "worker capacity %lld is not in "
		    "1..%d", o->capacity, BENCH_CLUSTER_CAPACITY_MAX);
	if (access(o->niyantad, X_OK) != 0)
		return err_setf(eb, ERR_INVAL, "%s: %s", o->niyantad,
		    strerror(errno));
	if (o->nworkers > 0 && access(o->worker, X_OK) != 0)
		return err_setf(eb, ERR_INVAL, "%s: %s", o->worker, strerror(errno));
	if ((cl = calloc(1, sizeof *cl)) == NULL)
		return err_setf(eb, ERR_NOMEM, "out of memory");
	cl->nnodes = nnodes;
	for (i = 0; i < nnodes; i++)
		cl->nodes[i].proc.slot = -1;
	*out = cl;
	deadline = bench_now_s() + (double)o->timeout_ms / 1000.0;
	if ((cl->niyantad = strdup(o->niyantad)) == NULL)
		return err_setf(eb, ERR_NOMEM, "out of memory");
	for (a = o->coord_args; a != NULL && *a != NULL; a++)
		if (strlist_add(&cl->coord_args, *a) != 0)
			return err_setf(eb, ERR_NOMEM, "out of memory");

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	if (asprintf(&cl->dir, "%s/niyanta-bench-cluster.XXXXXX", tmp) < 0) {
		cl->dir = NULL;
		return err_setf(eb, ERR_NOMEM, "out of memory");
	}
	if (mkdtemp(cl->dir) == NULL) {
		rc = err_setf(eb, ERR_IO, "mkdtemp %s: %s", cl->dir,
		    strerror(errno));
		free(cl->dir);
		cl->dir = NULL;
		return rc;
	}
	for (k = 0; k < BENCH_CLUSTER_PORTS * (int)nnodes; k++)
		if ((rc = bench_cluster_port_take(cl, k, eb)) != 0)
			return rc;
	for (i = 0; i < nnodes; i++)
		if (asprintf(&cl->nodes[i].url, "http://127.0.0.1:%d",
		    cl->ports[BENCH_CLUSTER_PORTS * i]) < 0)
			cl->nodes[i].url = NULL;
	if (nnodes == 1 && asprintf(&cl->key_file, "%s/coord/admin.key",
	    cl->dir) < 0)
		cl->key_file = NULL;
	if (nnodes == 1 && asprintf(&cl->token_file, "%s/coord/join.token",
	    cl->dir) < 0)
		cl->token_file = NULL;
	if (nnodes > 1 && asprintf(&cl->key_file, "%s/admin.key", cl->dir) < 0)
		cl->key_file = NULL;
	if (nnodes > 1 && asprintf(&cl->token_file, "%s/join.token",
	    cl->dir) < 0)
		cl->token_file = NULL;
	if (asprintf(&plugins, "%s/plugins", cl->dir) < 0)
		plugins = NULL;
	for (i = 0, rc = 0; i < nnodes; i++)
		if (cl->nodes[i].url == NULL)
			rc = ERR_NOMEM;
	if (rc != 0 || cl->key_file == NULL || cl->token_file == NULL ||
	    plugins == NULL) {
		free(plugins);
		return err_setf(eb, ERR_NOMEM, "out of memory");
	}
	rc = mkdir(plugins, 0700);
	free(plugins);
	if (rc != 0)
		return err_setf(eb, ERR_IO, "mkdir plugins: %s", strerror(errno));

	/* Several nodes share one pair of secrets and one --peers list:
	 * "1=127.0.0.1:R1,2=127.0.0.1:R2,...". */
	if (nnodes > 1) {
		if ((rc = bench_cluster_secrets_make(cl, eb)) != 0)
			return rc;
		for (i = 0; i < nnodes; i++) {
			if (asprintf(&peer, "%s%s%zu=127.0.0.1:%d", cl->peers != NULL ?
			    cl->peers : "", cl->peers != NULL ? "," : "", i + 1,
			    cl->ports[BENCH_CLUSTER_PORTS * i + 2]) < 0)
				return err_setf(eb, ERR_NOMEM, "out of memory");
			free(cl->peers);
			cl->peers = peer;
		}
	}
	for (i = 0; i < nnodes; i++)
		if ((rc = bench_cluster_node_spawn(cl, i, true, eb)) != 0)
			return rc;
	if ((rc = bench_cluster_coord_wait(cl, deadline, eb)) != 0)
		return rc;
	if ((rc = http_key_file_read(cl->key_file, &key, eb)) != 0)
		return rc;
	for (i = 0; i < nnodes && rc == 0; i++)
		if ((rc = http_client_new(&cl->nodes[i].http, cl->nodes[i].url,
		    key, eb)) == 0)
			http_client_set_timeout_ms(cl->nodes[i].http,
			    BENCH_CLUSTER_HTTP_MS);
	explicit_bzero(key, strlen(key));
	free(key);
	if (rc != 0)
		return rc;

	if (o->nworkers == 0)
		return 0;
	if ((cl->workers = calloc(o->nworkers, sizeof *cl->workers)) == NULL)
		return err_setf(eb, ERR_NOMEM, "out of memory");
	for (i = 0; i < o->nworkers; i++)
		cl->workers[i].slot = -1;
	for (i = 0; i < o->nworkers; i++) {
		if ((rc = bench_cluster_worker_start(cl, o, i, eb)) != 0)
			return rc;
		cl->nworkers++;
	}
	return bench_cluster_workers_wait(cl, deadline, eb);
}

int
bench_cluster_stop(struct bench_cluster *cl, struct errbuf *eb)
{
	struct bench_proc	**ps, *one, *nodes[BENCH_CLUSTER_NODES_MAX];
	bool			  killed = false;
	size_t			  i;
	int			  rc = 0, k;

	if (cl == NULL)
		return 0;
	/* Workers first: they drain, and report what they stop to niyantad. */
	if (cl->nworkers > 0) {
		if ((ps = calloc(cl->nworkers, sizeof *ps)) != NULL) {
			for (i = 0; i < cl->nworkers; i++)
				ps[i] = &cl->workers[i];
			killed = bench_procs_stop(ps, cl->nworkers,
			    BENCH_CLUSTER_WORKER_STOP_MS);
			free(ps);
		} else {
			for (i = 0; i < cl->nworkers; i++) {
				one = &cl->workers[i];
				killed |= bench_procs_stop(&one, 1,
				    BENCH_CLUSTER_WORKER_STOP_MS);
			}
		}
	}
	for (i = 0; i < cl->nnodes; i++)
		nodes[i] = &cl->nodes[i].proc;
	if (cl->nnodes > 0 && bench_procs_stop(nodes, cl->nnodes,
	    BENCH_CLUSTER_COORD_STOP_MS))
		killed = true;
	if (killed)
		rc = err_setf(eb, ERR_TIMEOUT, "a process did not stop within "
		    "its deadline after SIGTERM and was killed");
	for (i = 0; i < cl->nnodes; i++)
		http_client_free(cl->nodes[i].http);
	for (k = 0; k < BENCH_CLUSTER_PORTS * BENCH_CLUSTER_NODES_MAX; k++) {
		if (cl->locks[k] != NULL)
			bench_cluster_lock_drop(cl->locks[k]);
		free(cl->locks[k]);
	}
	if (cl->dir != NULL && nftw(cl->dir, bench_cluster_rm_cb, 16,
	    FTW_DEPTH | FTW_PHYS) != 0 && rc == 0)
		rc = err_setf(eb, ERR_IO, "cannot remove %s: %s", cl->dir,
		    strerror(errno));
	for (i = 0; i < cl->nworkers; i++)
		free(cl->workers[i].log);
	free(cl->workers);
	for (i = 0; i < cl->nnodes; i++) {
		free(cl->nodes[i].proc.log);
		free(cl->nodes[i].url);
	}
	free(cl->dir);
	free(cl->key_file);
	free(cl->token_file);
	free(cl->niyantad);
	free(cl->peers);
	strlist_fini(&cl->coord_args);
	free(cl);
	return rc;
}

/* Prints the last lines (at most 4 KiB) of p's log. */
static void
bench_proc_log_print(const struct bench_proc *p, FILE *fp)
{
	char	 buf[4097], *start;
	FILE	*in;
	long	 size;
	size_t	 n;

	if (p->log == NULL || (in = fopen(p->log, "r")) == NULL)
		return;
	fseek(in, 0, SEEK_END);
	size = ftell(in);
	fseek(in, size > 4096 ? size - 4096 : 0, SEEK_SET);
	n = fread(buf, 1, sizeof buf - 1, in);
	fclose(in);
	buf[n] = '\0';
	start = buf;
	if (size > 4096 && (start = strchr(buf, '\n')) != NULL)
		start++;
	else if (start == NULL)
		start = buf;
	fprintf(fp, "---- last lines of %s's log ----\n%s", p->name, start);
	if (n > 0 && buf[n - 1] != '\n')
		fputc('\n', fp);
}

void
bench_cluster_logs_print(const struct bench_cluster *cl, FILE *fp)
{
	bool	 any = false;
	size_t	 i;

	if (cl == NULL)
		return;
	for (i = 0; i < cl->nnodes; i++) {
		if (cl->nodes[i].proc.unexpected) {
			bench_proc_log_print(&cl->nodes[i].proc, fp);
			any = true;
		}
	}
	for (i = 0; i < cl->nworkers; i++) {
		if (cl->workers[i].unexpected) {
			bench_proc_log_print(&cl->workers[i], fp);
			any = true;
		}
	}
	for (i = 0; !any && i < cl->nnodes; i++)
		bench_proc_log_print(&cl->nodes[i].proc, fp);
}

const char *
bench_cluster_dir(const struct bench_cluster *cl)
{
	return cl->dir;
}

const char *
bench_cluster_url(const struct bench_cluster *cl)
{
	return cl->nodes[0].url;
}

const char *
bench_cluster_key_file(const struct bench_cluster *cl)
{
	return cl->key_file;
}

struct http_client *
bench_cluster_http(struct bench_cluster *cl)
{
	return cl->nodes[0].http;
}

size_t
bench_cluster_nnodes(const struct bench_cluster *cl)
{
	return cl->nnodes;
}

const char *
bench_cluster_node_url(const struct bench_cluster *cl, size_t i)
{
	return i < cl->nnodes ? cl->nodes[i].url : NULL;
}

bool
bench_cluster_node_running(struct bench_cluster *cl, size_t i)
{
	return i < cl->nnodes && cl->nodes[i].proc.pid > 0 &&
	    !bench_proc_gone(&cl->nodes[i].proc, false);
}

long
bench_cluster_node_pid(const struct bench_cluster *cl, size_t i)
{
	return i < cl->nnodes && cl->nodes[i].proc.pid > 0 &&
	    !cl->nodes[i].proc.reaped ? (long)cl->nodes[i].proc.pid : -1;
}

int
bench_cluster_node_kill(struct bench_cluster *cl, size_t i, struct errbuf *eb)
{
	struct bench_proc	*p;

	if (i >= cl->nnodes)
		return err_setf(eb, ERR_INVAL, "no node %zu", i + 1);
	p = &cl->nodes[i].proc;
	p->expect_exit = true;
	if (bench_proc_gone(p, false))
		return err_setf(eb, ERR_INVAL, "%s is not running", p->name);
	if (kill(p->pid, SIGKILL) != 0)
		return err_setf(eb, ERR_IO, "kill %s: %s", p->name, strerror(errno));
	bench_proc_gone(p, true);
	return 0;
}

int
bench_cluster_node_restart(struct bench_cluster *cl, size_t i,
    struct errbuf *eb)
{
	if (i >= cl->nnodes)
		return err_setf(eb, ERR_INVAL, "no node %zu", i + 1);
	if (!bench_proc_gone(&cl->nodes[i].proc, false))
		return err_setf(eb, ERR_INVAL, "%s is still running",
		    cl->nodes[i].proc.name);
	return bench_cluster_node_spawn(cl, i, false, eb);
}

size_t
bench_cluster_nworkers(const struct bench_cluster *cl)
{
	return cl->nworkers;
}

const char *
bench_cluster_worker_id(const struct bench_cluster *cl, size_t i)
{
	return i < cl->nworkers ? cl->workers[i].id : NULL;
}

long
bench_cluster_worker_pid(const struct bench_cluster *cl, size_t i)
{
	return i < cl->nworkers ? (long)cl->workers[i].pid : -1;
}

long
bench_cluster_worker_find(const struct bench_cluster *cl, const char *id)
{
	size_t	 i;

	for (i = 0; id != NULL && i < cl->nworkers; i++)
		if (strcmp(cl->workers[i].id, id) == 0)
			return (long)i;
	return -1;
}

int
bench_cluster_worker_kill(struct bench_cluster *cl, size_t i, struct errbuf *eb)
{
	struct bench_proc	*p;

	if (i >= cl->nworkers)
		return err_setf(eb, ERR_INVAL, "no worker %zu", i);
	p = &cl->workers[i];
	p->expect_exit = true;
	if (bench_proc_gone(p, false))
		return err_setf(eb, ERR_INVAL, "%s is not running", p->name);
	if (kill(p->pid, SIGKILL) != 0)
		return err_setf(eb, ERR_IO, "kill %s: %s", p->name, strerror(errno));
	bench_proc_gone(p, true);
	return 0;
}

/* bench_cluster_api on one client; *status is the reply's (0: none). */
static int
bench_cluster_api_one(struct http_client *http, const char *method,
    const char *path, const char *body, long want, json_t **out, long *status,
    struct errbuf *eb)
{
	struct http_response	 resp = { 0 };
	struct errbuf		 teb;
	json_t			*root, *err;
	const char		*code, *msg;
	int			 rc;

	*status = 0;
	errbuf_clear(&teb);
	if ((rc = http_client_request(http, method, path, body, &resp,
	    &teb)) != 0) {
		http_response_fini(&resp);
		return err_setf(eb, rc, "%s %s: %s", method, path, teb.msg);
	}
	*status = resp.status;
	root = json_loadb(resp.body, resp.len, 0, NULL);
	if (resp.status != want) {
		err = json_object_get(root, "error");
		code = json_string_value(json_object_get(err, "code"));
		msg = json_string_value(json_object_get(err, "message"));
		rc = err_setf(eb, ERR_PROTO, "%s %s: HTTP %ld %s%s%s", method, path,
		    resp.status, code != NULL ? code : "", msg != NULL ? ": " : "",
		    msg != NULL ? msg : "");
		json_decref(root);
	} else if (root == NULL && out != NULL) {
		rc = err_setf(eb, ERR_PROTO, "%s %s: the reply is not JSON",
		    method, path);
	} else if (out != NULL) {
		*out = root;
	} else {
		json_decref(root);
	}
	http_response_fini(&resp);
	return rc;
}

int
bench_cluster_api(struct bench_cluster *cl, const char *method,
    const char *path, const char *body, long want, json_t **out,
    struct errbuf *eb)
{
	size_t	 k, i;
	long	 status;
	bool	 get = strcmp(method, "GET") == 0;
	int	 rc = 0;

	if (out != NULL)
		*out = NULL;
	if (cl->nnodes == 1)
		return bench_cluster_api_one(cl->nodes[0].http, method, path, body,
		    want, out, &status, eb);
	/* Another node, only where the request cannot have been applied (it
	 * was never sent) or is a read. */
	for (k = 0; k < cl->nnodes; k++) {
		i = (cl->api_node + k) % cl->nnodes;
		if (!bench_cluster_node_running(cl, i))
			continue;
		rc = bench_cluster_api_one(cl->nodes[i].http, method, path, body,
		    want, out, &status, eb);
		if (rc != ERR_UNAVAIL && !(get && status == 503)) {
			cl->api_node = i;
			return rc;
		}
	}
	return rc != 0 ? rc : err_setf(eb, ERR_UNAVAIL, "%s %s: no node of "
	    "niyantad is running", method, path);
}

char *
bench_cluster_sibling(const char *name)
{
	char	 self[PATH_MAX], *slash, *path;
	ssize_t	 n;

	if ((n = readlink("/proc/self/exe", self, sizeof self - 1)) <= 0)
		return NULL;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return NULL;
	*slash = '\0';
	if (asprintf(&path, "%s/%s", self, name) < 0)
		return NULL;
	return path;
}

/* One default program of bench_cluster_programs. */
static int
bench_cluster_program(const char *mode, const char *name, const char *option,
    const char **path, char **own)
{
	*own = NULL;
	if (*path != NULL)
		return 0;
	if ((*own = bench_cluster_sibling(name)) == NULL) {
		fprintf(stderr, "%s: %s: cannot find this program's directory; "
		    "give --%s\n", BENCH_PROG, mode, option);
		return -1;
	}
	*path = *own;
	return 0;
}

int
bench_cluster_programs(const char *mode, const char **niyantad,
    const char **worker, char **own_niyantad, char **own_worker,
    const char **bad)
{
	int	 e;

	*own_worker = NULL;
	if (bench_cluster_program(mode, "niyantad", "niyantad", niyantad,
	    own_niyantad) != 0)
		return -1;
	if (worker != NULL && bench_cluster_program(mode, "niyanta-worker",
	    "worker", worker, own_worker) != 0) {
		free(*own_niyantad);
		*own_niyantad = NULL;
		return -1;
	}
	*bad = access(*niyantad, X_OK) != 0 ? *niyantad :
	    worker != NULL && access(*worker, X_OK) != 0 ? *worker : NULL;
	if (*bad == NULL)
		return 0;
	e = errno;
	free(*own_niyantad);
	free(*own_worker);
	*own_niyantad = *own_worker = NULL;
	errno = e;
	return 1;
}

int
bench_cluster_run(const char *mode, int (*run)(void *), void *arg, int fail_code)
{
	struct errbuf	 eb = { 0 };
	int		 rc;

	if (http_global_init(&eb) != 0) {
		fprintf(stderr, "%s: %s: %s\n", BENCH_PROG, mode, eb.msg);
		return fail_code;
	}
	bench_cluster_signals_install();
	rc = run(arg);
	http_global_fini();
	return rc;
}

/* ---------------------------------------------------------------- the mode */

#define BENCH_RECOVERY_SLEEP_MS		600000	/* outlives any run */
#define BENCH_RECOVERY_CKPT_MS		1000
#define BENCH_RECOVERY_POLL_MS		50
#define BENCH_RECOVERY_SLOW_POLL_S	1.0	/* workload list before DEAD */
#define BENCH_RECOVERY_TARGET_S		12.0	/* with the default 10 s timeout */
#define BENCH_RECOVERY_BATCH		1000	/* the server's batch limit */
#define BENCH_RECOVERY_WORKLOADS_MAX	10000

enum { BENCH_RECOVERY_OK = 0, BENCH_RECOVERY_FAIL = 1, BENCH_RECOVERY_USAGE = 2 };

struct bench_recovery_opts {
	long long	 workers;
	long long	 workloads;
	long long	 timeout_s;	/* longest wait of each phase */
	const char	*niyantad;
	const char	*worker;
	bool		 json;
};

/* One submitted workload, as last seen. */
struct bench_recovery_wl {
	char		 id[48];
	char		 status[16];
	char		 worker[64];	/* "" if none */
	long long	 attempt;
	long long	 ckpt;		/* checkpoint_seq */
	int64_t		 started_ms;	/* started_at; -1 if none */
	bool		 victim;	/* on the killed worker at the kill */
	long long	 attempt0, ckpt0;	/* at the kill */
	bool		 moved;		/* seen RUNNING on another worker */
	double		 moved_s;	/* kill to that sighting */
	long long	 attempt1, ckpt1;	/* at that sighting */
	int64_t		 started1_ms;
};

/* What one run measured. */
struct bench_recovery_result {
	double		 up_s;		/* cluster start */
	double		 running_s;	/* submit to all RUNNING, checkpointed */
	char		 victim[32];
	long		 victim_pid;
	double		 hb_age_s;	/* last heartbeat to kill; <0 unknown */
	size_t		 held;		/* workloads on the victim */
	size_t		 moved;
	size_t		 new_attempt;
	size_t		 from_ckpt;
	double		 dead_s;	/* <0: not seen */
	double		 first_s, p50_s, all_s;
	double		 rec_first_s, rec_all_s;	/* by started_at; <0 n/a */
	bool		 complete;
	long		 poll_errors;
	char		 first_error[ERRBUF_LEN + 64];
};

static const char bench_recovery_synopsis[] =
"usage: niyanta-bench recovery [--workers N] [--workloads M] [--niyantad PATH]\n"
"                              [--worker PATH] [--timeout S] [--json]\n";

static int
bench_recovery_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
bench_recovery_usage(const char *fmt, ...)
{
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	rc = bench_usage_fail("recovery", bench_recovery_synopsis,
	    BENCH_RECOVERY_USAGE, fmt, ap);
	va_end(ap);
	return rc;
}

static int
bench_recovery_wl_cmp(const void *a, const void *b)
{
	return strcmp(((const struct bench_recovery_wl *)a)->id,
	    ((const struct bench_recovery_wl *)b)->id);
}


static bool
bench_recovery_terminal(const char *st)
{
	return strcmp(st, "COMPLETED") == 0 || strcmp(st, "FAILED") == 0 ||
	    strcmp(st, "CANCELLED") == 0;
}

/* Submits o->workloads sleep workloads in batches; their ids go to wl[]. */
static int
bench_recovery_submit(struct bench_cluster *cl, struct bench_recovery_wl *wl,
    size_t n, struct errbuf *eb)
{
	json_t		*one, *arr, *body, *reply, *v;
	const char	*id;
	char		*text;
	size_t		 done = 0, k, i;
	int		 rc = 0;

	one = json_pack("{s:s,s:{s:i,s:i},s:i}", "workload_type", "sleep",
	    "input_params", "duration_ms", BENCH_RECOVERY_SLEEP_MS,
	    "checkpoint_ms", BENCH_RECOVERY_CKPT_MS, "max_retries", 0);
	if (one == NULL)
		return err_setf(eb, ERR_NOMEM, "out of memory");
	while (rc == 0 && done < n) {
		k = n - done < BENCH_RECOVERY_BATCH ? n - done : BENCH_RECOVERY_BATCH;
		arr = json_array();
		for (i = 0; arr != NULL && i < k; i++)
			if (json_array_append(arr, one) != 0)
				break;
		body = arr != NULL ? json_pack("{s:o}", "workloads", arr) : NULL;
		text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
		json_decref(body);
		if (text == NULL) {
			rc = err_setf(eb, ERR_NOMEM, "out of memory");
			break;
		}
		rc = bench_cluster_api(cl, "POST", "/v1/workloads/batch", text, 201,
		    &reply, eb);
		free(text);
		if (rc != 0)
			break;
		arr = json_object_get(reply, "workloads");
		if (json_array_size(arr) != k)
			rc = err_setf(eb, ERR_PROTO, "POST /v1/workloads/batch: sent "
			    "%zu workloads, the reply lists %zu", k,
			    json_array_size(arr));
		json_array_foreach(arr, i, v) {
			if (rc != 0)
				break;
			id = json_string_value(json_object_get(v, "id"));
			if (id == NULL || strlen(id) >= sizeof wl[0].id) {
				rc = err_setf(eb, ERR_PROTO, "POST /v1/workloads/batch: "
				    "a reply item has no usable id");
				break;
			}
			memcpy(wl[done + i].id, id, strlen(id) + 1);
		}
		json_decref(reply);
		done += k;
	}
	json_decref(one);
	return rc;
}

/* Copies what the record v says into the matching entry of wl[] (sorted). */
static void
bench_recovery_wl_take(struct bench_recovery_wl *wl, size_t n, const json_t *v)
{
	struct bench_recovery_wl	 key, *w;
	const char			*s;

	s = json_string_value(json_object_get(v, "id"));
	if (s == NULL || strlen(s) >= sizeof key.id)
		return;
	memcpy(key.id, s, strlen(s) + 1);
	if ((w = bsearch(&key, wl, n, sizeof *wl, bench_recovery_wl_cmp)) == NULL)
		return;
	s = json_string_value(json_object_get(v, "status"));
	snprintf(w->status, sizeof w->status, "%s", s != NULL ? s : "");
	s = json_string_value(json_object_get(v, "worker_id"));
	snprintf(w->worker, sizeof w->worker, "%s", s != NULL ? s : "");
	w->attempt = json_integer_value(json_object_get(v, "attempt"));
	w->ckpt = json_integer_value(json_object_get(v, "checkpoint_seq"));
	if (!bench_rfc3339_parse(json_string_value(json_object_get(v,
	    "started_at")), &w->started_ms))
		w->started_ms = -1;
}

/* Reads every workload, page by page, into wl[]. */
static int
bench_recovery_scan(struct bench_cluster *cl, struct bench_recovery_wl *wl,
    size_t n, struct errbuf *eb)
{
	json_t		*root, *arr, *v;
	const char	*next;
	char		 path[256], *cursor = NULL, *esc;
	size_t		 i, pages = 0;
	int		 rc = 0;

	for (;;) {
		if (cursor == NULL) {
			snprintf(path, sizeof path, "/v1/workloads?limit=1000");
		} else {
			if ((esc = http_url_escape(cursor)) == NULL) {
				rc = err_setf(eb, ERR_NOMEM, "out of memory");
				break;
			}
			snprintf(path, sizeof path, "/v1/workloads?limit=1000&"
			    "cursor=%s", esc);
			free(esc);
		}
		if ((rc = bench_cluster_api(cl, "GET", path, NULL, 200, &root,
		    eb)) != 0)
			break;
		arr = json_object_get(root, "workloads");
		if (!json_is_array(arr)) {
			json_decref(root);
			rc = err_setf(eb, ERR_PROTO, "GET /v1/workloads: no "
			    "workloads array in the reply");
			break;
		}
		json_array_foreach(arr, i, v)
			bench_recovery_wl_take(wl, n, v);
		next = json_string_value(json_object_get(root, "next_cursor"));
		rc = next != NULL && strlen(next) < 64 ? str_set(&cursor, next) : 0;
		if (next != NULL && strlen(next) >= 64)
			rc = err_setf(eb, ERR_PROTO, "GET /v1/workloads: "
			    "next_cursor is too long");
		json_decref(root);
		if (rc != 0 || next == NULL)
			break;
		if (++pages > 1000) {
			rc = err_setf(eb, ERR_PROTO, "GET /v1/workloads: more "
			    "than 1000 pages");
			break;
		}
	}
	free(cursor);
	return rc;
}

/* Waits until every workload is RUNNING and holds a checkpoint, so a
 * resumption from one can be seen. */
static int
bench_recovery_wait_running(struct bench_cluster *cl,
    struct bench_recovery_wl *wl, size_t n, double deadline, struct errbuf *eb)
{
	size_t	 i, running, ckpt;
	int	 rc;

	for (;;) {
		if ((rc = bench_cluster_check(cl, eb)) != 0 ||
		    (rc = bench_recovery_scan(cl, wl, n, eb)) != 0)
			return rc;
		running = ckpt = 0;
		for (i = 0; i < n; i++) {
			if (bench_recovery_terminal(wl[i].status))
				return err_setf(eb, ERR_CONFLICT, "workload %s "
				    "ended %s before the kill", wl[i].id,
				    wl[i].status);
			if (strcmp(wl[i].status, "RUNNING") == 0) {
				running++;
				if (wl[i].ckpt > 0)
					ckpt++;
			}
		}
		if (ckpt == n)
			return 0;
		if (bench_now_s() >= deadline)
			return err_setf(eb, ERR_TIMEOUT, "after the wait, %zu of "
			    "%zu workloads were RUNNING, %zu with a checkpoint",
			    running, n, ckpt);
		bench_sleep_ms(100);
	}
}

/* The victim's status and last heartbeat from GET /v1/workers. */
static int
bench_recovery_worker_get(struct bench_cluster *cl, const char *id,
    bool *dead, int64_t *hb_ms, struct errbuf *eb)
{
	json_t		*root, *w;
	const char	*wid, *st;
	size_t		 i;
	bool		 found = false;
	int		 rc;

	if ((rc = bench_cluster_api(cl, "GET", "/v1/workers", NULL, 200, &root,
	    eb)) != 0)
		return rc;
	json_array_foreach(json_object_get(root, "workers"), i, w) {
		wid = json_string_value(json_object_get(w, "id"));
		if (wid == NULL || strcmp(wid, id) != 0)
			continue;
		found = true;
		st = json_string_value(json_object_get(w, "status"));
		*dead = st != NULL && strcmp(st, "DEAD") == 0;
		if (hb_ms != NULL && !bench_rfc3339_parse(json_string_value(
		    json_object_get(w, "last_heartbeat")), hb_ms))
			*hb_ms = -1;
		break;
	}
	json_decref(root);
	if (!found)
		return err_setf(eb, ERR_PROTO, "GET /v1/workers does not list %s",
		    id);
	return 0;
}

static void
bench_recovery_poll_error(struct bench_recovery_result *res,
    const struct errbuf *eb)
{
	if (res->poll_errors++ == 0)
		snprintf(res->first_error, sizeof res->first_error, "%s", eb->msg);
}

/*
 * Kills the worker holding the most workloads and polls until every one of
 * them runs elsewhere and the worker is DEAD.  A failed poll is counted and
 * the polling goes on (the figure would be lost otherwise); a workload that
 * ends, or a process that exits, stops it.
 *
 * GET /v1/workers is cheap and polled every 50 ms throughout.  The whole
 * workload list is not: with 500 workloads one costs niyantad some 20 ms
 * of CPU, and twenty a second would take a core from the coordinator being
 * measured.  So until the worker is DEAD (before which nothing should
 * move) the list is read once a second, then every 50 ms.  Anything that
 * did move early is still seen, and its started_at tells when.
 */
static int
bench_recovery_measure(struct bench_cluster *cl, struct bench_recovery_wl *wl,
    size_t n, const struct bench_recovery_opts *o,
    struct bench_recovery_result *res, struct errbuf *eb)
{
	struct bench_recovery_wl	*w;
	struct errbuf			 peb;
	size_t				*held, i, best = 0, nheld = 0;
	double				 t_kill, t_poll, t_scan = 0, now,
					 deadline, *times;
	int64_t				 kill_ms, hb_ms = -1;
	long				 k;
	bool				 dead = false;
	int				 rc;

	if ((held = calloc(bench_cluster_nworkers(cl), sizeof *held)) == NULL)
		return err_setf(eb, ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++)
		if ((k = bench_cluster_worker_find(cl, wl[i].worker)) >= 0)
			held[k]++;
	for (i = 1; i < bench_cluster_nworkers(cl); i++)
		if (held[i] > held[best])
			best = i;
	free(held);
	snprintf(res->victim, sizeof res->victim, "%s",
	    bench_cluster_worker_id(cl, best));
	res->victim_pid = bench_cluster_worker_pid(cl, best);
	for (i = 0; i < n; i++) {
		w = &wl[i];
		w->victim = strcmp(w->worker, res->victim) == 0;
		w->attempt0 = w->attempt;
		w->ckpt0 = w->ckpt;
		if (w->victim)
			nheld++;
	}
	res->held = nheld;
	if ((rc = bench_recovery_worker_get(cl, res->victim, &dead, &hb_ms,
	    eb)) != 0)
		return rc;

	kill_ms = (int64_t)clock_wall_ms();
	t_kill = bench_now_s();
	if ((rc = bench_cluster_worker_kill(cl, best, eb)) != 0)
		return rc;
	res->hb_age_s = hb_ms >= 0 ? (double)(kill_ms - hb_ms) / 1000.0 : -1;
	if (!o->json) {
		printf("recovery: killed %s (pid %ld, SIGKILL) running %zu of "
		    "them", res->victim, res->victim_pid, res->held);
		if (res->hb_age_s >= 0)
			printf("; its last heartbeat was %.2f s before",
			    res->hb_age_s);
		printf("\n");
		fflush(stdout);
	}
	deadline = t_kill + (double)o->timeout_s;
	dead = false;
	res->dead_s = -1;
	for (;;) {
		t_poll = bench_now_s();
		if ((rc = bench_cluster_check(cl, eb)) != 0)
			return rc;
		errbuf_clear(&peb);
		if (!dead) {
			if (bench_recovery_worker_get(cl, res->victim, &dead, NULL,
			    &peb) != 0)
				bench_recovery_poll_error(res, &peb);
			else if (dead)
				res->dead_s = bench_now_s() - t_kill;
		}
		if (res->moved < nheld && (dead ||
		    t_poll - t_scan >= BENCH_RECOVERY_SLOW_POLL_S)) {
			t_scan = t_poll;
			if (bench_recovery_scan(cl, wl, n, &peb) != 0) {
				bench_recovery_poll_error(res, &peb);
			} else {
				now = bench_now_s();
				for (i = 0; i < n; i++) {
					w = &wl[i];
					if (!w->victim || w->moved)
						continue;
					if (bench_recovery_terminal(w->status))
						return err_setf(eb, ERR_CONFLICT,
						    "workload %s of the killed worker "
						    "ended %s", w->id, w->status);
					if (strcmp(w->status, "RUNNING") != 0 ||
					    w->worker[0] == '\0' ||
					    strcmp(w->worker, res->victim) == 0)
						continue;
					w->moved = true;
					w->moved_s = now - t_kill;
					w->attempt1 = w->attempt;
					w->ckpt1 = w->ckpt;
					w->started1_ms = w->started_ms;
					res->moved++;
				}
			}
		}
		if (dead && res->moved == nheld)
			break;
		if (bench_now_s() >= deadline)
			break;
		now = bench_now_s();
		if (now < t_poll + BENCH_RECOVERY_POLL_MS / 1000.0)
			bench_sleep_ms((unsigned)((t_poll +
			    BENCH_RECOVERY_POLL_MS / 1000.0 - now) * 1000.0) + 1);
	}
	res->complete = dead && res->moved == nheld;

	if ((times = calloc(nheld > 0 ? nheld : 1, sizeof *times)) == NULL)
		return err_setf(eb, ERR_NOMEM, "out of memory");
	res->rec_first_s = res->rec_all_s = -1;
	for (i = 0, k = 0; i < n; i++) {
		w = &wl[i];
		if (!w->moved)
			continue;
		times[k++] = w->moved_s;
		if (w->attempt1 > w->attempt0)
			res->new_attempt++;
		if (w->ckpt1 > 0 && w->ckpt1 >= w->ckpt0)
			res->from_ckpt++;
		if (w->started1_ms >= 0) {
			now = (double)(w->started1_ms - kill_ms) / 1000.0;
			if (res->rec_first_s < 0 || now < res->rec_first_s)
				res->rec_first_s = now;
			if (now > res->rec_all_s)
				res->rec_all_s = now;
		}
	}
	bench_sort_doubles(times, (size_t)k);
	res->first_s = k > 0 ? times[0] : -1;
	res->all_s = k > 0 ? times[k - 1] : -1;
	res->p50_s = k > 0 ? times[(k - 1) / 2] : -1;
	free(times);
	return 0;
}

static void
bench_recovery_print(const struct bench_recovery_opts *o, long long capacity,
    const struct bench_recovery_result *r, bool met)
{
	if (o->json) {
		printf("{\"mode\":\"recovery\",\"workers\":%lld,\"workloads\":%lld,"
		    "\"capacity\":%lld,\"cluster_start_s\":%.3f,"
		    "\"all_running_s\":%.3f,\"victim\":\"%s\",\"victim_workloads\":%zu,"
		    "\"heartbeat_age_s\":%.3f,\"dead_s\":%.3f,"
		    "\"first_running_s\":%.3f,\"p50_running_s\":%.3f,"
		    "\"all_running_again_s\":%.3f,\"record_first_s\":%.3f,"
		    "\"record_all_s\":%.3f,\"moved\":%zu,\"new_attempt\":%zu,"
		    "\"from_checkpoint\":%zu,\"complete\":%s,\"target_s\":%.0f,"
		    "\"target_met\":%s,\"poll_errors\":%ld}\n", o->workers,
		    o->workloads, capacity, r->up_s, r->running_s, r->victim,
		    r->held, r->hb_age_s, r->dead_s, r->first_s, r->p50_s, r->all_s,
		    r->rec_first_s, r->rec_all_s, r->moved, r->new_attempt,
		    r->from_ckpt, r->complete ? "true" : "false",
		    BENCH_RECOVERY_TARGET_S, met ? "true" : "false", r->poll_errors);
		return;
	}
	if (r->dead_s >= 0)
		printf("recovery: %s declared DEAD %.2f s after the kill\n",
		    r->victim, r->dead_s);
	else
		printf("recovery: %s was not declared DEAD within %lld s\n",
		    r->victim, o->timeout_s);
	if (r->moved > 0)
		printf("recovery: first workload RUNNING elsewhere after %.2f s, "
		    "%s%zu of %zu after %.2f s (p50 %.2f s); by the records' "
		    "started_at: %.2f s to %.2f s\n", r->first_s,
		    r->moved == r->held ? "all " : "", r->moved, r->held,
		    r->all_s, r->p50_s, r->rec_first_s, r->rec_all_s);
	else
		printf("recovery: none of its %zu workloads ran elsewhere within "
		    "%lld s\n", r->held, o->timeout_s);
	printf("recovery: %zu of %zu came back as a new attempt, %zu of %zu "
	    "resumed from a checkpoint (checkpoint_seq > 0)\n", r->new_attempt,
	    r->held, r->from_ckpt, r->held);
	if (r->poll_errors > 0)
		printf("recovery: %ld polls failed; the first: %s\n",
		    r->poll_errors, r->first_error);
	printf("target: all running again within %.0f s: %s\n",
	    BENCH_RECOVERY_TARGET_S, met ? "met" : "NOT met");
}

static int
bench_recovery_run(const struct bench_recovery_opts *o)
{
	struct bench_cluster_opts	 co;
	struct bench_recovery_result	 res;
	struct bench_recovery_wl	*wl = NULL;
	struct bench_cluster		*cl = NULL;
	struct errbuf			 eb, seb;
	double				 t0;
	size_t				 n = (size_t)o->workloads;
	bool				 met = false, failed = true;
	int				 rc;

	memset(&res, 0, sizeof res);
	memset(&co, 0, sizeof co);
	co.niyantad = o->niyantad;
	co.worker = o->worker;
	co.nworkers = (size_t)o->workers;
	co.capacity = (o->workloads + o->workers - 2) / (o->workers - 1);
	co.timeout_ms = o->timeout_s * 1000;
	errbuf_clear(&eb);
	if ((wl = calloc(n, sizeof *wl)) == NULL) {
		fprintf(stderr, "%s: recovery: out of memory\n", BENCH_PROG);
		return BENCH_RECOVERY_FAIL;
	}

	t0 = bench_now_s();
	if ((rc = bench_cluster_start(&cl, &co, &eb)) != 0) {
		fprintf(stderr, "%s: recovery: cannot start the cluster: %s\n",
		    BENCH_PROG, eb.msg);
		if (rc != ERR_SHUTDOWN)
			bench_cluster_logs_print(cl, stderr);
		goto out;
	}
	res.up_s = bench_now_s() - t0;
	if (!o->json) {
		printf("recovery: niyantad and %lld workers (%lld slots each) up in "
		    "%.2f s (%s)\n", o->workers, co.capacity, res.up_s,
		    bench_cluster_dir(cl));
		fflush(stdout);
	}

	t0 = bench_now_s();
	if ((rc = bench_recovery_submit(cl, wl, n, &eb)) != 0)
		goto fail;
	qsort(wl, n, sizeof *wl, bench_recovery_wl_cmp);
	if ((rc = bench_recovery_wait_running(cl, wl, n, t0 +
	    (double)o->timeout_s, &eb)) != 0)
		goto fail;
	res.running_s = bench_now_s() - t0;
	if (!o->json) {
		printf("recovery: %zu sleep workloads (checkpoint every %d ms) "
		    "RUNNING and checkpointed %.2f s after submitting\n", n,
		    BENCH_RECOVERY_CKPT_MS, res.running_s);
		fflush(stdout);
	}

	if ((rc = bench_recovery_measure(cl, wl, n, o, &res, &eb)) != 0)
		goto fail;
	met = res.complete && res.all_s <= BENCH_RECOVERY_TARGET_S;
	bench_recovery_print(o, co.capacity, &res, met);
	fflush(stdout);
	if (res.poll_errors > 0)
		fprintf(stderr, "%s: recovery: %ld polls failed; the first: %s\n",
		    BENCH_PROG, res.poll_errors, res.first_error);
	failed = false;
	goto out;
fail:
	fprintf(stderr, "%s: recovery: %s\n", BENCH_PROG, eb.msg);
	if (rc != ERR_SHUTDOWN)
		bench_cluster_logs_print(cl, stderr);
out:
	errbuf_clear(&seb);
	if (bench_cluster_stop(cl, &seb) != 0)
		fprintf(stderr, "%s: recovery: stopping the cluster: %s\n",
		    BENCH_PROG, seb.msg);
	free(wl);
	if (failed)
		return BENCH_RECOVERY_FAIL;
	return met && res.poll_errors == 0 ? BENCH_RECOVERY_OK :
	    BENCH_RECOVERY_FAIL;
}

static int
bench_recovery_run_cb(void *arg)
{
	return bench_recovery_run(arg);
}

int
bench_recovery_main(int argc, char **argv)
{
	enum { OPT_WORKERS = 256, OPT_WORKLOADS, OPT_NIYANTAD, OPT_WORKER,
	    OPT_TIMEOUT, OPT_JSON };
	static const struct option longopts[] = {
		{ "workers", required_argument, NULL, OPT_WORKERS },
		{ "workloads", required_argument, NULL, OPT_WORKLOADS },
		{ "niyantad", required_argument, NULL, OPT_NIYANTAD },
		{ "worker", required_argument, NULL, OPT_WORKER },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_recovery_opts	 o = {
		.workers = 5, .workloads = 50, .timeout_s = 120,
	};
	const char			*bad;
	char				*def_coord = NULL, *def_worker = NULL;
	int				 c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_WORKERS:
			if (!str_parse_ll(optarg, 2, BENCH_CLUSTER_WORKERS_MAX,
			    &o.workers))
				return bench_recovery_usage("--workers wants 2..%d "
				    "(one is killed), not '%s'",
				    BENCH_CLUSTER_WORKERS_MAX, optarg);
			break;
		case OPT_WORKLOADS:
			if (!str_parse_ll(optarg, 1, BENCH_RECOVERY_WORKLOADS_MAX,
			    &o.workloads))
				return bench_recovery_usage("--workloads wants "
				    "1..%d, not '%s'", BENCH_RECOVERY_WORKLOADS_MAX,
				    optarg);
			break;
		case OPT_NIYANTAD:
		case OPT_WORKER:
			if (optarg[0] == '\0')
				return bench_recovery_usage("--%s wants a path",
				    c == OPT_WORKER ? "worker" : "niyantad");
			if (c == OPT_WORKER)
				o.worker = optarg;
			else
				o.niyantad = optarg;
			break;
		case OPT_TIMEOUT:
			if (!str_parse_ll(optarg, 1, 3600, &o.timeout_s))
				return bench_recovery_usage("--timeout wants 1..3600 "
				    "seconds, not '%s'", optarg);
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case 'h':
			fputs(bench_recovery_synopsis, stdout);
			printf("See '%s --help' for the whole manual.\n", BENCH_PROG);
			return BENCH_RECOVERY_OK;
		default:
			return bench_recovery_usage("bad option");
		}
	}
	if (optind < argc)
		return bench_recovery_usage("unexpected argument '%s'", argv[optind]);
	/* Survivors must have room for all of the dead worker's work. */
	if ((o.workloads + o.workers - 2) / (o.workers - 1) >
	    BENCH_CLUSTER_CAPACITY_MAX)
		return bench_recovery_usage("%lld workloads on %lld workers needs "
		    "more than %d slots a worker; add workers", o.workloads,
		    o.workers, BENCH_CLUSTER_CAPACITY_MAX);
	switch (bench_cluster_programs("recovery", &o.niyantad, &o.worker,
	    &def_coord, &def_worker, &bad)) {
	case 0:
		break;
	case 1:
		return bench_recovery_usage("%s: %s (give --niyantad and --worker)",
		    bad, strerror(errno));
	default:
		return BENCH_RECOVERY_FAIL;
	}
	rc = bench_cluster_run("recovery", bench_recovery_run_cb, &o,
	    BENCH_RECOVERY_FAIL);
	free(def_coord);
	free(def_worker);
	return rc;
}
