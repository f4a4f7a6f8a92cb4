/*
 * The built-in "exec" workload type: runs a command as a child process.
 *
 * Parameters: {"argv": ["prog", "arg", ...], "env": {"K": "V"}, "cwd": "dir"}
 * (argv required).  The child is started with posix_spawnp (never fork:
 * nng is not fork-safe) in a process group of its own, with stdin from
 * /dev/null, the worker's environment plus env, and stdout and stderr on
 * pipes of which the last 4 KiB are kept.  Stopping (cancel, drain) and
 * the timeout send SIGTERM to the whole group, then SIGKILL 5 s later.
 *
 * Checkpoints are a file the command writes: NIYANTA_CHECKPOINT_FILE names
 * it (in a private temporary directory; write a temporary file next to it
 * and rename it over, so it is never read half-written).  When the file
 * changes it is sent to the coordinator, at most once a second, and once
 * more after a stopped child exits; a later attempt finds the last
 * checkpoint in the same file before the command starts
 * (NIYANTA_CHECKPOINT_RESUMED=1).  NIYANTA_WORKLOAD_ID and NIYANTA_ATTEMPT
 * are set too.
 *
 * Result: {"exit_code": N|null, "signal": N|null, "stdout_tail": "...",
 * "stderr_tail": "..."}; the tails are made valid UTF-8 (each invalid byte
 * becomes U+FFFD).  Exit status 0 succeeds; anything else fails with
 * "exited with status N", "killed by signal N", "timed out after N s" or
 * "cannot start: <reason>".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "niyanta/plugin.h"
#include "src/clock.h"
#include "src/plugin_registry.h"

extern char **environ;

#define EXEC_TAIL_MAX		4096
#define EXEC_KILL_GRACE_MS	5000
#define EXEC_TICK_MS		100
#define EXEC_CKPT_EVERY_MS	1000
#define EXEC_CKPT_MAX		(64u * 1024 * 1024)
#define EXEC_ARGV_MAX		4096

struct plugin_exec_tail {
	char	 buf[EXEC_TAIL_MAX];
	size_t	 len;
};

struct plugin_exec {
	char		**argv;		/* NULL-terminated, owned */
	char		**envp;		/* NULL-terminated, owned */
	char		 *cwd;		/* NULL: the worker's */
	uint32_t	  timeout_s;
	char		 *dir;		/* private temporary directory */
	char		 *ckpt_path;	/* dir/checkpoint */
	struct stat	  ckpt_seen;	/* the last version sent (or restored) */
	bool		  ckpt_has_seen;
};

static void
plugin_exec_strv_free(char **v)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Removes the temporary directory and what the command left in it. */
static void
plugin_exec_dir_remove(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	char		*path;

	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (asprintf(&path, "%s/%s", dir, de->d_name) >= 0) {
				unlink(path);
				free(path);
			}
		}
		closedir(d);
	}
	rmdir(dir);
}

static void
plugin_exec_close(void *state)
{
	struct plugin_exec	*x = state;

	if (x == NULL)
		return;
	plugin_exec_strv_free(x->argv);
	plugin_exec_strv_free(x->envp);
	free(x->cwd);
	if (x->dir != NULL)
		plugin_exec_dir_remove(x->dir);
	free(x->dir);
	free(x->ckpt_path);
	free(x);
}

/* A JSON string without embedded NULs, or NULL. */
static const char *
plugin_exec_json_str(json_t *v)
{
	const char	*s;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	return strlen(s) == json_string_length(v) ? s : NULL;
}

static bool
plugin_exec_env_name_valid(const char *k)
{
	return k[0] != '\0' && strchr(k, '=') == NULL;
}

/* Appends "key=value" to v (n entries so far, room for one more + NULL). */
static int
plugin_exec_env_add(char **v, size_t *n, const char *key, const char *value)
{
	if (asprintf(&v[*n], "%s=%s", key, value) < 0) {
		v[*n] = NULL;
		return -1;
	}
	(*n)++;
	v[*n] = NULL;
	return 0;
}

static bool
plugin_exec_env_overridden(const char *entry, json_t *env)
{
	const char	*eq = strchr(entry, '=');
	size_t		 klen = eq != NULL ? (size_t)(eq - entry) : strlen(entry);
	const char	*key;
	json_t		*v;

	if (klen > 8 && strncmp(entry, "NIYANTA_", 8) == 0)
		return true;		/* ours, set per attempt */
	if (env == NULL)
		return false;
	json_object_foreach(env, key, v) {
		if (strlen(key) == klen && strncmp(key, entry, klen) == 0)
			return true;
	}
	return false;
}

