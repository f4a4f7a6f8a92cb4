/*
 * niyantad: a coordinator node.  main() parses the configuration, opens the
 * coordinator core and the HTTP API, and waits for SIGTERM/SIGINT; then the
 * API finishes its in-flight requests before the core shuts down.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "src/cfg.h"
#include "src/coord.h"
#include "src/err.h"
#include "src/log.h"
#include "src/sched.h"
#include "src/secret.h"
#include "web/api.h"

#define NIYANTAD_SYNOPSIS \
	"[--config FILE] [--data-dir DIR] [--http-listen HOST:PORT]\n" \
	"                [--worker-listen tcp://HOST:PORT] [--raft-listen HOST:PORT] [options]\n\n" \
	"Runs a Niyanta coordinator: the REST API and web console, the Raft node,\n" \
	"the scheduler and the endpoint workers connect to.  On first start it\n" \
	"writes DIR/admin.key (the admin API key) and DIR/join.token (the token\n" \
	"workers must present), both mode 0600.\n\n" \
	"A cluster of three: run --generate-secrets once, copy the two files to\n" \
	"every node, and start each with the same --peers, its own --node-id,\n" \
	"--raft-listen and --http-advertise, and --admin-key-file and\n" \
	"--join-token-file naming the copies.  Any node takes any request."

#ifndef NIYANTA_WEBDIR
#define NIYANTA_WEBDIR "/usr/share/niyanta/web"
#endif

static const struct cfg_option niyantad_options[] = {
	{ "config", CFG_STR, NULL, 0, 0, "FILE", "read options from this INI file" },
	{ "data-dir", CFG_STR, "/var/lib/niyanta", 0, 0, "DIR",
	    "Raft log, snapshots, state.mdb, admin.key, join.token" },
	{ "http-listen", CFG_STR, "127.0.0.1:8080", 0, 0, "HOST:PORT",
	    "REST API, web console and /health" },
	{ "worker-listen", CFG_STR, "tcp://127.0.0.1:7070", 0, 0, "URL",
	    "endpoint workers connect to (nng URL)" },
	{ "raft-listen", CFG_STR, "127.0.0.1:7071", 0, 0, "HOST:PORT",
	    "Raft address of this node" },
	{ "node-id", CFG_UINT, "1", 1, UINT32_MAX, "N", "Raft server id of this node" },
	{ "peers", CFG_STR, NULL, 0, 0, "ID=HOST:PORT,...",
	    "first start of a cluster: every voter's Raft address, this node "
	    "included (none: a cluster of one)" },
	{ "join", CFG_BOOL, "false", 0, 0, NULL,
	    "start empty and wait to be added (niyantactl cluster add-node)" },
	{ "http-advertise", CFG_STR, NULL, 0, 0, "URL",
	    "http://HOST:PORT other nodes forward API requests to "
	    "(default: from --http-listen)" },
	{ "worker-advertise", CFG_STR, NULL, 0, 0, "URL",
	    "tcp://HOST:PORT workers are told this node is at "
	    "(default: --worker-listen)" },
	{ "admin-key-file", CFG_STR, NULL, 0, 0, "FILE",
	    "the admin API key (default DIR/admin.key); created if absent when "
	    "this node is the first leader" },
	{ "join-token-file", CFG_STR, NULL, 0, 0, "FILE",
	    "the workers' join token (default DIR/join.token); likewise" },
	{ "generate-secrets", CFG_BOOL, "false", 0, 0, NULL,
	    "write a new admin key and join token to their files (if absent) "
	    "and exit: give the same files to every node of a cluster" },
	{ "election-timeout-ms", CFG_UINT, "500", 100, 60000, "MS",
	    "Raft election timeout" },
	{ "raft-heartbeat-ms", CFG_UINT, "50", 10, 10000, "MS",
	    "Raft heartbeat interval (below the election timeout)" },
	{ "pre-vote", CFG_BOOL, "true", 0, 0, NULL,
	    "use Raft pre-vote (faster, steadier failover)" },
	{ "snapshot-threshold", CFG_UINT, "65536", 16, 100000000, "N",
	    "log entries between snapshots" },
	{ "snapshot-log-mb", CFG_UINT, "64", 0, 65536, "MB",
	    "log bytes between snapshots, whichever comes first (0: no limit)" },
	{ "snapshot-trailing", CFG_UINT, "2048", 0, 100000000, "N",
	    "log entries kept after a snapshot" },
	{ "lmdb-map-size-mb", CFG_UINT, "4096", 16, 1048576, "MB",
	    "largest size the state store may grow to" },
	{ "worker-heartbeat-ms", CFG_UINT, "2000", 100, 600000, "MS",
	    "heartbeat interval workers are told to use" },
	{ "worker-dead-ms", CFG_UINT, "10000", 500, 3600000, "MS",
	    "silence after which a worker is declared dead" },
	{ "sched-interval-ms", CFG_UINT, "500", 10, 60000, "MS",
	    "scheduling pass interval when nothing wakes the scheduler" },
	{ "sched-batch", CFG_UINT, "4096", 1, 10000, "N",
	    "most placements in one log entry" },
	{ "poll-wait-ms", CFG_UINT, "5000", 0, 60000, "MS",
	    "longest a worker's poll for work is held" },
	{ "worker-threads", CFG_UINT, "64", 1, 1024, "N",
	    "threads serving worker requests" },
	{ "http-threads", CFG_UINT, "32", 2, 1024, "N",
	    "threads serving HTTP connections (one per connection)" },
	{ "max-body-bytes", CFG_UINT, "1048576", 1024, 1073741824, "BYTES",
	    "largest accepted request body" },
	{ "propose-timeout-ms", CFG_UINT, "10000", 100, 600000, "MS",
	    "a write not applied within this answers 503" },
	{ "placement-strategy", CFG_STR, "spread", 0, 0, "S",
	    "among equally good workers: spread (the least loaded) or binpack "
	    "(the most loaded that fits)" },
	{ "preempt", CFG_BOOL, "true", 0, 0, NULL,
	    "checkpoint and requeue a running lower-tier workload when a "
	    "higher-tier one finds no room" },
	{ "preempt-min-tier", CFG_STR, "enterprise", 0, 0, "TIER",
	    "workloads of this tier or above may preempt" },
	{ "preempt-max-victim-tier", CFG_STR, "free", 0, 0, "TIER",
	    "running workloads of this tier or below may be preempted" },
	{ "preempt-max-in-a-row", CFG_UINT, "3", 1, 1000, "N",
	    "a workload preempted this many times since its last attempt ran "
	    "to its end is not preempted again" },
	{ "tier-weight-free", CFG_UINT, "1", 1, 100000, "W",
	    "queue order: priority is multiplied by this for free customers" },
	{ "tier-weight-standard", CFG_UINT, "10", 1, 100000, "W",
	    "queue order: the same for standard customers" },
	{ "tier-weight-premium", CFG_UINT, "50", 1, 100000, "W",
	    "queue order: the same for premium customers" },
	{ "tier-weight-enterprise", CFG_UINT, "100", 1, 100000, "W",
	    "queue order: the same for enterprise customers" },
	{ "aging-per-min", CFG_UINT, "5", 0, 100000, "N",
	    "queue order: priority points a waiting workload gains per minute "
	    "(the starvation guarantee; 0: none)" },
	{ "checkpoint-max-mb", CFG_UINT, "64", 1, 256, "MB",
	    "largest checkpoint a worker may store (uncompressed)" },
	{ "checkpoint-keep", CFG_UINT, "3", 1, 1000, "N",
	    "committed checkpoints kept per workload (older ones are pruned)" },
	{ "web-dir", CFG_STR, NIYANTA_WEBDIR, 0, 0, "DIR",
	    "the console's files and openapi.json" },
	{ "admin-rate-limit", CFG_UINT, "100000", 1, 10000000, "N",
	    "API requests per second allowed to the admin keys together" },
	{ "rate-limit-free", CFG_UINT, "10", 1, 10000000, "N",
	    "API requests per second of a free customer without its own rate_limit_rps" },
	{ "rate-limit-standard", CFG_UINT, "100", 1, 10000000, "N",
	    "API requests per second of a standard customer without its own rate_limit_rps" },
	{ "rate-limit-premium", CFG_UINT, "500", 1, 10000000, "N",
	    "API requests per second of a premium customer without its own rate_limit_rps" },
	{ "rate-limit-enterprise", CFG_UINT, "2000", 1, 10000000, "N",
	    "API requests per second of an enterprise customer without its own rate_limit_rps" },
	{ "max-queue-depth-free", CFG_UINT, "100", 0, 100000000, "N",
	    "PENDING workloads a free customer may have without its own max_queue_depth (0: no limit)" },
	{ "max-queue-depth-standard", CFG_UINT, "10000", 0, 100000000, "N",
	    "PENDING workloads a standard customer may have without its own max_queue_depth (0: no limit)" },
	{ "max-queue-depth-premium", CFG_UINT, "100000", 0, 100000000, "N",
	    "PENDING workloads a premium customer may have without its own max_queue_depth (0: no limit)" },
	{ "max-queue-depth-enterprise", CFG_UINT, "1000000", 0, 100000000, "N",
	    "PENDING workloads an enterprise customer may have without its own max_queue_depth (0: no limit)" },
	{ "global-max-pending", CFG_UINT, "0", 0, 100000000, "N",
	    "PENDING workloads in the whole cluster; submissions beyond answer 503 (0: no limit)" },
	{ "log-level", CFG_STR, "info", 0, 0, "LEVEL", "debug, info, warn or error" },
};

#define NIYANTAD_NOPTIONS (sizeof niyantad_options / sizeof niyantad_options[0])

#define NIYANTAD_PEERS_MAX	COORD_MEMBERS_MAX

/* Parses "ID=HOST:PORT,..." into peers (addresses point into buf, which
 * is modified).  0, or -1 with msg set. */
