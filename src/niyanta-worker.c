/*
 * niyanta-worker: the worker daemon.  Only option parsing and signal
 * wiring live here; the runtime is src/worker.c.
 *
 * Exit status: 0 after a graceful drain (SIGTERM, SIGINT), 1 when the
 * worker cannot start, 2 for bad usage or a join token the cluster
 * refused.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "src/cfg.h"
#include "src/err.h"
#include "src/log.h"
#include "src/strs.h"
#include "src/worker.h"

#define PROG		"niyanta-worker"
#define EXIT_USAGE	2

static const struct cfg_option worker_options[] = {
	{ .name = "coordinator", .type = CFG_LIST, .metavar = "URL",
	  .help = "A coordinator's worker endpoint, tcp://HOST:PORT (required)." },
	{ .name = "join-token-file", .type = CFG_STR, .metavar = "FILE",
	  .help = "File holding the cluster's join token (required)." },
	{ .name = "id", .type = CFG_STR, .metavar = "ID",
	  .help = "This worker's id [default: the host name]." },
	{ .name = "tag", .type = CFG_LIST, .metavar = "KEY=VALUE",
	  .help = "A tag for affinity rules." },
	{ .name = "capacity", .type = CFG_UINT, .def = "4", .min = 1, .max = 1024,
	  .metavar = "N", .help = "Workloads run at once." },
	{ .name = "cpu-millis", .type = CFG_UINT, .def = "0", .min = 0,
	  .max = 1024000, .metavar = "M",
	  .help = "CPU offered to workloads that ask for some, in thousandths "
	  "of a core (0: none)." },
	{ .name = "memory-mb", .type = CFG_UINT, .def = "0", .min = 0,
	  .max = 67108864, .metavar = "MB",
	  .help = "Memory offered to workloads that ask for some (0: none)." },
	{ .name = "gpus", .type = CFG_UINT, .def = "0", .min = 0, .max = 1024,
	  .metavar = "N",
	  .help = "GPUs offered to workloads that ask for some (0: none)." },
	{ .name = "plugin-dir", .type = CFG_STR, .def = NIYANTA_PLUGINDIR,
	  .metavar = "DIR", .help = "Directory of workload-type plugins (*.so)." },
	{ .name = "drain-timeout-ms", .type = CFG_UINT, .def = "10000", .min = 0,
	  .max = 3600000, .metavar = "MS",
	  .help = "On SIGTERM, how long running workloads get to stop." },
	{ .name = "checkpoint-interval", .type = CFG_UINT, .def = "300", .min = 0,
	  .max = 604800, .metavar = "S",
	  .help = "Ask a running workload to checkpoint every S seconds, unless "
	  "it has its own checkpoint_policy (0: not by time)." },
	{ .name = "checkpoint-progress", .type = CFG_UINT, .def = "0", .min = 0,
	  .max = 100, .metavar = "P",
	  .help = "Ask for a checkpoint every P points of progress (0: not by "
	  "progress)." },
	{ .name = "checkpoint-policy", .type = CFG_LIST, .metavar = "TYPE=S,P",
	  .help = "The two settings above for one workload type, e.g. "
	  "exec=60,10." },
	{ .name = "checkpoint-max-mb", .type = CFG_UINT, .def = "64", .min = 1,
	  .max = 256, .metavar = "MB",
	  .help = "Largest checkpoint sent (uncompressed)." },
	{ .name = "log-level", .type = CFG_STR, .def = "info", .metavar = "LEVEL",
	  .help = "debug, info, warn or error." },
	{ .name = "config", .type = CFG_STR, .metavar = "FILE",
	  .help = "INI file with any of these options." },
};

#define N_OPTIONS	(unsigned)(sizeof worker_options / sizeof worker_options[0])

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reports bad usage on stderr (logging may not be set up yet). */
static int
usage_error(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	return EXIT_USAGE;
}

/* tcp://HOST:PORT with a port from 1 to 65535, or ipc://PATH. */
static int
main_url_check(const char *url)
{
	const char	*colon;
	char		*end;
	long		 port;

	if (strncmp(url, "ipc://", 6) == 0 && url[6] != '\0')
		return 0;
	if (strncmp(url, "tcp://", 6) != 0 ||
	    (colon = strrchr(url + 6, ':')) == NULL || colon == url + 6)
		return -1;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || colon[1] == '\0' || port < 1 || port > 65535)
		return -1;
	return 0;
}