/* The worker's environment, with env's variables and ours on top. */
static int
plugin_exec_env_build(struct plugin_exec *x, json_t *env,
    const struct niyanta_task *task, bool resumed)
{
	const char	*key;
	json_t		*v;
	size_t		 n = 0, cap = 0, i;
	char		 attempt[16];

	for (i = 0; environ[i] != NULL; i++)
		cap++;
	cap += (env != NULL ? json_object_size(env) : 0) + 4 + 1;
	if ((x->envp = calloc(cap, sizeof *x->envp)) == NULL)
		return -1;
	for (i = 0; environ[i] != NULL; i++) {
		if (plugin_exec_env_overridden(environ[i], env))
			continue;
		if ((x->envp[n] = strdup(environ[i])) == NULL)
			return -1;
		n++;
	}
	if (env != NULL) {
		json_object_foreach(env, key, v) {
			if (plugin_exec_env_add(x->envp, &n, key,
			    plugin_exec_json_str(v)) != 0)
				return -1;
		}
	}
	snprintf(attempt, sizeof attempt, "%u", (unsigned)task->attempt);
	if (plugin_exec_env_add(x->envp, &n, "NIYANTA_CHECKPOINT_FILE",
	    x->ckpt_path) != 0 ||
	    plugin_exec_env_add(x->envp, &n, "NIYANTA_WORKLOAD_ID",
	    task->workload_id != NULL ? task->workload_id : "") != 0 ||
	    plugin_exec_env_add(x->envp, &n, "NIYANTA_ATTEMPT", attempt) != 0)
		return -1;
	if (resumed && plugin_exec_env_add(x->envp, &n,
	    "NIYANTA_CHECKPOINT_RESUMED", "1") != 0)
		return -1;
	return 0;
}