static int
niyantad_peers_parse(char *buf, struct coord_peer *peers, size_t *n,
    char *msg, size_t msglen)
{
	char		*item, *save = NULL, *eq, *end;
	unsigned long long id;
	size_t		 i;

	*n = 0;
	for (item = strtok_r(buf, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		if ((eq = strchr(item, '=')) == NULL || eq == item ||
		    eq[1] == '\0' || strchr(eq + 1, ':') == NULL) {
			snprintf(msg, msglen, "--peers: \"%s\" is not ID=HOST:PORT",
			    item);
			return -1;
		}
		*eq = '\0';
		errno = 0;
		id = strtoull(item, &end, 10);
		if (errno != 0 || *end != '\0' || id == 0 || id > UINT32_MAX ||
		    item[0] == '-' || item[0] == '+') {
			snprintf(msg, msglen, "--peers: \"%s\" is not a node id "
			    "(1..%u)", item, (unsigned)UINT32_MAX);
			return -1;
		}
		for (i = 0; i < *n; i++)
			if (peers[i].id == id || strcmp(peers[i].address, eq + 1) == 0) {
				snprintf(msg, msglen, "--peers: node %llu or address "
				    "%s is named twice", id, eq + 1);
				return -1;
			}
		if (*n == NIYANTAD_PEERS_MAX) {
			snprintf(msg, msglen, "--peers: at most %d nodes",
			    NIYANTAD_PEERS_MAX);
			return -1;
		}
		peers[*n].id = id;
		peers[*n].address = eq + 1;
		(*n)++;
	}
	if (*n == 0) {
		snprintf(msg, msglen, "--peers: no ID=HOST:PORT given");
		return -1;
	}
	return 0;
}

/* True if a listen address binds every interface, which others cannot dial. */
static bool
niyantad_wildcard(const char *addr)
{
	return strstr(addr, "0.0.0.0") != NULL || strstr(addr, "[::]") != NULL ||
	    addr[0] == ':' || strstr(addr, "//:") != NULL;
}

/* --generate-secrets: writes whichever secret file is missing. */
static int
niyantad_generate_secrets(const char *data_dir, const char *key_file,
    const char *token_file)
{
	static const char *const prefix[2] = { SECRET_PREFIX_KEY, SECRET_PREFIX_JOIN };
	const char	*file[2] = { key_file, token_file };
	const char	*name[2] = { "admin.key", "join.token" };
	struct errbuf	 eb = { 0 };
	char		 path[4096], text[SECRET_TEXT_MAX];
	int		 i, rc;

	for (i = 0; i < 2; i++) {
		if (file[i] != NULL)
			snprintf(path, sizeof path, "%s", file[i]);
		else {
			if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
				fprintf(stderr, "niyantad: cannot create %s: %s\n",
				    data_dir, strerror(errno));
				return 1;
			}
			snprintf(path, sizeof path, "%s/%s", data_dir, name[i]);
		}
		if ((rc = secret_file_read(path, text, &eb)) == 0) {
			printf("%s: kept (it exists)\n", path);
			continue;
		}
		if (rc != ERR_NOTFOUND) {
			fprintf(stderr, "niyantad: %s\n", eb.msg);
			return 1;
		}
		secret_generate(text, prefix[i]);
		if (secret_file_write(path, text, &eb) != 0) {
			fprintf(stderr, "niyantad: %s\n", eb.msg);
			return 1;
		}
		printf("%s: written (mode 0600)\n", path);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct coord_config	 ccfg;
	struct coord_peer	 peers[NIYANTAD_PEERS_MAX];
	char			*peers_buf = NULL, msg[512], http_url[512];
	struct api_config	 acfg;
	struct errbuf		 eb = { 0 };
	struct coord		*coord = NULL;
	struct api		*api = NULL;
	struct cfg		*cfg = NULL;
	sigset_t		 sigs;
	const char		*strategy;
	int			 rc, sig, level;

	rc = cfg_parse(&cfg, "niyantad", NIYANTAD_SYNOPSIS, niyantad_options,
	    NIYANTAD_NOPTIONS, argc, argv, NULL, NULL, &eb);
	if (rc == CFG_HELP || rc == CFG_VERSION)
		return 0;
	if (rc != CFG_PARSED) {
		fprintf(stderr, "niyantad: %s\n", eb.msg);
		return 2;
	}
	if ((level = log_level_parse(cfg_str(cfg, "log-level"))) < 0) {
		fprintf(stderr, "niyantad: --log-level must be debug, info, warn or error\n");
		cfg_free(cfg);
		return 2;
	}
	log_init("niyantad", (enum log_level)level);

	/* libraft's transport writes to sockets of peers that may be gone:
	 * without this the survivors die silently (DEPENDENCIES.md). */
	signal(SIGPIPE, SIG_IGN);
	/* Every thread inherits this mask; only main() takes the signals. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	if (secret_init() != 0)
		log_fatal("SODIUM", "libsodium failed to initialise");
	if (cfg_bool(cfg, "generate-secrets")) {
		rc = niyantad_generate_secrets(cfg_str(cfg, "data-dir"),
		    cfg_str(cfg, "admin-key-file"), cfg_str(cfg, "join-token-file"));
		/* NULL files: the data directory's. */
		cfg_free(cfg);
		return rc;
	}

	coord_config_defaults(&ccfg);
	ccfg.data_dir = cfg_str(cfg, "data-dir");
	ccfg.worker_listen = cfg_str(cfg, "worker-listen");
	ccfg.raft_listen = cfg_str(cfg, "raft-listen");
	ccfg.node_id = cfg_uint(cfg, "node-id");
	ccfg.election_timeout_ms = (unsigned)cfg_uint(cfg, "election-timeout-ms");
	ccfg.raft_heartbeat_ms = (unsigned)cfg_uint(cfg, "raft-heartbeat-ms");
	ccfg.pre_vote = cfg_bool(cfg, "pre-vote");
	ccfg.snapshot_threshold = (unsigned)cfg_uint(cfg, "snapshot-threshold");
	ccfg.snapshot_bytes = cfg_uint(cfg, "snapshot-log-mb") << 20;
	ccfg.snapshot_trailing = (unsigned)cfg_uint(cfg, "snapshot-trailing");
	ccfg.lmdb_map_size = cfg_uint(cfg, "lmdb-map-size-mb") << 20;
	ccfg.worker_heartbeat_ms = (unsigned)cfg_uint(cfg, "worker-heartbeat-ms");
	ccfg.worker_dead_ms = (unsigned)cfg_uint(cfg, "worker-dead-ms");
	ccfg.sched_interval_ms = (unsigned)cfg_uint(cfg, "sched-interval-ms");
	ccfg.sched_batch = (unsigned)cfg_uint(cfg, "sched-batch");
	ccfg.poll_wait_ms = (unsigned)cfg_uint(cfg, "poll-wait-ms");
	ccfg.worker_threads = (unsigned)cfg_uint(cfg, "worker-threads");
	ccfg.propose_timeout_ms = (unsigned)cfg_uint(cfg, "propose-timeout-ms");
	ccfg.checkpoint_max = cfg_uint(cfg, "checkpoint-max-mb") << 20;
	ccfg.checkpoint_keep = (unsigned)cfg_uint(cfg, "checkpoint-keep");
	ccfg.preempt.enabled = cfg_bool(cfg, "preempt");
	ccfg.preempt.max_in_a_row = (uint32_t)cfg_uint(cfg, "preempt-max-in-a-row");
	if (tier_parse(cfg_str(cfg, "preempt-min-tier"),
	    &ccfg.preempt.min_preemptor) != 0 ||
	    tier_parse(cfg_str(cfg, "preempt-max-victim-tier"),
	    &ccfg.preempt.max_victim) != 0 ||
	    ccfg.preempt.max_victim >= ccfg.preempt.min_preemptor) {
		fprintf(stderr, "niyantad: --preempt-min-tier and "
		    "--preempt-max-victim-tier must be tiers (free, standard, "
		    "premium, enterprise), the victim's below the preemptor's\n");
		cfg_free(cfg);
		return 2;
	}
	strategy = cfg_str(cfg, "placement-strategy");
	if (strcmp(strategy, "spread") == 0)
		ccfg.placement_strategy = SCHED_SPREAD;
	else if (strcmp(strategy, "binpack") == 0)
		ccfg.placement_strategy = SCHED_BINPACK;
	else {
		fprintf(stderr, "niyantad: --placement-strategy must be spread or "
		    "binpack, not \"%s\"\n", strategy);
		cfg_free(cfg);
		return 2;
	}
	if (ccfg.raft_heartbeat_ms >= ccfg.election_timeout_ms) {
		fprintf(stderr, "niyantad: --raft-heartbeat-ms must be below "
		    "--election-timeout-ms\n");
		cfg_free(cfg);
		return 2;
	}
	if (ccfg.worker_heartbeat_ms >= ccfg.worker_dead_ms) {
		fprintf(stderr, "niyantad: --worker-heartbeat-ms must be below "
		    "--worker-dead-ms\n");
		cfg_free(cfg);
		return 2;
	}

	if (cfg_str(cfg, "peers") != NULL) {
		if ((peers_buf = strdup(cfg_str(cfg, "peers"))) == NULL ||
		    niyantad_peers_parse(peers_buf, peers, &ccfg.n_peers, msg,
		    sizeof msg) != 0) {
			fprintf(stderr, "niyantad: %s\n", peers_buf != NULL ? msg :
			    "out of memory");
			free(peers_buf);
			cfg_free(cfg);
			return 2;
		}
		ccfg.peers = peers;
	}
	ccfg.join = cfg_bool(cfg, "join");
	if (ccfg.join && ccfg.n_peers > 0) {
		fprintf(stderr, "niyantad: --join and --peers exclude each other: "
		    "--peers starts a new cluster, --join waits to be added to one\n");
		free(peers_buf);
		cfg_free(cfg);
		return 2;
	}
	if (cfg_str(cfg, "http-advertise") != NULL)
		snprintf(http_url, sizeof http_url, "%s", cfg_str(cfg, "http-advertise"));
	else
		snprintf(http_url, sizeof http_url, "http://%s", cfg_str(cfg, "http-listen"));
	ccfg.http_url = http_url;
	if (cfg_str(cfg, "worker-advertise") != NULL)
		ccfg.worker_url = cfg_str(cfg, "worker-advertise");
	if ((ccfg.n_peers > 0 || ccfg.join) && (niyantad_wildcard(http_url) ||
	    niyantad_wildcard(ccfg.worker_url != NULL ? ccfg.worker_url :
	    ccfg.worker_listen))) {
		fprintf(stderr, "niyantad: in a cluster, a listen address on every "
		    "interface needs --http-advertise / --worker-advertise with "
		    "an address the others can reach\n");
		free(peers_buf);
		cfg_free(cfg);
		return 2;
	}
	if (strncmp(http_url, "http://", 7) != 0 && strncmp(http_url, "https://", 8) != 0) {
		fprintf(stderr, "niyantad: --http-advertise must be an http:// or "
		    "https:// URL, not \"%s\"\n", http_url);
		free(peers_buf);
		cfg_free(cfg);
		return 2;
	}
	if (cfg_str(cfg, "admin-key-file") != NULL)
		ccfg.admin_key_file = cfg_str(cfg, "admin-key-file");
	if (cfg_str(cfg, "join-token-file") != NULL)
		ccfg.join_token_file = cfg_str(cfg, "join-token-file");
	rc = coord_open(&coord, &ccfg, &eb);
	free(peers_buf);	/* coord_open keeps copies */
	if (rc != 0) {
		log_error("STARTFAIL", "%s", eb.msg);
		cfg_free(cfg);
		return 1;
	}
	api_config_defaults(&acfg);
	acfg.listen = cfg_str(cfg, "http-listen");
	acfg.threads = (unsigned)cfg_uint(cfg, "http-threads");
	acfg.max_body_bytes = (size_t)cfg_uint(cfg, "max-body-bytes");
	acfg.web_dir = cfg_str(cfg, "web-dir");
	acfg.admin_rate = (uint32_t)cfg_uint(cfg, "admin-rate-limit");
	acfg.rate_by_tier[TIER_FREE] = (uint32_t)cfg_uint(cfg, "rate-limit-free");
	acfg.rate_by_tier[TIER_STANDARD] = (uint32_t)cfg_uint(cfg, "rate-limit-standard");
	acfg.rate_by_tier[TIER_PREMIUM] = (uint32_t)cfg_uint(cfg, "rate-limit-premium");
	acfg.rate_by_tier[TIER_ENTERPRISE] = (uint32_t)cfg_uint(cfg, "rate-limit-enterprise");
	acfg.queue.tier_weight[TIER_FREE] = (uint32_t)cfg_uint(cfg, "tier-weight-free");
	acfg.queue.tier_weight[TIER_STANDARD] =
	    (uint32_t)cfg_uint(cfg, "tier-weight-standard");
	acfg.queue.tier_weight[TIER_PREMIUM] =
	    (uint32_t)cfg_uint(cfg, "tier-weight-premium");
	acfg.queue.tier_weight[TIER_ENTERPRISE] =
	    (uint32_t)cfg_uint(cfg, "tier-weight-enterprise");
	acfg.queue.aging_per_min = (uint32_t)cfg_uint(cfg, "aging-per-min");
	acfg.queue_by_tier[TIER_FREE] = (uint32_t)cfg_uint(cfg, "max-queue-depth-free");
	acfg.queue_by_tier[TIER_STANDARD] = (uint32_t)cfg_uint(cfg, "max-queue-depth-standard");
	acfg.queue_by_tier[TIER_PREMIUM] = (uint32_t)cfg_uint(cfg, "max-queue-depth-premium");
	acfg.queue_by_tier[TIER_ENTERPRISE] =
	    (uint32_t)cfg_uint(cfg, "max-queue-depth-enterprise");
	acfg.global_max_pending = (uint32_t)cfg_uint(cfg, "global-max-pending");
	acfg.propose_timeout_ms = ccfg.propose_timeout_ms;
	if ((rc = api_open(&api, coord, &acfg, &eb)) != 0) {
		log_error("STARTFAIL", "%s", eb.msg);
		coord_close(coord);
		cfg_free(cfg);
		return 1;
	}
	log_info("STARTED", "niyantad %s: http %s, workers %s, raft %s, data %s",
	    NIYANTA_VERSION, acfg.listen, ccfg.worker_listen, ccfg.raft_listen,
	    ccfg.data_dir);

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGTERM || sig == SIGINT)
			break;
	}
	log_info("STOPPING", "signal %d: finishing in-flight requests", sig);
	api_close(api);
	coord_close(coord);
	log_info("STOPPED", "shut down cleanly");
	cfg_free(cfg);
	return 0;
}