static void
ckpt_defaults_free(struct worker_ckpt_default *v, unsigned n)
{
	unsigned	 i;

	for (i = 0; v != NULL && i < n; i++)
		free((char *)v[i].type);
	free(v);
}

/*
 * The checkpoint defaults: the two global settings (type NULL), then one
 * entry per --checkpoint-policy TYPE=S,P (types owned: ckpt_defaults_free).
 * 0, or EXIT_USAGE after saying what is wrong.
 */
static int
ckpt_defaults_parse(const struct cfg *c, struct worker_ckpt_default **out,
    unsigned *n)
{
	const struct strlist		*l = cfg_list(c, "checkpoint-policy");
	struct worker_ckpt_default	*v;
	char				 num[2][16];
	const char			*eq, *comma, *type;
	long long			 s, p;
	size_t				 i;

	if ((v = calloc(l->n + 1, sizeof *v)) == NULL)
		log_fatal("NOMEM", "out of memory");
	v[0].interval_seconds = (uint32_t)cfg_uint(c, "checkpoint-interval");
	v[0].on_progress_percent = (uint32_t)cfg_uint(c, "checkpoint-progress");
	for (i = 0; i < l->n; i++) {
		type = l->v[i];
		eq = strchr(type, '=');
		comma = eq != NULL ? strchr(eq, ',') : NULL;
		if (eq == NULL || comma == NULL || eq == type ||
		    (size_t)(comma - eq - 1) >= sizeof num[0] ||
		    strlen(comma + 1) >= sizeof num[1]) {
			ckpt_defaults_free(v, (unsigned)i + 1);
			return usage_error("--checkpoint-policy: expected "
			    "TYPE=SECONDS,PERCENT, got \"%s\"", l->v[i]);
		}
		memcpy(num[0], eq + 1, (size_t)(comma - eq - 1));
		num[0][comma - eq - 1] = '\0';
		strcpy(num[1], comma + 1);
		if (!str_parse_ll(num[0], 0, 604800, &s) ||
		    !str_parse_ll(num[1], 0, 100, &p)) {
			ckpt_defaults_free(v, (unsigned)i + 1);
			return usage_error("--checkpoint-policy \"%s\": seconds "
			    "0..604800 and percent 0..100", l->v[i]);
		}
		if ((v[i + 1].type = strndup(type, (size_t)(eq - type))) == NULL)
			log_fatal("NOMEM", "out of memory");
		v[i + 1].interval_seconds = (uint32_t)s;
		v[i + 1].on_progress_percent = (uint32_t)p;
	}
	*out = v;
	*n = (unsigned)l->n + 1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct worker_config	 wc;
	struct worker		*w = NULL;
	struct tagset		 tags = { NULL, 0 };
	struct worker_ckpt_default *ckpt = NULL;
	unsigned		 n_ckpt = 0;
	struct errbuf		 eb;
	const struct strlist	*urls, *taglist;
	struct cfg		*c = NULL;
	struct timespec		 tick = { 0, 200 * 1000000L };
	const char		*plugin_dir, *id;
	char			*token = NULL, host[256];
	sigset_t		 sigs;
	size_t			 i;
	int			 rc, level, sig, status = 0;

	signal(SIGPIPE, SIG_IGN);
	errbuf_clear(&eb);
	rc = cfg_parse(&c, PROG, "--coordinator URL --join-token-file FILE [options]",
	    worker_options, N_OPTIONS, argc, argv, NULL, NULL, &eb);
	if (rc == CFG_HELP || rc == CFG_VERSION)
		return 0;
	if (rc != CFG_PARSED)
		return usage_error("%s", eb.msg);

	if ((level = log_level_parse(cfg_str(c, "log-level"))) < 0) {
		status = usage_error("--log-level: expected debug, info, warn or "
		    "error, got \"%s\"", cfg_str(c, "log-level"));
		goto done;
	}
	log_init(PROG, (enum log_level)level);

	urls = cfg_list(c, "coordinator");
	if (urls->n == 0) {
		status = usage_error("%s", "--coordinator is required");
		goto done;
	}
	for (i = 0; i < urls->n; i++) {
		if (main_url_check(urls->v[i]) != 0) {
			status = usage_error("--coordinator: expected tcp://HOST:PORT, "
			    "got \"%s\"", urls->v[i]);
			goto done;
		}
	}
	if (cfg_str(c, "join-token-file") == NULL) {
		status = usage_error("%s", "--join-token-file is required");
		goto done;
	}
	if (worker_token_read(cfg_str(c, "join-token-file"), &token, &eb) != 0) {
		status = usage_error("%s", eb.msg);
		goto done;
	}
	if ((id = cfg_str(c, "id")) == NULL) {
		if (gethostname(host, sizeof host) != 0) {
			status = usage_error("cannot read the host name (%s); "
			    "give --id", strerror(errno));
			goto done;
		}
		host[sizeof host - 1] = '\0';
		id = host;
	}
	if (!worker_name_valid(id)) {
		status = usage_error("invalid worker id \"%s\": 1 to 128 characters "
		    "from A-Z a-z 0-9 . _ : / - (give --id)", id);
		goto done;
	}
	taglist = cfg_list(c, "tag");
	for (i = 0; i < taglist->n; i++) {
		const char	*eq = strchr(taglist->v[i], '=');
		char		 key[160];

		if (eq == NULL || (size_t)(eq - taglist->v[i]) >= sizeof key) {
			status = usage_error("--tag: expected KEY=VALUE, got \"%s\"",
			    taglist->v[i]);
			goto done;
		}
		memcpy(key, taglist->v[i], (size_t)(eq - taglist->v[i]));
		key[eq - taglist->v[i]] = '\0';
		if (!worker_name_valid(key) || !worker_name_valid(eq + 1)) {
			status = usage_error("--tag \"%s\": key and value must be 1 to "
			    "128 characters from A-Z a-z 0-9 . _ : / -", taglist->v[i]);
			goto done;
		}
		if (tagset_get(&tags, key) != NULL) {
			status = usage_error("--tag: key \"%s\" given twice", key);
			goto done;
		}
		if (tagset_set_pair(&tags, taglist->v[i]) != 0)
			log_fatal("NOMEM", "out of memory");
	}
	plugin_dir = cfg_str(c, "plugin-dir");
	/* The packaged default directory may not exist; a given one must. */
	if (plugin_dir != NULL && !cfg_is_set(c, "plugin-dir") &&
	    access(plugin_dir, F_OK) != 0)
		plugin_dir = NULL;

	if ((status = ckpt_defaults_parse(c, &ckpt, &n_ckpt)) != 0)
		goto done;

	memset(&wc, 0, sizeof wc);
	wc.coordinators = (const char *const *)urls->v;
	wc.n_coordinators = (unsigned)urls->n;
	wc.join_token = token;
	wc.worker_id = id;
	wc.tags = &tags;
	wc.capacity = (unsigned)cfg_uint(c, "capacity");
	wc.offered.cpu_millis = (uint32_t)cfg_uint(c, "cpu-millis");
	wc.offered.memory_mb = (uint32_t)cfg_uint(c, "memory-mb");
	wc.offered.gpus = (uint32_t)cfg_uint(c, "gpus");
	wc.plugin_dir = plugin_dir;
	wc.drain_timeout_ms = (unsigned)cfg_uint(c, "drain-timeout-ms");
	wc.version = NIYANTA_VERSION;
	wc.ckpt_defaults = ckpt;
	wc.n_ckpt_defaults = n_ckpt;
	wc.checkpoint_max = cfg_uint(c, "checkpoint-max-mb") << 20;

	/* Every thread inherits this mask; the signals are taken here only.
	 * Child processes get an empty mask (see plugin_exec.c). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if ((rc = worker_open(&w, &wc, &eb)) != 0) {
		log_error("STARTFAIL", "%s", eb.msg);
		status = rc == ERR_INVAL || rc == ERR_EXISTS ? EXIT_USAGE : 1;
		goto done;
	}
	log_info("WORKERUP", "worker %s up: %u slots, %zu coordinator(s)", id,
	    wc.capacity, urls->n);
	for (;;) {
		if ((sig = sigtimedwait(&sigs, NULL, &tick)) > 0) {
			log_info("SIGNAL", "%s: draining and exiting",
			    sig == SIGTERM ? "SIGTERM" : "SIGINT");
			break;
		}
		if (worker_failure(w) == ERR_AUTH) {
			status = EXIT_USAGE;
			break;
		}
	}
	worker_stop(w);
	worker_close(w);
	log_info("WORKERDOWN", "worker %s stopped", id);
done:
	ckpt_defaults_free(ckpt, n_ckpt);
	free(token);
	tagset_fini(&tags);
	cfg_free(c);
	return status;
}