static int
plugin_exec_params(struct plugin_exec *x, json_t *params, json_t **envout,
    char *err, size_t errlen)
{
	json_t		*argv, *env, *cwd, *v;
	const char	*key, *s;
	size_t		 i, n;

	json_object_foreach(params, key, v) {
		if (strcmp(key, "argv") != 0 && strcmp(key, "env") != 0 &&
		    strcmp(key, "cwd") != 0) {
			snprintf(err, errlen, "params: unknown member \"%s\" "
			    "(exec takes argv, env and cwd)", key);
			return -1;
		}
	}
	argv = json_object_get(params, "argv");
	if (!json_is_array(argv) || (n = json_array_size(argv)) == 0 ||
	    n > EXEC_ARGV_MAX) {
		snprintf(err, errlen, "params: \"argv\" must be a non-empty array "
		    "of strings (at most %d)", EXEC_ARGV_MAX);
		return -1;
	}
	if ((x->argv = calloc(n + 1, sizeof *x->argv)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((s = plugin_exec_json_str(json_array_get(argv, i))) == NULL ||
		    (i == 0 && s[0] == '\0')) {
			snprintf(err, errlen, "params: argv[%zu] must be a %sstring "
			    "without NUL characters", i, i == 0 ? "non-empty " : "");
			return -1;
		}
		if ((x->argv[i] = strdup(s)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	env = json_object_get(params, "env");
	if (env != NULL && !json_is_null(env)) {
		if (!json_is_object(env)) {
			snprintf(err, errlen, "params: \"env\" must be an object of "
			    "strings");
			return -1;
		}
		json_object_foreach(env, key, v) {
			if (!plugin_exec_env_name_valid(key) ||
			    plugin_exec_json_str(v) == NULL) {
				snprintf(err, errlen, "params: env \"%s\" needs a "
				    "name without '=' and a string value", key);
				return -1;
			}
			if (strncmp(key, "NIYANTA_", 8) == 0) {
				snprintf(err, errlen, "params: env \"%s\": NIYANTA_ "
				    "variables are set by the worker", key);
				return -1;
			}
		}
		*envout = env;
	}
	cwd = json_object_get(params, "cwd");
	if (cwd != NULL && !json_is_null(cwd)) {
		if ((s = plugin_exec_json_str(cwd)) == NULL || s[0] == '\0') {
			snprintf(err, errlen, "params: \"cwd\" must be a non-empty "
			    "string");
			return -1;
		}
		if ((x->cwd = strdup(s)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

/* Writes the checkpoint a new attempt resumes from. */
static int
plugin_exec_ckpt_restore(struct plugin_exec *x, const struct niyanta_task *task)
{
	const char	*p = task->checkpoint;
	size_t		 left = task->checkpoint_len;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(x->ckpt_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0)
		return -1;
	while (left > 0) {
		if ((n = write(fd, p, left)) < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	if (fstat(fd, &x->ckpt_seen) == 0)
		x->ckpt_has_seen = true;
	return close(fd);
}

static int
plugin_exec_init(const struct niyanta_task *task, void **state, char *err,
    size_t errlen)
{
	struct plugin_exec	*x;
	json_error_t		 jerr;
	json_t			*params, *env = NULL;
	const char		*tmp;

	params = json_loads(task->params_json != NULL ? task->params_json : "{}",
	    JSON_REJECT_DUPLICATES, &jerr);
	if (params == NULL || !json_is_object(params)) {
		snprintf(err, errlen, "params: a JSON object is required%s%s",
		    params == NULL ? ": " : "", params == NULL ? jerr.text : "");
		json_decref(params);
		return -1;
	}
	if ((x = calloc(1, sizeof *x)) == NULL) {
		snprintf(err, errlen, "out of memory");
		json_decref(params);
		return -1;
	}
	x->timeout_s = task->timeout_seconds;
	if (plugin_exec_params(x, params, &env, err, errlen) != 0)
		goto fail;
	if ((tmp = getenv("TMPDIR")) == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	if (asprintf(&x->dir, "%s/niyanta-exec-XXXXXX", tmp) < 0) {
		x->dir = NULL;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (mkdtemp(x->dir) == NULL) {
		snprintf(err, errlen, "cannot create a directory in %s: %s", tmp,
		    strerror(errno));
		free(x->dir);
		x->dir = NULL;
		goto fail;
	}
	if (asprintf(&x->ckpt_path, "%s/checkpoint", x->dir) < 0) {
		x->ckpt_path = NULL;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (task->checkpoint != NULL && plugin_exec_ckpt_restore(x, task) != 0) {
		snprintf(err, errlen, "cannot write the checkpoint file %s: %s",
		    x->ckpt_path, strerror(errno));
		goto fail;
	}
	if (plugin_exec_env_build(x, env, task, task->checkpoint != NULL) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	json_decref(params);
	*state = x;
	return 0;
fail:
	json_decref(params);
	plugin_exec_close(x);
	return -1;
}

static void
plugin_exec_tail_add(struct plugin_exec_tail *t, const char *p, size_t n)
{
	size_t	 drop;

	if (n >= EXEC_TAIL_MAX) {
		memcpy(t->buf, p + n - EXEC_TAIL_MAX, EXEC_TAIL_MAX);
		t->len = EXEC_TAIL_MAX;
		return;
	}
	if (t->len + n > EXEC_TAIL_MAX) {
		drop = t->len + n - EXEC_TAIL_MAX;
		memmove(t->buf, t->buf + drop, t->len - drop);
		t->len -= drop;
	}
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

/* Reads what fd has (a bounded amount, so a flood of output cannot keep
 * the caller from its other duties); returns false once fd reached EOF or
 * failed. */
static bool
plugin_exec_drain(int fd, struct plugin_exec_tail *t)
{
	char	 buf[8192];
	ssize_t	 n;
	int	 reads = 0;

	while (reads < 32) {
		n = read(fd, buf, sizeof buf);
		if (n > 0) {
			plugin_exec_tail_add(t, buf, (size_t)n);
			reads++;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		return false;
	}
	return true;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t
plugin_exec_utf8_seq(const unsigned char *p, size_t n)
{
	unsigned	 c = p[0];
	size_t		 len, i;
	unsigned long	 cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A JSON string of the tail, each invalid byte replaced by U+FFFD. */
static json_t *
plugin_exec_tail_json(const struct plugin_exec_tail *t)
{
	const unsigned char	*p = (const unsigned char *)t->buf;
	char			*out;
	size_t			 i = 0, o = 0, len;
	json_t			*j;

	if ((out = malloc(t->len * 3 + 1)) == NULL)
		return NULL;
	while (i < t->len) {
		if ((len = plugin_exec_utf8_seq(p + i, t->len - i)) == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, p + i, len);
		o += len;
		i += len;
	}
	j = json_stringn(out, o);
	free(out);
	return j;
}

/* Sends the checkpoint file if it changed since last time. */
static void
plugin_exec_ckpt_poll(struct plugin_exec *x, struct niyanta_ctx *ctx,
    const struct niyanta_host *host)
{
	struct stat	 st;
	char		*buf, msg[160];
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd;

	if (stat(x->ckpt_path, &st) != 0 || !S_ISREG(st.st_mode))
		return;
	if (x->ckpt_has_seen && st.st_ino == x->ckpt_seen.st_ino &&
	    st.st_size == x->ckpt_seen.st_size &&
	    st.st_mtim.tv_sec == x->ckpt_seen.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == x->ckpt_seen.st_mtim.tv_nsec)
		return;
	if ((fd = open(x->ckpt_path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return;
	}
	x->ckpt_seen = st;
	x->ckpt_has_seen = true;
	if ((uint64_t)st.st_size > EXEC_CKPT_MAX) {
		snprintf(msg, sizeof msg, "checkpoint file of %lld bytes ignored "
		    "(limit %u)", (long long)st.st_size, EXEC_CKPT_MAX);
		host->log(ctx, msg);
		close(fd);
		return;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got == (size_t)st.st_size && host->checkpoint(ctx, buf, got) != 0)
		host->log(ctx, "checkpoint not stored; carrying on");
	free(buf);
}

enum plugin_exec_end { EXEC_RUNNING, EXEC_STOP, EXEC_TIMEOUT };

static int
plugin_exec_spawn(struct plugin_exec *x, pid_t *pid, int outfd[2], int errfd[2])
{
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	sigset_t			 none, dfl;
	int				 rc;

	if (pipe2(outfd, O_CLOEXEC) != 0)
		return errno;
	if (pipe2(errfd, O_CLOEXEC) != 0) {
		rc = errno;
		close(outfd[0]);
		close(outfd[1]);
		return rc;
	}
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGQUIT);
	sigaddset(&dfl, SIGUSR1);
	sigaddset(&dfl, SIGUSR2);
	sigaddset(&dfl, SIGCHLD);
	sigaddset(&dfl, SIGALRM);
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		goto fail_pipes;
	if ((rc = posix_spawnattr_init(&attr)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		goto fail_pipes;
	}
	if ((x->cwd == NULL ||
	    (rc = posix_spawn_file_actions_addchdir_np(&fa, x->cwd)) == 0) &&
	    (rc = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
	    O_RDONLY, 0)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, outfd[1], STDOUT_FILENO)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, errfd[1], STDERR_FILENO)) == 0 &&
	    (rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) == 0 &&
	    (rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) == 0 &&
	    (rc = posix_spawnattr_setpgroup(&attr, 0)) == 0 &&
	    (rc = posix_spawnattr_setsigmask(&attr, &none)) == 0 &&
	    (rc = posix_spawnattr_setsigdefault(&attr, &dfl)) == 0)
		rc = posix_spawnp(pid, x->argv[0], &fa, &attr, x->argv, x->envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		goto fail_pipes;
	close(outfd[1]);
	close(errfd[1]);
	outfd[1] = errfd[1] = -1;
	fcntl(outfd[0], F_SETFL, O_NONBLOCK);
	fcntl(errfd[0], F_SETFL, O_NONBLOCK);
	return 0;
fail_pipes:
	close(outfd[0]);
	close(outfd[1]);
	close(errfd[0]);
	close(errfd[1]);
	return rc;
}

static void
plugin_exec_result(struct niyanta_ctx *ctx, const struct niyanta_host *host,
    int status, bool exited, const struct plugin_exec_tail *out,
    const struct plugin_exec_tail *errt)
{
	json_t	*o;
	char	*text;

	if ((o = json_object()) == NULL)
		return;
	json_object_set_new(o, "exit_code", exited && WIFEXITED(status) ?
	    json_integer(WEXITSTATUS(status)) : json_null());
	json_object_set_new(o, "signal", exited && WIFSIGNALED(status) ?
	    json_integer(WTERMSIG(status)) : json_null());
	json_object_set_new(o, "stdout_tail", plugin_exec_tail_json(out));
	json_object_set_new(o, "stderr_tail", plugin_exec_tail_json(errt));
	if ((text = json_dumps(o, JSON_COMPACT)) != NULL) {
		host->set_result(ctx, text);
		free(text);
	}
	json_decref(o);
}

static int
plugin_exec_execute(void *state, struct niyanta_ctx *ctx,
    const struct niyanta_host *host)
{
	struct plugin_exec	*x = state;
	struct plugin_exec_tail	*out, *errt;
	struct pollfd		 pfd[2];
	enum plugin_exec_end	 end = EXEC_RUNNING;
	uint64_t		 start, now, term_at = 0, last_ckpt;
	bool			 reaped = false, killed = false, lost = false;
	bool			 out_open, err_open;
	int			 outfd[2], errfd[2], status = 0, rc, i;
	nfds_t			 nfds;
	pid_t			 pid, r;
	char			 msg[256];

	if ((out = calloc(1, sizeof *out)) == NULL ||
	    (errt = calloc(1, sizeof *errt)) == NULL) {
		free(out);
		host->set_error(ctx, "cannot start: out of memory");
		return NIYANTA_FAILED;
	}
	if ((rc = plugin_exec_spawn(x, &pid, outfd, errfd)) != 0) {
		snprintf(msg, sizeof msg, "cannot start: %s", strerror(rc));
		host->set_error(ctx, msg);
		plugin_exec_result(ctx, host, 0, false, out, errt);
		free(out);
		free(errt);
		return NIYANTA_FAILED;
	}
	out_open = err_open = true;
	start = last_ckpt = clock_mono_ms();
	while (!reaped) {
		nfds = 0;
		if (out_open) {
			pfd[nfds].fd = outfd[0];
			pfd[nfds++].events = POLLIN;
		}
		if (err_open) {
			pfd[nfds].fd = errfd[0];
			pfd[nfds++].events = POLLIN;
		}
		/* With both pipes at EOF the child is exiting: look often. */
		if (poll(pfd, nfds, nfds > 0 ? EXEC_TICK_MS : 10) > 0) {
			for (i = 0; i < (int)nfds; i++) {
				if (pfd[i].revents == 0)
					continue;
				if (pfd[i].fd == outfd[0])
					out_open = plugin_exec_drain(outfd[0], out);
				else
					err_open = plugin_exec_drain(errfd[0], errt);
			}
		}
		if ((r = waitpid(pid, &status, WNOHANG)) == pid) {
			reaped = true;
			break;
		}
		if (r < 0 && errno == ECHILD) {
			/* Someone else reaped it (SIGCHLD ignored?). */
			reaped = lost = true;
			status = 0;
			break;
		}
		now = clock_mono_ms();
		if (end == EXEC_RUNNING) {
			if (host->should_stop(ctx))
				end = EXEC_STOP;
			else if (x->timeout_s > 0 &&
			    now - start >= (uint64_t)x->timeout_s * 1000)
				end = EXEC_TIMEOUT;
			if (end != EXEC_RUNNING) {
				kill(-pid, SIGTERM);
				term_at = now;
			}
		} else if (!killed && now - term_at >= EXEC_KILL_GRACE_MS) {
			kill(-pid, SIGKILL);
			killed = true;
		}
		if (now - last_ckpt >= EXEC_CKPT_EVERY_MS) {
			plugin_exec_ckpt_poll(x, ctx, host);
			last_ckpt = now;
		}
	}
	/* What the child wrote just before exiting is still in the pipes;
	 * descendants that kept them open are not waited for. */
	if (out_open)
		plugin_exec_drain(outfd[0], out);
	if (err_open)
		plugin_exec_drain(errfd[0], errt);
	close(outfd[0]);
	close(errfd[0]);
	if (end == EXEC_STOP)
		plugin_exec_ckpt_poll(x, ctx, host);

	plugin_exec_result(ctx, host, status, !lost, out, errt);
	free(out);
	free(errt);
	switch (end) {
	case EXEC_STOP:
		host->set_error(ctx, "stopped");
		return NIYANTA_STOPPED;
	case EXEC_TIMEOUT:
		snprintf(msg, sizeof msg, "timed out after %u s",
		    (unsigned)x->timeout_s);
		host->set_error(ctx, msg);
		return NIYANTA_FAILED;
	case EXEC_RUNNING:
		break;
	}
	if (lost) {
		host->set_error(ctx, "exit status lost (child reaped elsewhere)");
		return NIYANTA_FAILED;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return NIYANTA_SUCCEEDED;
	if (WIFSIGNALED(status))
		snprintf(msg, sizeof msg, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(msg, sizeof msg, "exited with status %d",
		    WEXITSTATUS(status));
	host->set_error(ctx, msg);
	return NIYANTA_FAILED;
}

static const struct niyanta_plugin plugin_exec = {
	.abi_version = NIYANTA_PLUGIN_ABI_VERSION,
	.type_name = "exec",
	.init = plugin_exec_init,
	.execute = plugin_exec_execute,
	.close = plugin_exec_close,
};

const struct niyanta_plugin *
plugin_exec_get(void)
{
	return &plugin_exec;
}
